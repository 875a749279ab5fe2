//! The `send_reaction` tool: the business's emoji reaction to a message,
//! sent to Meta and recorded on the message.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use unicode_properties::{EmojiStatus, UnicodeEmoji};
use unicode_segmentation::UnicodeSegmentation;

use crate::echo::echoed;
use crate::jobs::token_works;
use crate::store::business_reactions::{PendingReactionId, callback_data};
use crate::store::{
    Account, ConversationId, ConversationRef, ConversationSummary, Message, UnixTime,
};
use crate::whatsapp::graph::SendRequest;

use super::actions::{ambiguous_message, find_message_copies};
use super::conversations::{locate, names_conversation};
use super::graph_errors::{Repeat, graph_failure};
use super::output::time_text;
use super::rejected_token::TokenUse;
use super::window::{FreeForm, require_window_until};
use super::{
    SEND_REACTION, Summary, ToolContext, ToolError, guide, non_blank, require, resolve_accounts,
};

/// Longest emoji accepted, in characters, because family and flag sequences use several.
const MAX_EMOJI_CHARS: usize = 16;
/// Age in days of the oldest message WhatsApp delivers a reaction to. For a
/// reaction to an older message, Meta sends error 131009 in a status
/// webhook, and the reaction never reaches the customer.
const MAX_MESSAGE_AGE_DAYS: i64 = 30;

/// Arguments of `send_reaction`. `waMessageId` and `emoji` are required.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendReactionArgs {
    /// Sender number (E.164) or account id. Omit it to search every account this key reaches.
    pub from: Option<String>,
    /// Conversation the message belongs to. Optional and checked when given. When several accounts store the wamid, it chooses the copy in this conversation.
    pub conversation_id: Option<String>,
    /// The customer's phone number. Optional and checked when given. When several accounts store the wamid, it chooses the copy in the conversation with this customer.
    pub phone: Option<String>,
    /// wamid of the message to react to.
    pub wa_message_id: Option<String>,
    /// One emoji, such as 👍. An empty string removes the reaction.
    pub emoji: Option<String>,
}

/// Result of `send_reaction`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendReactionOutput {
    pub conversation_id: String,
    /// The message reacted to.
    pub wa_message_id: String,
    /// The reaction now set, or `null` when it was removed.
    pub emoji: Option<String>,
    /// Meta's id of the reaction message.
    pub wamid: String,
    pub warnings: Vec<String>,
}

impl Summary for SendReactionOutput {
    fn summary(&self) -> String {
        let mut text = match &self.emoji {
            Some(emoji) => format!("Reacted {emoji} to {}.", self.wa_message_id),
            None => format!("Removed the reaction to {}.", self.wa_message_id),
        };
        for warning in &self.warnings {
            text.push_str(" Warning: ");
            text.push_str(warning);
        }
        text
    }
}

/// Sends or removes the business's reaction to a message.
pub async fn send_reaction(
    cx: &ToolContext<'_>,
    args: SendReactionArgs,
) -> Result<SendReactionOutput, ToolError> {
    require(cx.principal, SEND_REACTION)?;
    let accounts = resolve_accounts(cx, args.from.as_deref()).await?;
    let (account, message, conversation) = reacted_message(cx, &accounts, &args).await?;
    check_age(&message, cx.now)?;
    let emoji = checked_emoji(args.emoji)?;
    let to = phone_of(&conversation)?;
    // A reaction is a free-form message, so WhatsApp delivers it only while
    // the customer's window is open.
    require_window_until(
        cx,
        FreeForm::Reaction,
        &account,
        to.clone(),
        conversation.window_expires_at,
    )
    .await?;
    let _probe = cx.sender.usable_token(&account, cx.now, TokenUse::Send)?;
    let target = message.wamid.clone().unwrap_or_default();
    let token = cx.sender.access_token(cx.store, &account).await?;
    // The lock is kept until the reaction is recorded, so the stored reaction
    // is the one Meta received last from this process. Across processes the
    // order of the pending reactions decides.
    let _in_order = cx.sender.reaction_locks().lock(&account.id, &target).await;
    let pending = cx
        .store
        .begin_business_reaction(
            &account.id,
            &target,
            emoji.clone(),
            chrono::Utc::now().timestamp(),
        )
        .await?;
    let request = SendRequest::reaction(&to, &target, emoji.as_deref().unwrap_or(""))
        .with_callback_data(&callback_data(pending));
    // The Graph client retries a lost response, because a repeat sets the
    // same reaction.
    let response = match cx
        .sender
        .graph()
        .send_message(&account.phone_number_id, &token, &request)
        .await
    {
        Ok(response) => {
            token_works(cx.store, &account).await;
            response
        }
        Err(error) => {
            let note = if error.may_have_executed() {
                "Meta may have applied the reaction; Pons records it when Meta's status \
                 webhook confirms it."
            } else {
                forget_rejected(cx, &account, pending).await;
                "The reaction was not changed."
            };
            let action = "sending the reaction";
            return Err(graph_failure(cx, &account, action, &error, note, Repeat::Harmless).await);
        }
    };
    let mut warnings = Vec::new();
    match cx.store.apply_business_reaction(pending).await {
        Ok(true) => {}
        Ok(false) => warnings.push(
            "a newer reaction to this message was confirmed first, so the message shows that one"
                .to_owned(),
        ),
        Err(error) => {
            tracing::error!(account_id = %account.id, %error, "failed to record a sent reaction");
            warnings.push("Meta accepted the reaction, but Pons failed to record it".to_owned());
        }
    }
    Ok(SendReactionOutput {
        conversation_id: conversation.id.to_string(),
        wa_message_id: target,
        emoji,
        wamid: response.wamid().to_owned(),
        warnings,
    })
}

