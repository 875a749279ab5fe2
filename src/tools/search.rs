//! The `search_messages` tool: ranked full-text search over message text.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::store::{AccountId, SearchHit};

use super::conversations::describe_accounts;
use super::media_out::MediaOut;
use super::output::{AccountOut, ContactOut, MessageBody, format_time};
use super::{
    SEARCH_MESSAGES, Summary, ToolContext, ToolError, limit_or_default, non_blank, require,
    resolve_accounts,
};

/// Arguments of `search_messages`. `query` is required.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SearchMessagesArgs {
    /// Sender number (E.164, for example +15550001111) or account id of the
    /// account to search; omit to search every account this key reaches.
    pub from: Option<String>,
    /// Words to find in message text and captions (required).
    pub query: Option<String>,
    /// Maximum number of matches, 1 to 100 (default 20).
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
}

/// One matching message. Optional fields without a value and flags that
/// are `false` are left out, as in get_conversation.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchHitOut {
    /// Conversation id, usable with get_conversation.
    pub conversation_id: String,
    pub account_id: String,
    pub account_phone: Option<String>,
    pub contact: ContactOut,
    pub message_id: String,
    pub wamid: Option<String>,
    pub time: Option<String>,
    /// `inbound` (from the customer) or `outbound` (from the business).
    pub direction: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The text body, or for other types the caption, file name or a
    /// summary. A longer one is shortened to 4,096 characters (a caption's
    /// copy to 1,024), the `…` at its end included.
    pub text: Option<String>,
    /// The media caption. A longer one is shortened to 1,024 characters,
    /// the `…` at its end included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// Whether `text` was cut. WhatsApp allows at most 4,096 characters.
    #[serde(skip_serializing_if = "super::output::is_false")]
    pub text_cut: bool,
    /// Whether `caption` was cut. WhatsApp allows at most 1,024 characters.
    #[serde(skip_serializing_if = "super::output::is_false")]
    pub caption_cut: bool,
    /// The attached file of a media message; absent for other types.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media: Option<MediaOut>,
}

/// Result of `search_messages`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchMessagesOutput {
    pub query: String,
    pub accounts: Vec<AccountOut>,
    /// Best match first.
    pub hits: Vec<SearchHitOut>,
}

impl Summary for SearchMessagesOutput {
    fn summary(&self) -> String {
        format!(
            "{} message(s) on {} match {:?}.",
            self.hits.len(),
            describe_accounts(&self.accounts),
            self.query
        )
    }
}

/// Searches message text in the resolved accounts, best match first.
pub async fn search_messages(
    cx: &ToolContext<'_>,
    args: SearchMessagesArgs,
) -> Result<SearchMessagesOutput, ToolError> {
    require(cx.principal, SEARCH_MESSAGES)?;
    let accounts = resolve_accounts(cx, args.from.as_deref()).await?;
    let Some(query) = non_blank(args.query.as_deref()) else {
        return Err(ToolError::MissingArgument {
            tool: SEARCH_MESSAGES,
            argument: "query",
            hint: "pass the words to look for in message text, for example \
                   {\"query\": \"refund\"}; use list_conversations to browse instead"
                .to_owned(),
        });
    };
    check_query(query)?;
    let limit = limit_or_default(args.limit, 20, 100);
    let ids: Vec<AccountId> = accounts.iter().map(|a| a.id.clone()).collect();
    let hits = cx.store.search_messages(&ids, query, limit).await?;
    let account_out: Vec<AccountOut> = accounts.iter().map(AccountOut::from).collect();
    Ok(SearchMessagesOutput {
        query: query.to_owned(),
        hits: hits.iter().map(|hit| hit_out(hit, &account_out)).collect(),
        accounts: account_out,
    })
}

/// Maximum query length in characters and maximum number of words. Search
/// cost grows with the number of terms, so an unbounded query from one key
/// could hold the database's read connections for every tenant.
const MAX_QUERY_CHARS: usize = 256;
const MAX_QUERY_WORDS: usize = 16;

fn check_query(query: &str) -> Result<(), ToolError> {
    let chars = query.chars().count();
    let words = query.split_whitespace().count();
    if chars > MAX_QUERY_CHARS || words > MAX_QUERY_WORDS {
        return Err(ToolError::InvalidArgument {
            argument: "query",
            reason: format!(
                "the query has {chars} characters and {words} word(s); use at most \
                 {MAX_QUERY_CHARS} characters and {MAX_QUERY_WORDS} words, the few most \
                 distinctive ones"
            ),
        });
    }
    if !query.chars().any(char::is_alphanumeric) {
        return Err(ToolError::InvalidArgument {
            argument: "query",
            reason: format!(
                "\"{}\" has no letter or digit to search for; the search index holds words, \
                 so emoji and punctuation alone match nothing. Add a word, for example \
                 \"pizza 🍕\"",
                crate::echo::echoed(query)
            ),
        });
    }
    if query.contains('\0') {
        return Err(ToolError::InvalidArgument {
            argument: "query",
            reason: "the query contains a NUL character; remove it".to_owned(),
        });
    }
    Ok(())
}

fn hit_out(hit: &SearchHit, accounts: &[AccountOut]) -> SearchHitOut {
    let message = &hit.message;
    let body = MessageBody::of(message);
    SearchHitOut {
        conversation_id: message.conversation_id.to_string(),
        account_id: hit.account_id.to_string(),
        account_phone: accounts
            .iter()
            .find(|a| a.id == hit.account_id.as_str())
            .map(|a| a.phone.clone()),
        contact: ContactOut::new(hit.contact_name.clone(), &hit.wa_id),
        message_id: message.id.to_string(),
        wamid: message.wamid.clone(),
        time: format_time(message.timestamp),
        direction: message.direction.as_str().to_owned(),
        kind: message.kind.clone(),
        text: body.text,
        caption: body.caption,
        text_cut: body.text_cut,
        caption_cut: body.caption_cut,
        media: MediaOut::of(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Message;
    use crate::whatsapp::graph::{MAX_CAPTION_CHARS, MAX_TEXT_CHARS};

    fn hit_of(kind: &str, text: String, caption: Option<String>) -> SearchHit {
        SearchHit {
            message: Message {
                kind: kind.to_owned(),
                text: Some(text),
                caption,
                ..Message::test_message()
            },
            account_id: AccountId("a1".to_owned()),
            contact_name: None,
            wa_id: "15550002222".to_owned(),
            rank: 1.0,
        }
    }

    #[test]
    fn hit_text_and_caption_are_cut() {
        let text_hit = hit_of("text", "x".repeat(3_000_000), None);
        let output = hit_out(&text_hit, &[]);
        let cut_text = output.text.unwrap();
        assert_eq!(cut_text.chars().count(), MAX_TEXT_CHARS);
        assert!(cut_text.ends_with('…'));
        assert!(output.text_cut);
        assert!(!output.caption_cut);

        let caption = "y".repeat(MAX_CAPTION_CHARS * 2);
        let image_hit = hit_of("image", caption.clone(), Some(caption));
        let output = hit_out(&image_hit, &[]);
        let cut_caption = output.caption.unwrap();
        assert_eq!(cut_caption.chars().count(), MAX_CAPTION_CHARS);
        assert!(cut_caption.ends_with('…'));
        assert!(output.caption_cut);
        assert_eq!(output.text, Some(cut_caption));
        assert!(output.text_cut);
    }
}
