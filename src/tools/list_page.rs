//! One page of `list_conversations` or `list_unanswered`, and the cursor
//! that reads the next one.
//!
//! A cursor is the base64url text of
//! `1.<list>.<archived>.<accounts>.<time>.<id>`. The fields are the format
//! version, the list (`c` or `u`) and the `archived` filter (`a` for any,
//! `n` for not archived, `y` for archived). Then come the first 8 hex
//! digits of the SHA-256 of the sorted account ids, and the sort key of the
//! page's last conversation: its last message's Unix time (empty when it
//! has none) and its id. The next page starts after that sort key, so it
//! is read from the index without skipping rows. A conversation that gets
//! a new message meanwhile moves to the first page instead of showing
//! twice.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::conversations::ids;
use super::{LIST_CONVERSATIONS, LIST_UNANSWERED, ToolContext, ToolError, non_blank};
use crate::echo::echoed;
use crate::store::{
    Account, ArchiveFilter, ConversationId, ConversationSortKey, ConversationSummary,
};

/// Version of the cursor format, its first field.
const VERSION: &str = "1";
/// Maximum length of a cursor. Issued cursors have fewer than 100.
const MAX_CURSOR_CHARS: usize = 256;

/// The list a page is read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ListKind {
    /// Every conversation: `list_conversations`.
    Conversations,
    /// Conversations waiting for a reply: `list_unanswered`.
    Unanswered,
}

impl ListKind {
    fn tool(self) -> &'static str {
        match self {
            Self::Conversations => LIST_CONVERSATIONS,
            Self::Unanswered => LIST_UNANSWERED,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Self::Conversations => "c",
            Self::Unanswered => "u",
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        match code {
            "c" => Some(Self::Conversations),
            "u" => Some(Self::Unanswered),
            _ => None,
        }
    }
}

/// A list with the filters that a cursor of it must have been issued for.
pub(super) struct List<'a> {
    pub kind: ListKind,
    pub accounts: &'a [Account],
    pub archive: ArchiveFilter,
}

/// Conversations of one page, in list order.
pub(super) struct Page {
    pub rows: Vec<ConversationSummary>,
    /// Whether more conversations follow the page.
    pub more: bool,
    /// The cursor of the next page, when `more` is true.
    pub next_cursor: Option<String>,
}

impl List<'_> {
    /// Reads up to `limit` conversations, after the position of `cursor`
    /// when one is given. A blank cursor reads the first page.
    pub(super) async fn read_page(
        &self,
        cx: &ToolContext<'_>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page, ToolError> {
        let after = non_blank(cursor)
            .map(|text| self.decode(text))
            .transpose()?;
        let accounts = ids(self.accounts);
        // Reading one row more than the page shows whether more follow.
        let read = limit + 1;
        let mut rows = match self.kind {
            ListKind::Conversations => {
                cx.store
                    .list_conversations(&accounts, self.archive, after.as_ref(), read)
                    .await?
            }
            ListKind::Unanswered => {
                cx.store
                    .list_unanswered(&accounts, self.archive, after.as_ref(), read)
                    .await?
            }
        };
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = match rows.last() {
            Some(last) if more => Some(self.encode(&last.sort_key())),
            _ => None,
        };
        Ok(Page {
            rows,
            more,
            next_cursor,
        })
    }

    /// Returns the cursor of the page that follows `key`.
    fn encode(&self, key: &ConversationSortKey) -> String {
        let time = key.last_message_at.map(|at| at.to_string());
        let text = format!(
            "{VERSION}.{}.{}.{}.{}.{}",
            self.kind.code(),
            archive_code(self.archive),
            accounts_digest(self.accounts),
            time.as_deref().unwrap_or(""),
            key.id
        );
        URL_SAFE_NO_PAD.encode(text)
    }

    /// Reads the sort key in `cursor`, checking that it was issued for this
    /// list with the same filters and accounts.
    fn decode(&self, cursor: &str) -> Result<ConversationSortKey, ToolError> {
        let tool = self.kind.tool();
        let Some(fields) = Fields::parse(cursor) else {
            return Err(self.invalid(cursor, format!("is not a cursor of {tool}")));
        };
        if fields.kind != self.kind {
            let issuer = fields.kind.tool();
            return Err(self.invalid(cursor, format!("is a cursor of {issuer}, not of {tool}")));
        }
        if fields.archive != self.archive {
            let reason = format!(
                "was issued for {}, but this call has {}",
                archive_text(fields.archive),
                archive_text(self.archive)
            );
            return Err(self.invalid(cursor, reason));
        }
        if fields.accounts != accounts_digest(self.accounts) {
            let reason = "was issued for other accounts: `from` differs, or the accounts this \
                          key reaches changed"
                .to_owned();
            return Err(self.invalid(cursor, reason));
        }
        Ok(fields.key)
    }

    /// Builds the error of a cursor that this list cannot continue from.
    fn invalid(&self, cursor: &str, problem: String) -> ToolError {
        ToolError::InvalidArgument {
            argument: "cursor",
            reason: format!(
                "\"{}\" {problem}. Pass the nextCursor of an earlier {} call with the same \
                 `from` and `archived`, or leave cursor out to start with the most recent \
                 conversations",
                echoed(cursor),
                self.kind.tool()
            ),
        }
    }
}