/// Finds the message to react to, with its account and conversation.
/// When several accounts store the wamid (one account messaged another),
/// `conversationId` and `phone` choose the copy in the conversation they
/// name. The error requests `from` only when neither is given or several
/// copies lie in conversations they name.
async fn reacted_message(
    cx: &ToolContext<'_>,
    accounts: &[Account],
    args: &SendReactionArgs,
) -> Result<(Account, Message, ConversationSummary), ToolError> {
    let conversation_id = args.conversation_id.as_deref();
    let phone = args.phone.as_deref();
    let names_conversation_given = conversation_id.is_some() || phone.is_some();
    let copies =
        match find_message_copies(cx, SEND_REACTION, accounts, &args.wa_message_id, false).await {
            Ok(copies) => copies,
            // For a key without `read`, an unknown wamid goes on to the check of
            // the named conversation, so it fails the same way as a wamid in
            // another conversation (see `not_in_named_conversation`).
            Err(ToolError::MessageNotFound { .. })
                if names_conversation_given && !guide::can_read(cx) =>
            {
                Vec::new()
            }
            Err(error) => return Err(error),
        };
    if !names_conversation_given {
        if copies.len() > 1 {
            return Err(ambiguous_message(accounts, &copies));
        }
        let Some((account, message)) = copies.into_iter().next() else {
            unreachable!("find_message_copies returns at least one copy");
        };
        let conversation = conversation_of(cx, &account, &message).await?;
        return Ok((account, message, conversation));
    }

    if non_blank(conversation_id).is_none() && non_blank(phone).is_none() {
        // Only blank values, for which `locate` returns its
        // missing-argument error.
        locate(cx, SEND_REACTION, accounts, conversation_id, phone).await?;
    }
    let mut named = Vec::new();
    let mut elsewhere = Vec::new();
    for (account, message) in copies {
        let conversation = conversation_of(cx, &account, &message).await?;
        if names_conversation(&conversation, conversation_id, phone) {
            named.push((account, message, conversation));
        } else {
            elsewhere.push(conversation.id);
        }
    }
    if named.len() > 1 {
        let copies: Vec<(Account, Message)> = named
            .into_iter()
            .map(|(account, message, _)| (account, message))
            .collect();
        return Err(ambiguous_message(accounts, &copies));
    }
    if let Some(found) = named.pop() {
        return Ok(found);
    }
    // No copy lies in a conversation that the arguments name. `locate`
    // returns the error for arguments that name no conversation or two
    // different ones.
    let named = locate(cx, SEND_REACTION, accounts, conversation_id, phone).await?;
    let wamid = non_blank(args.wa_message_id.as_deref()).unwrap_or_default();
    Err(not_in_named_conversation(cx, wamid, &named, &elsewhere).await?)
}

