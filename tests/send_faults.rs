//! Graph API failures injected by the Meta stand-in: each one becomes a
//! tool error that names Meta's code or the transport problem and leaves
//! the message `failed` with the error stored, or succeeds after an
//! allowed retry. The server keeps serving afterwards.

mod common;

use std::time::Duration;

use common::meta::*;
use common::*;
use pons::metasim::{Fault, FaultTarget, SimStatus};
use pons::store::MessageStatus;
use pons::tools::TOKEN_RETRY_AFTER_SECONDS;
use serde_json::{Value, json};

const ALL: &[&str] = &["read", "write", "send"];

/// Sends a text that fails with the injected `fault`, checks that the
/// message is stored as failed, and returns the tool error text.
async fn failed_send(shop: &Shop, fault: Fault) -> String {
    shop.server.sim.inject(FaultTarget::Send, fault);
    let result = shop
        .call(
            "send_text",
            json!({"phone": CUSTOMER, "text": "Your order"}),
        )
        .await;
    let text = tool_error(&result);
    let stored = shop.messages().await.pop().expect("stored message");
    assert_eq!(stored.status, MessageStatus::Failed, "{text}");
    assert!(stored.wamid.is_none());
    assert!(text.contains(&format!("messageId {}", stored.id)), "{text}");
    text
}

/// Checks the server still sends after a failure.
async fn still_sends(shop: &Shop) {
    let result = shop
        .call(
            "send_text",
            json!({"phone": CUSTOMER, "text": "Second try"}),
        )
        .await;
    assert_eq!(tool_output(&result)["status"], "sent");
}

#[tokio::test]
async fn token_error_marks_account() {
    let shop = shop(ALL).await;
    shop.inbound("Hi").await;
    let text = failed_send(&shop, Fault::graph(190)).await;
    assert!(text.contains("Meta returned error 190"), "{text}");
    assert!(text.contains("pons account set-credentials"), "{text}");
    let stored = shop.messages().await.pop().unwrap();
    assert_eq!(stored.error.as_ref().and_then(|e| e.code), Some(190));
    assert!(
        token_invalid_at(&shop).await.is_some(),
        "token marked invalid"
    );
    assert_eq!(
        shop.message_posts().len(),
        1,
        "a token error is not retried"
    );
    let text = tool_error(
        &shop
            .call("send_text", json!({"phone": CUSTOMER, "text": "Again"}))
            .await,
    );
    assert!(text.contains("Meta rejected the token at"), "{text}");
    assert_eq!(
        shop.message_posts().len(),
        1,
        "a recent rejection calls no Meta"
    );

    // Once the rejection is older than the interval, the next send tries
    // the token again.
    let rejected_at = token_invalid_at(&shop).await.unwrap();
    let long_ago = rejected_at - TOKEN_RETRY_AFTER_SECONDS;
    shop.server
        .store
        .set_token_invalid(&shop.account.id, Some(long_ago))
        .await
        .unwrap();
    still_sends(&shop).await;
    assert_eq!(
        token_invalid_at(&shop).await,
        None,
        "an accepted send clears the mark"
    );
}