/// The fields of a well-formed cursor.
struct Fields {
    kind: ListKind,
    archive: ArchiveFilter,
    /// The [`accounts_digest`] of the accounts listed.
    accounts: String,
    key: ConversationSortKey,
}

impl Fields {
    /// Decodes `cursor`, or returns `None` when it is not a cursor of this
    /// format version.
    fn parse(cursor: &str) -> Option<Fields> {
        if cursor.len() > MAX_CURSOR_CHARS {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
        let text = String::from_utf8(bytes).ok()?;

        let fields: Vec<&str> = text.split('.').collect();
        let [version, kind, archive, accounts, time, id] = fields.as_slice() else {
            return None;
        };
        if *version != VERSION {
            return None;
        }
        let is_digest = accounts.len() == DIGEST_HEX_CHARS
            && accounts
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !is_digest {
            return None;
        }

        let last_message_at = match *time {
            "" => None,
            time => Some(time.parse().ok()?),
        };

        // Pons writes conversation ids as lower-case hyphenated UUIDs, and
        // the PostgreSQL lists rely on that form to compare ids.
        let uuid = uuid::Uuid::parse_str(id).ok()?;
        if uuid.hyphenated().to_string() != *id {
            return None;
        }

        Some(Fields {
            kind: ListKind::from_code(kind)?,
            archive: archive_from_code(archive)?,
            accounts: (*accounts).to_owned(),
            key: ConversationSortKey {
                last_message_at,
                id: ConversationId((*id).to_owned()),
            },
        })
    }
}

fn archive_code(archive: ArchiveFilter) -> &'static str {
    match archive {
        ArchiveFilter::Any => "a",
        ArchiveFilter::Active => "n",
        ArchiveFilter::Archived => "y",
    }
}

fn archive_from_code(code: &str) -> Option<ArchiveFilter> {
    match code {
        "a" => Some(ArchiveFilter::Any),
        "n" => Some(ArchiveFilter::Active),
        "y" => Some(ArchiveFilter::Archived),
        _ => None,
    }
}

/// Names the `archived` argument that gives `archive`, for error messages.
fn archive_text(archive: ArchiveFilter) -> &'static str {
    match archive {
        ArchiveFilter::Any => "`archived` left out",
        ArchiveFilter::Active => "`archived: false`",
        ArchiveFilter::Archived => "`archived: true`",
    }
}

/// Hex digits of the account digest in a cursor.
const DIGEST_HEX_CHARS: usize = 8;