/// Builds the error for a wamid that is not in the named conversation,
/// where `elsewhere` lists the conversations its copies are in. A key
/// with `read` learns those conversations. A key without it gets the same
/// error whether `elsewhere` is empty or not, so it cannot find out that
/// a message belongs to another conversation of its accounts.
async fn not_in_named_conversation(
    cx: &ToolContext<'_>,
    wamid: &str,
    named: &ConversationSummary,
    elsewhere: &[ConversationId],
) -> Result<ToolError, ToolError> {
    if !guide::can_read(cx) {
        return Ok(ToolError::MessageNotFound {
            wamid: echoed(wamid),
            hint: format!(
                "the named conversation has no message with this wamid, so check \
                 waMessageId, conversationId and phone. {}",
                guide::conversation_messages(cx, named).await?
            ),
        });
    }
    let conversation_ids: Vec<String> = elsewhere.iter().map(ToString::to_string).collect();
    let belongs_to = match conversation_ids.as_slice() {
        [one] => format!("the message belongs to conversation {one}"),
        several => format!(
            "the copies of the message belong to conversations {}",
            several.join(", ")
        ),
    };
    Ok(ToolError::InvalidArgument {
        argument: "waMessageId",
        reason: format!(
            "{belongs_to}, not to the named conversation {}; check conversationId or phone",
            named.id
        ),
    })
}

/// Forgets a pending reaction that Meta rejected. If that fails, the
/// reaction stays pending until it expires, because no status confirms it.
async fn forget_rejected(cx: &ToolContext<'_>, account: &Account, pending: PendingReactionId) {
    if let Err(error) = cx.store.forget_business_reaction(pending).await {
        tracing::warn!(account_id = %account.id, %error, "failed to delete a rejected pending reaction");
    }
}

/// Rejects a reaction to a message older than WhatsApp delivers reactions
/// to, before anything is sent.
fn check_age(message: &Message, now: UnixTime) -> Result<(), ToolError> {
    if now - message.timestamp <= MAX_MESSAGE_AGE_DAYS * 24 * 60 * 60 {
        return Ok(());
    }
    let sent = time_text(message.timestamp);
    Err(ToolError::InvalidArgument {
        argument: "waMessageId",
        reason: format!(
            "the message is from {sent}, more than {MAX_MESSAGE_AGE_DAYS} days ago, and WhatsApp \
             delivers no reaction to a message that old; send a reply instead"
        ),
    })
}

/// Returns `None` for an empty emoji (a removal), else the checked emoji:
/// one grapheme, shown as emoji, and when it has several characters, a
/// sequence in Unicode's list of emoji (which leaves out flags of no
/// country and unlisted joins).
fn checked_emoji(emoji: Option<String>) -> Result<Option<String>, ToolError> {
    let Some(emoji) = emoji else {
        return Err(ToolError::MissingArgument {
            tool: SEND_REACTION,
            argument: "emoji",
            hint: "pass one emoji such as \"👍\", or \"\" to remove the reaction".to_owned(),
        });
    };
    if emoji.is_empty() {
        return Ok(None);
    }
    if emoji.trim().is_empty() {
        return Err(ToolError::InvalidArgument {
            argument: "emoji",
            reason: format!(
                "\"{}\" is blank; pass one emoji such as \"👍\", or \"\" to remove the reaction",
                echoed(&emoji)
            ),
        });
    }
    let emoji = emoji.trim();
    if emoji.is_ascii()
        || emoji.chars().count() > MAX_EMOJI_CHARS
        || emoji.graphemes(true).nth(1).is_some()
        || !is_well_formed_emoji(emoji)
    {
        return Err(not_an_emoji(emoji));
    }
    if !is_shown_as_emoji(emoji) {
        return Err(if can_take_emoji_selector(emoji) {
            ToolError::InvalidArgument {
                argument: "emoji",
                reason: format!(
                    "\"{}\" is not a single emoji but a symbol with text presentation; add \
                     U+FE0F after it for emoji presentation, as in \"\u{2764}\u{fe0f}\", or \
                     pass one such as \"👍\"",
                    echoed(emoji)
                ),
            }
        } else {
            not_an_emoji(emoji)
        });
    }
    // The list leaves out components shown alone, such as the hair styles
    // (🦰), which the checks above already accept as emoji.
    if emoji.chars().nth(1).is_some() && emojis::get(emoji).is_none() {
        return Err(ToolError::InvalidArgument {
            argument: "emoji",
            reason: format!(
                "\"{}\" is not an emoji sequence in Unicode's list (version 17.0), so \
                 phones may show it as separate characters; pass one such as \"👍\"",
                echoed(emoji)
            ),
        });
    }
    Ok(Some(emoji.to_owned()))
}