#[tokio::test]
async fn template_token_error_names_fix() {
    let shop = shop(ALL).await;
    shop.server
        .sim
        .inject(FaultTarget::Templates, Fault::graph(190));

    let output = tool_output(&shop.call("list_templates", json!({"refresh": true})).await);

    let warnings = output["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 1, "{output}");
    let warning = warnings[0].as_str().unwrap();
    assert!(warning.contains("Meta returned error 190"), "{warning}");
    assert!(
        warning.contains(&format!(
            "pons account set-credentials --account +{}",
            shop.account.phone_number
        )),
        "{warning}"
    );
}

/// Returns when Meta last rejected the shop account's access token.
async fn token_invalid_at(shop: &Shop) -> Option<i64> {
    shop.server
        .store
        .find_account(shop.account.id.as_str())
        .await
        .unwrap()
        .unwrap()
        .token_invalid_at
}

#[tokio::test]
async fn reengagement_error_points_to_templates() {
    let shop = shop(ALL).await;
    shop.inbound("Hi").await;
    let text = failed_send(&shop, Fault::graph(131047)).await;
    assert!(
        text.contains("Meta returned error 131047 (Re-engagement message)"),
        "{text}"
    );
    assert!(text.contains("send_template"), "{text}");
    let stored = shop.messages().await.pop().unwrap();
    let error = stored.error.expect("stored error");
    assert_eq!(error.code, Some(131047));
    assert_eq!(error.title.as_deref(), Some("Re-engagement message"));
    assert!(error.details.is_some());
    still_sends(&shop).await;
}

#[tokio::test]
async fn rate_limit_then_success() {
    let shop = shop(ALL).await;
    shop.inbound("Hi").await;
    shop.server
        .sim
        .inject(FaultTarget::Send, Fault::graph(130429));
    let result = shop
        .call(
            "send_text",
            json!({"phone": CUSTOMER, "text": "Your order"}),
        )
        .await;
    let output = tool_output(&result);
    assert_eq!(output["status"], "sent");
    assert_eq!(
        shop.message_posts().len(),
        2,
        "rejected once, then accepted"
    );
    assert_eq!(shop.server.sim.accepted_messages().len(), 1);
    let stored = shop.messages().await.pop().unwrap();
    assert_eq!(stored.status, MessageStatus::Sent);
    assert_eq!(stored.error, None);
}

#[tokio::test]
async fn rate_limit_exhausted_is_reported() {
    let shop = shop(ALL).await;
    shop.inbound("Hi").await;
    for _ in 0..2 {
        shop.server
            .sim
            .inject(FaultTarget::Send, Fault::graph(130429));
    }
    let text = failed_send(&shop, Fault::graph(130429)).await;
    assert!(text.contains("error 130429 (Rate limit hit)"), "{text}");
    assert!(text.contains("wait a minute"), "{text}");
    assert_eq!(shop.message_posts().len(), 3, "three attempts");
}

#[tokio::test]
async fn undeliverable_is_not_retried() {
    let shop = shop(ALL).await;
    shop.inbound("Hi").await;
    let text = failed_send(&shop, Fault::graph(131026)).await;
    assert!(
        text.contains("error 131026 (Message undeliverable)"),
        "{text}"
    );
    assert!(text.contains("do not retry"), "{text}");
    assert_eq!(shop.message_posts().len(), 1);
    still_sends(&shop).await;
}

#[tokio::test]
async fn server_error_is_not_retried() {
    let shop = shop(ALL).await;
    shop.inbound("Hi").await;
    let text = failed_send(&shop, Fault::Http { status: 502 }).await;
    assert!(text.contains("HTTP 502"), "{text}");
    assert!(text.contains("check get_conversation before"), "{text}");
    assert_eq!(
        shop.message_posts().len(),
        1,
        "a send may have run, so no retry"
    );
    still_sends(&shop).await;
}

#[tokio::test]
async fn timeout_is_reported() {
    let options = FullOptions {
        graph_timeout: Duration::from_secs(1),
        ..FullOptions::default()
    };
    let shop = shop_with(options, ALL).await;
    shop.inbound("Hi").await;
    let text = failed_send(&shop, Fault::Delay(Duration::from_secs(4))).await;
    assert!(text.contains("timed out"), "{text}");
    assert!(text.contains("check get_conversation before"), "{text}");
    still_sends(&shop).await;
}

#[tokio::test]
async fn dropped_connection_is_reported() {
    let shop = shop(ALL).await;
    shop.inbound("Hi").await;
    let text = failed_send(&shop, Fault::DropConnection).await;
    assert!(
        text.contains("connection to the Graph API failed"),
        "{text}"
    );
    still_sends(&shop).await;
}

#[tokio::test]
async fn failed_read_receipt_still_clears_unread() {
    let shop = shop(ALL).await;
    let wamid = shop.inbound("Hi").await;
    shop.server
        .sim
        .inject(FaultTarget::MarkRead, Fault::graph(131009));
    let output = tool_output(
        &shop
            .call("mark_as_read", json!({"waMessageId": wamid}))
            .await,
    );
    assert_eq!(output["readReceiptSent"], false);
    let warning = output["warnings"][0].as_str().unwrap();
    assert!(warning.contains("read receipt to Meta failed"), "{warning}");
    assert!(warning.contains("131009"), "{warning}");
    assert_eq!(output["unreadCount"], 0);
    assert_eq!(shop.conversation().await.unwrap().unread_count, 0);
}

#[tokio::test]
async fn failed_reaction_changes_nothing() {
    let shop = shop(ALL).await;
    let wamid = shop.inbound("Hi").await;
    shop.server
        .sim
        .inject(FaultTarget::Send, Fault::graph(131009));
    let text = tool_error(&thumbs_up(&shop, &wamid).await);
    assert!(text.contains("sending the reaction failed"), "{text}");
    assert!(text.contains("error 131009"), "{text}");
    assert!(!text.contains(".."), "{text}");
    assert_eq!(shop.messages().await[0].business_reaction, None);
}

#[tokio::test]
async fn template_sync_failure_is_explained() {
    let shop = shop(ALL).await;
    shop.server
        .sim
        .inject(FaultTarget::Templates, Fault::graph(10));
    let text = tool_error(
        &shop
            .call(
                "send_template",
                json!({"phone": CUSTOMER, "templateName": "order_update",
                       "templateLanguage": "en_US"}),
            )
            .await,
    );
    assert!(text.contains("template not found: order_update"), "{text}");
    assert!(
        text.contains("fetching the templates of +15550001111"),
        "{text}"
    );
    assert!(text.contains("error 10"), "{text}");
    assert!(shop.message_posts().is_empty());
}

#[tokio::test]
async fn reaction_lost_response_retried() {
    let shop = shop(ALL).await;
    let wamid = shop.inbound("Hi").await;
    shop.server
        .sim
        .inject(FaultTarget::Send, Fault::AcceptThenDrop { hold: false });
    let output = tool_output(&thumbs_up(&shop, &wamid).await);
    assert_eq!(output["emoji"], "👍");
    assert_eq!(
        shop.message_posts().len(),
        2,
        "the lost response, then the repeat"
    );
    let accepted = shop.server.sim.accepted_messages();
    assert_eq!(accepted.len(), 2, "Meta executed both");
    assert_eq!(output["wamid"], accepted[1].wamid.as_str());
    assert_eq!(
        shop.messages().await[0].business_reaction.as_deref(),
        Some("👍")
    );
}

#[tokio::test]
async fn reaction_all_responses_lost() {
    let shop = shop(ALL).await;
    let wamid = shop.inbound("Hi").await;
    for _ in 0..3 {
        shop.server
            .sim
            .inject(FaultTarget::Send, Fault::AcceptThenDrop { hold: false });
    }
    let text = tool_error(&thumbs_up(&shop, &wamid).await);
    assert!(
        text.contains("Meta may have applied the reaction"),
        "{text}"
    );
    assert!(
        text.contains("Sending the same request again is safe"),
        "{text}"
    );
    assert!(!text.contains("not changed"), "{text}");
    assert_eq!(shop.message_posts().len(), 3, "three attempts");
    assert_eq!(shop.messages().await[0].business_reaction, None);
}

#[tokio::test]
async fn reaction_refused_after_lost_response() {
    let shop = shop(ALL).await;
    let wamid = shop.inbound("Hi").await;
    let sim = &shop.server.sim;
    sim.inject(FaultTarget::Send, Fault::AcceptThenDrop { hold: false });
    sim.inject(FaultTarget::Send, Fault::graph(100));
    let text = tool_error(&thumbs_up(&shop, &wamid).await);
    assert!(text.contains("error 100"), "{text}");
    assert!(
        text.contains("Meta may have applied the reaction"),
        "{text}"
    );
    assert!(!text.contains("not changed"), "{text}");
    assert_eq!(shop.message_posts().len(), 2);
    assert_eq!(
        sim.accepted_messages().len(),
        1,
        "the first attempt was applied"
    );
    assert!(
        text.contains("records it when Meta's status webhook confirms it"),
        "{text}"
    );
    assert_eq!(shop.messages().await[0].business_reaction, None);

    // Meta's `sent` status echoes the reaction's callback data, which
    // confirms the reaction that no response did.
    let accepted = sim.accepted_messages().pop().expect("accepted reaction");
    assert!(
        accepted
            .biz_opaque_callback_data
            .as_deref()
            .is_some_and(|data| data.starts_with("pons-reaction:")),
        "{:?}",
        accepted.biz_opaque_callback_data
    );
    let delivery = sim
        .send_status(&accepted.wamid, SimStatus::Sent)
        .await
        .expect("status webhook");
    assert_eq!(delivery.http_status, Some(200));
    assert_eq!(
        shop.messages().await[0].business_reaction.as_deref(),
        Some("👍")
    );
}

#[tokio::test]
async fn refused_reaction_keeps_the_previous_one() {
    let shop = shop(ALL).await;
    let wamid = shop.inbound("Hi").await;
    tool_output(&thumbs_up(&shop, &wamid).await);
    let sim = &shop.server.sim;
    sim.inject(FaultTarget::Send, Fault::graph(100));
    let text = tool_error(
        &shop
            .call(
                "send_reaction",
                json!({"waMessageId": wamid, "emoji": "🎉"}),
            )
            .await,
    );
    assert!(text.contains("not changed"), "{text}");
    assert_eq!(
        shop.messages().await[0].business_reaction.as_deref(),
        Some("👍")
    );
}

/// Reacts 👍 to the message `wamid` and returns the tool result.
async fn thumbs_up(shop: &Shop, wamid: &str) -> Value {
    shop.call(
        "send_reaction",
        json!({"waMessageId": wamid, "emoji": "👍"}),
    )
    .await
}

#[tokio::test]
async fn failed_reply_stays_unanswered() {
    let shop = shop(ALL).await;
    let question = shop.inbound("Where is my parcel?").await;
    failed_send(&shop, Fault::graph(131026)).await;

    let output = tool_output(&shop.call("list_unanswered", json!({})).await);
    let rows = output["conversations"].as_array().expect("conversations");
    assert_eq!(rows.len(), 1, "{output}");
    let row = &rows[0];
    assert_eq!(row["replyFailed"], true, "{row}");
    assert_eq!(row["wamid"], question.as_str(), "{row}");
    assert_eq!(row["text"], "Where is my parcel?", "{row}");
    assert_eq!(row["type"], "text", "{row}");

    still_sends(&shop).await;
    let output = tool_output(&shop.call("list_unanswered", json!({})).await);
    assert_eq!(output["conversations"], json!([]), "{output}");
}