/// Returns the first [`DIGEST_HEX_CHARS`] hex digits of the SHA-256 of the
/// sorted account ids, each followed by a line break. A cursor carries it
/// so that a page is not read for other accounts than the page before.
fn accounts_digest(accounts: &[Account]) -> String {
    let mut sorted: Vec<&str> = accounts.iter().map(|a| a.id.as_str()).collect();
    sorted.sort_unstable();
    let mut hasher = Sha256::new();
    for id in sorted {
        hasher.update(id.as_bytes());
        hasher.update(b"\n");
    }
    let digest = hex::encode(hasher.finalize());
    digest[..DIGEST_HEX_CHARS].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::AccountId;

    fn account(id: &str) -> Account {
        Account {
            id: AccountId(id.to_owned()),
            name: "Shop".to_owned(),
            waba_id: "waba".to_owned(),
            phone_number_id: "pnid".to_owned(),
            phone_number: "15550001111".to_owned(),
            display_name: None,
            token_invalid_at: None,
            created_at: 0,
        }
    }

    fn key(last_message_at: Option<i64>) -> ConversationSortKey {
        ConversationSortKey {
            last_message_at,
            id: ConversationId("0190f3c2-7a1b-7c3d-8e4f-123456789abc".to_owned()),
        }
    }

    fn list(kind: ListKind, accounts: &[Account], archive: ArchiveFilter) -> List<'_> {
        List {
            kind,
            accounts,
            archive,
        }
    }

    fn error_text(list: &List<'_>, cursor: &str) -> String {
        list.decode(cursor).expect_err(cursor).to_string()
    }

    #[test]
    fn cursor_round_trips() {
        let accounts = [account("a1"), account("a2")];
        for kind in [ListKind::Conversations, ListKind::Unanswered] {
            for archive in [
                ArchiveFilter::Any,
                ArchiveFilter::Active,
                ArchiveFilter::Archived,
            ] {
                let list = list(kind, &accounts, archive);
                for at in [Some(1_700_000_000), Some(-5), Some(i64::MIN), None] {
                    let cursor = list.encode(&key(at));
                    assert!(cursor.len() < 100, "{cursor}");
                    assert_eq!(list.decode(&cursor).expect(&cursor), key(at));
                }
            }
        }
    }

    #[test]
    fn cursor_ignores_account_order() {
        let forward = [account("a1"), account("a2")];
        let backward = [account("a2"), account("a1")];
        let cursor = list(ListKind::Conversations, &forward, ArchiveFilter::Any).encode(&key(None));
        let decoded = list(ListKind::Conversations, &backward, ArchiveFilter::Any).decode(&cursor);
        assert_eq!(decoded.expect("same accounts"), key(None));
    }

    #[test]
    fn malformed_cursor_rejected() {
        let accounts = [account("a1")];
        let list = list(ListKind::Unanswered, &accounts, ArchiveFilter::Any);
        let valid = list.encode(&key(Some(7)));
        let text = |fields: &str| URL_SAFE_NO_PAD.encode(fields);
        let digest = accounts_digest(&accounts);
        let id = key(None).id.0;
        for cursor in [
            "zzz".to_owned(),
            "!!".to_owned(),
            format!("{valid}="),
            "A".repeat(MAX_CURSOR_CHARS + 1),
            text(&format!("2.u.a.{digest}.7.{id}")),
            text(&format!("1.x.a.{digest}.7.{id}")),
            text(&format!("1.u.z.{digest}.7.{id}")),
            text(&format!("1.u.a.0000.7.{id}")),
            text(&format!("1.u.a.{digest}.7a.{id}")),
            text(&format!("1.u.a.{digest}.7.{}", id.to_uppercase())),
            text(&format!("1.u.a.{digest}.7.not-a-uuid")),
            text(&format!("1.u.a.{digest}.7.{id}.extra")),
            text(&format!("1.u.a.{digest}.7")),
        ] {
            let message = error_text(&list, &cursor);
            assert!(
                message.starts_with("invalid argument `cursor`: \""),
                "{message}"
            );
            assert!(
                message.contains("is not a cursor of list_unanswered"),
                "{message}"
            );
            assert!(
                message.contains("Pass the nextCursor of an earlier list_unanswered call"),
                "{message}"
            );
            assert!(message.contains("leave cursor out"), "{message}");
        }
    }

    #[test]
    fn cursor_of_other_list_rejected() {
        let accounts = [account("a1")];
        let unanswered = list(ListKind::Unanswered, &accounts, ArchiveFilter::Any);
        let conversations = list(ListKind::Conversations, &accounts, ArchiveFilter::Any);
        let cursor = unanswered.encode(&key(Some(7)));

        let message = error_text(&conversations, &cursor);

        assert!(
            message.contains("is a cursor of list_unanswered, not of list_conversations"),
            "{message}"
        );
        assert!(
            message.contains(&format!("\"{}", &cursor[..20])),
            "{message}"
        );
    }

    #[test]
    fn cursor_of_other_filters_rejected() {
        let one = [account("a1")];
        let two = [account("a1"), account("a2")];
        let active = list(ListKind::Conversations, &one, ArchiveFilter::Active);
        let cursor = active.encode(&key(Some(7)));

        let any = list(ListKind::Conversations, &one, ArchiveFilter::Any);
        let message = error_text(&any, &cursor);
        assert!(
            message.contains(
                "was issued for `archived: false`, but this call has `archived` left out"
            ),
            "{message}"
        );

        let wider = list(ListKind::Conversations, &two, ArchiveFilter::Active);
        let message = error_text(&wider, &cursor);
        assert!(
            message.contains("was issued for other accounts"),
            "{message}"
        );
    }
}