fn not_an_emoji(emoji: &str) -> ToolError {
    ToolError::InvalidArgument {
        argument: "emoji",
        reason: format!(
            "\"{}\" is not a single emoji; pass one such as \"👍\"",
            echoed(emoji)
        ),
    }
}

/// Blocks of combining marks, which attach to the character before them.
const COMBINING_MARKS: &[std::ops::RangeInclusive<char>] = &[
    '\u{0300}'..='\u{036f}',
    '\u{1ab0}'..='\u{1aff}',
    '\u{1dc0}'..='\u{1dff}',
    '\u{20d0}'..='\u{20ff}',
    '\u{fe20}'..='\u{fe2f}',
];

/// Tells whether one grapheme starts with a base character rather than a
/// joiner, selector, tag or modifier, does not end with a joiner, has its
/// flag letters in pairs and no skin tone or selector twice in a row. A joiner must be
/// followed by a base character, tag characters may only follow a black
/// flag and end with the cancel tag (as in subdivision flags), and the only
/// combining mark allowed is a keycap's, as in 1️⃣.
fn is_well_formed_emoji(emoji: &str) -> bool {
    let is_joiner = |c: char| c == '\u{200d}';
    let is_modifier = |c: char| ('\u{1f3fb}'..='\u{1f3ff}').contains(&c);
    let is_flag_letter = |c: char| ('\u{1f1e6}'..='\u{1f1ff}').contains(&c);
    let is_selector = |c: char| matches!(c, '\u{fe0e}' | '\u{fe0f}');
    let is_not_a_base = |c: char| {
        is_joiner(c)
            || is_modifier(c)
            || is_selector(c)
            || ('\u{e0000}'..='\u{e007f}').contains(&c)
            || COMBINING_MARKS.iter().any(|range| range.contains(&c))
    };
    let chars: Vec<char> = emoji.chars().collect();
    let (Some(&first), Some(&last)) = (chars.first(), chars.last()) else {
        return false;
    };
    let flag_letters = chars.iter().filter(|&&c| is_flag_letter(c)).count();
    let is_tag = |c: char| ('\u{e0000}'..='\u{e007f}').contains(&c);
    let tags_well_placed =
        !chars.iter().any(|&c| is_tag(c)) || (first == BLACK_FLAG && last == CANCEL_TAG);
    let is_keycap = chars.len() == 3
        && is_keycap_base(chars[0])
        && chars[1] == EMOJI_PRESENTATION_SELECTOR
        && chars[2] == COMBINING_KEYCAP;
    let has_combining_mark = chars
        .iter()
        .any(|&c| COMBINING_MARKS.iter().any(|range| range.contains(&c)));
    !is_not_a_base(first)
        && !is_joiner(last)
        && flag_letters % 2 == 0
        && tags_well_placed
        && (is_keycap || !has_combining_mark)
        && !chars.windows(2).any(|pair| {
            (is_modifier(pair[0]) && is_modifier(pair[1]))
                || (is_selector(pair[0]) && is_selector(pair[1]))
                || (is_joiner(pair[0]) && is_not_a_base(pair[1]))
        })
}

/// The black flag, first character of a subdivision flag such as 🏴󠁧󠁢󠁳󠁣󠁴󠁿.
const BLACK_FLAG: char = '\u{1f3f4}';
/// The cancel tag, last character of a subdivision flag.
const CANCEL_TAG: char = '\u{e007f}';

/// Variation selector that requests emoji presentation of the character before it.
const EMOJI_PRESENTATION_SELECTOR: char = '\u{fe0f}';
/// Variation selector that requests text presentation of the character before it.
const TEXT_PRESENTATION_SELECTOR: char = '\u{fe0e}';
/// Combining enclosing keycap, the last character of a keycap sequence such as 1️⃣.
const COMBINING_KEYCAP: char = '\u{20e3}';

/// Tells whether a well-formed grapheme is displayed as emoji rather than
/// as text, by the Unicode emoji properties of its characters. Some
/// character must have Emoji_Presentation, be an Emoji character followed
/// by U+FE0F, or be an emoji modifier base followed by a skin tone. A digit,
/// `#` or `*` counts only in a keycap sequence with U+FE0F and U+20E3, and
/// U+FE0E after a character requests text presentation.
///
/// NOTE: emoji newer than the Unicode version of the property tables
/// (`unicode_properties::UNICODE_VERSION`) or of the `emojis` list are
/// rejected until those crates are updated.
fn is_shown_as_emoji(grapheme: &str) -> bool {
    let chars: Vec<char> = grapheme.chars().collect();
    (0..chars.len()).any(|i| {
        let current = chars[i];
        let next = chars.get(i + 1).copied();
        if is_keycap_base(current) {
            return next == Some(EMOJI_PRESENTATION_SELECTOR)
                && chars.get(i + 2) == Some(&COMBINING_KEYCAP);
        }
        match next {
            Some(TEXT_PRESENTATION_SELECTOR) => false,
            Some(EMOJI_PRESENTATION_SELECTOR) => current.is_emoji_char(),
            Some(next) if is_emoji_modifier(next) => is_emoji_modifier_base(current),
            _ => has_emoji_presentation(current),
        }
    })
}

/// Tells whether the grapheme starts with an Emoji character that U+FE0F
/// would show as emoji, such as ❤ or ™, so the error can name the fix.
fn can_take_emoji_selector(grapheme: &str) -> bool {
    let mut chars = grapheme.chars();
    let starts_with_emoji = chars
        .next()
        .is_some_and(|c| c.is_emoji_char() && !is_keycap_base(c));
    starts_with_emoji && !chars.any(|c| c == TEXT_PRESENTATION_SELECTOR)
}

/// Tells whether `c` has Emoji_Presentation. Skin tones have it too but are
/// left out, because they show as emoji only after a modifier base.
fn has_emoji_presentation(c: char) -> bool {
    matches!(
        c.emoji_status(),
        EmojiStatus::EmojiPresentation
            | EmojiStatus::EmojiPresentationAndModifierBase
            | EmojiStatus::EmojiPresentationAndEmojiComponent
    )
}

fn is_emoji_modifier_base(c: char) -> bool {
    matches!(
        c.emoji_status(),
        EmojiStatus::EmojiModifierBase | EmojiStatus::EmojiPresentationAndModifierBase
    )
}

/// Tells whether `c` is one of the five skin tone modifiers, U+1F3FB to U+1F3FF.
fn is_emoji_modifier(c: char) -> bool {
    c.emoji_status() == EmojiStatus::EmojiPresentationAndModifierAndEmojiComponent
}

fn is_keycap_base(c: char) -> bool {
    matches!(c, '0'..='9' | '#' | '*')
}

async fn conversation_of(
    cx: &ToolContext<'_>,
    account: &Account,
    message: &Message,
) -> Result<ConversationSummary, ToolError> {
    let by = ConversationRef::Id(message.conversation_id.clone());
    cx.store
        .find_conversation(std::slice::from_ref(&account.id), &by)
        .await?
        .ok_or_else(|| ToolError::ConversationNotFound {
            value: message.conversation_id.to_string(),
            hint: "the message's conversation is gone".to_owned(),
        })
}

/// The customer's number with `+`; contacts known only by a business-scoped
/// user id cannot be sent to by number.
fn phone_of(conversation: &ConversationSummary) -> Result<String, ToolError> {
    let wa_id = &conversation.wa_id;
    if !wa_id.is_empty() && wa_id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(format!("+{wa_id}"))
    } else {
        Err(ToolError::InvalidArgument {
            argument: "waMessageId",
            reason: format!(
                "the customer is known only by the user id {wa_id}, not a phone number, and \
                 Pons sends by phone number"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::checked_emoji;

    #[test]
    fn one_emoji_accepted() {
        for emoji in [
            "👍",
            "👨‍👩‍👧",
            "🇩🇪",
            "👍🏽",
            "1\u{fe0f}\u{20e3}",
            "#\u{fe0f}\u{20e3}",
            "*\u{fe0f}\u{20e3}",
            "\u{2764}\u{fe0f}",
            "\u{263a}\u{fe0f}",
            "\u{2122}\u{fe0f}",
            "\u{261d}\u{1f3fd}",
            "\u{1f3f3}\u{fe0f}\u{200d}\u{1f308}",
            "\u{2764}\u{fe0f}\u{200d}\u{1f525}",
            "\u{1f469}\u{1f3fd}\u{200d}\u{1f4bb}",
            "\u{1f3f4}\u{e0067}\u{e0062}\u{e0073}\u{e0063}\u{e0074}\u{e007f}",
            "\u{1f9b0}",
        ] {
            let checked = checked_emoji(Some(emoji.to_owned())).expect("one emoji");
            assert_eq!(checked.as_deref(), Some(emoji));
        }
    }

    #[test]
    fn non_emoji_rejected() {
        for emoji in [
            "\u{200d}",
            "\u{fe0f}",
            "\u{e0041}",
            "🏽",
            "🇩",
            "👍\u{200d}",
            "👍🏽🏽",
            "👍\u{fe0f}\u{fe0f}",
            "\u{2764}\u{fe0e}\u{fe0f}",
            "\u{20e3}",
            "👍👍",
            "\u{e9}",
            "e\u{301}",
            "a",
            "1",
            "#",
            "*",
            "1\u{20e3}",
            "1\u{fe0f}",
            "a\u{fe0f}",
            "a\u{1f3fd}",
            "\u{1f308}\u{1f3fd}",
            "\u{263a}",
            "\u{2764}",
            "\u{2122}",
            "\u{a9}",
            "\u{2764}\u{fe0e}",
            "👍\u{fe0e}",
            "\u{3b1}",
            "\u{4e2d}",
            "\u{1f600}\u{301}",
            "\u{1f600}\u{20e3}",
            "\u{1f600}\u{e0041}",
            "\u{1f600}\u{200d}\u{1f3fd}",
            "\u{1f600}\u{200d}\u{fe0f}",
            "1\u{fe0f}\u{20e3}\u{301}",
        ] {
            let error = checked_emoji(Some(emoji.to_owned())).expect_err(emoji);
            assert!(
                error.to_string().contains("is not a single emoji"),
                "{error}"
            );
        }
    }

    #[test]
    fn unlisted_sequences_rejected() {
        for emoji in [
            // Flag letters of no country.
            "\u{1f1e6}\u{1f1e6}",
            "\u{1f1fd}\u{1f1fd}",
            // Joined characters that form no listed sequence.
            "\u{1f468}\u{200d}\u{1f9b2}\u{200d}\u{1f469}",
            "\u{1f436}\u{200d}\u{1f600}",
            // A subdivision flag Unicode does not list.
            "\u{1f3f4}\u{e0075}\u{e0073}\u{e0063}\u{e0061}\u{e007f}",
        ] {
            let error = checked_emoji(Some(emoji.to_owned())).expect_err(emoji);
            let message = error.to_string();
            assert!(
                message.contains("is not an emoji sequence in Unicode's list"),
                "{message}"
            );
            assert!(message.contains("\"👍\""), "{message}");
        }
    }

    #[test]
    fn text_presentation_gets_selector_hint() {
        for emoji in ["\u{263a}", "\u{2764}", "\u{2122}"] {
            let error = checked_emoji(Some(emoji.to_owned())).expect_err(emoji);
            let message = error.to_string();
            assert!(message.contains(&format!("{emoji:?}")), "{message}");
            assert!(message.contains("add U+FE0F after it"), "{message}");
        }
        for emoji in ["\u{2764}\u{fe0e}", "1\u{fe0f}", "\u{e9}"] {
            let error = checked_emoji(Some(emoji.to_owned())).expect_err(emoji);
            let message = error.to_string();
            assert!(!message.contains("U+FE0F"), "{message}");
        }
    }

    #[test]
    fn blank_emoji_quoted_as_given() {
        for emoji in [" ", "\u{a0}", "\t"] {
            let error = checked_emoji(Some(emoji.to_owned())).expect_err(emoji);
            let message = error.to_string();
            assert!(
                message.contains(&format!("{emoji:?} is blank")),
                "{message}"
            );
            assert!(message.contains("to remove the reaction"), "{message}");
        }
    }

    #[test]
    fn empty_emoji_removes() {
        assert_eq!(checked_emoji(Some(String::new())).expect("removal"), None);
    }
}
