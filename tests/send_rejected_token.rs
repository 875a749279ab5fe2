//! Sends from an account whose access token Meta rejected (error 190):
//! every send tool fails before any Graph call while the rejection is
//! recent, and after `TOKEN_RETRY_AFTER_SECONDS` one send at a time goes
//! to Meta again, whose outcome clears or renews the mark. The tools run in the
//! service layer with a chosen clock.

mod common;

use common::meta::*;
use common::*;
use pons::auth::{Principal, Scopes};
use pons::metasim::{Fault, FaultTarget};
use pons::store::{ApiKeyId, UnixTime};
use pons::tools::{
    MarkAsReadArgs, SendMediaArgs, SendReactionArgs, SendTemplateArgs, SendTextArgs, Sender,
    TOKEN_RETRY_AFTER_SECONDS, ToolContext, ToolError, format_time, mark_as_read, send_media,
    send_reaction, send_template, send_text,
};
use pons::whatsapp::graph::GraphClient;

/// Time of the customer's message, which keeps the window open for a day.
const T: UnixTime = 1_750_000_000;
const WAMID: &str = "wamid.HANS";

/// The service layer of a shop: its sender and a principal with every scope.
struct Tools {
    shop: Shop,
    sender: Sender,
    principal: Principal,
}

impl Tools {
    async fn new() -> Tools {
        let shop = shop(&["read", "write", "send"]).await;
        let store = shop.server.store.clone();
        ingest_text(&store, &shop.account, CUSTOMER, "Hans", WAMID, "Hi", T).await;
        let graph = GraphClient::new(
            &shop.server.sim.base_url(),
            std::time::Duration::from_secs(10),
        )
        .unwrap();
        let sender = Sender::new(store, graph, shop.server.secrets.clone());
        let principal = Principal {
            user_id: shop.owner.id.clone(),
            key_id: ApiKeyId("service-layer".into()),
            scopes: Scopes::parse("read,write,send").unwrap(),
            only_accounts: Vec::new(),
        };
        Tools {
            shop,
            sender,
            principal,
        }
    }

    fn at(&self, now: UnixTime) -> ToolContext<'_> {
        ToolContext {
            store: self.shop.server.store.as_ref(),
            principal: &self.principal,
            sender: &self.sender,
            now,
        }
    }

    async fn send_text(&self, now: UnixTime) -> Result<pons::tools::SendOutput, ToolError> {
        let args = SendTextArgs {
            phone: Some(CUSTOMER.into()),
            text: Some("Your order".into()),
            ..SendTextArgs::default()
        };
        send_text(&self.at(now), args).await
    }

    async fn token_invalid_at(&self) -> Option<UnixTime> {
        self.shop
            .server
            .store
            .find_account(self.shop.account.id.as_str())
            .await
            .unwrap()
            .unwrap()
            .token_invalid_at
    }

    /// Has Meta reject the token on a send at `now` and checks the mark.
    async fn reject_token_at(&self, now: UnixTime) {
        let sim = &self.shop.server.sim;
        sim.clear_requests();
        sim.inject(FaultTarget::Send, Fault::graph(190));
        let text = self.send_text(now).await.unwrap_err().to_string();
        assert!(text.contains("Meta returned error 190"), "{text}");
        assert_eq!(self.shop.message_posts().len(), 1, "the send reached Meta");
        assert_eq!(self.token_invalid_at().await, Some(now));
    }
}

/// Calls every send tool at `now` and returns each tool's error text, or
/// `None` where it succeeded.
async fn call_every_send_tool(tools: &Tools, now: UnixTime) -> Vec<(&'static str, Option<String>)> {
    let cx = tools.at(now);
    let text = tools.send_text(now).await;

    let media = send_media(
        &cx,
        SendMediaArgs {
            phone: Some(CUSTOMER.into()),
            url: Some("https://cdn.example.com/a.png".into()),
            mime_type: Some("image/png".into()),
            ..SendMediaArgs::default()
        },
    )
    .await;

    // The store contains no template, so a send that got past the check
    // would sync the templates from Meta first.
    let template = send_template(
        &cx,
        SendTemplateArgs {
            phone: Some(CUSTOMER.into()),
            template_name: Some("order_update".into()),
            template_language: Some("en_US".into()),
            ..SendTemplateArgs::default()
        },
    )
    .await;

    let reaction = send_reaction(
        &cx,
        SendReactionArgs {
            wa_message_id: Some(WAMID.into()),
            emoji: Some("👍".into()),
            ..SendReactionArgs::default()
        },
    )
    .await;

    vec![
        ("send_text", text.err().map(|e| e.to_string())),
        ("send_media", media.err().map(|e| e.to_string())),
        ("send_template", template.err().map(|e| e.to_string())),
        ("send_reaction", reaction.err().map(|e| e.to_string())),
    ]
}

#[tokio::test]
async fn recent_rejection_blocks_every_send() {
    let tools = Tools::new().await;
    let rejected_at = T + 60;
    tools.reject_token_at(rejected_at).await;
    let messages_before = tools.shop.messages().await.len();
    let sim = &tools.shop.server.sim;

    for now in [rejected_at, rejected_at + TOKEN_RETRY_AFTER_SECONDS - 1] {
        sim.clear_requests();
        for (tool, error) in call_every_send_tool(&tools, now).await {
            let text = error.unwrap_or_else(|| panic!("{tool} succeeded"));
            assert!(
                text.contains(&format!(
                    "Meta rejected the token at {}",
                    format_time(rejected_at).unwrap()
                )),
                "{tool}: {text}"
            );
            assert!(
                text.contains(&format!(
                    "pons account set-credentials --account +{}",
                    tools.shop.account.phone_number
                )),
                "{tool}: {text}"
            );
            let retry_at = format_time(rejected_at + TOKEN_RETRY_AFTER_SECONDS).unwrap();
            assert!(text.contains(&retry_at), "{tool}: {text}");
        }
        assert_eq!(sim.requests(), Vec::new(), "no Graph call at T+{}", now - T);
    }

    let messages = tools.shop.messages().await;
    assert_eq!(messages.len(), messages_before, "nothing stored");
    let inbound = messages.iter().find(|m| m.wamid.as_deref() == Some(WAMID));
    assert_eq!(inbound.unwrap().business_reaction, None);
    let conversation = tools.shop.conversation().await.unwrap();
    assert_eq!(conversation.unread_count, 1, "nothing marked read");
    assert_eq!(tools.token_invalid_at().await, Some(rejected_at));
}

#[tokio::test]
async fn recent_rejection_skips_read_receipt() {
    let tools = Tools::new().await;
    let rejected_at = T + 60;
    tools.reject_token_at(rejected_at).await;
    let sim = &tools.shop.server.sim;
    sim.clear_requests();

    let args = MarkAsReadArgs {
        wa_message_id: Some(WAMID.into()),
        ..MarkAsReadArgs::default()
    };
    let output = mark_as_read(&tools.at(rejected_at + 1), args)
        .await
        .expect("the messages are marked read without a receipt");

    assert!(!output.read_receipt_sent);
    assert_eq!(output.warnings.len(), 1, "{:?}", output.warnings);
    let warning = &output.warnings[0];
    assert!(
        warning.contains("the read receipt was not sent"),
        "{warning}"
    );
    assert!(warning.contains("Meta rejected the token at"), "{warning}");
    assert!(
        warning.contains("marked the messages read in Pons only"),
        "{warning}"
    );
    assert!(!warning.contains("stored nothing"), "{warning}");
    assert!(
        warning.contains("pons account set-credentials"),
        "{warning}"
    );
    assert_eq!(sim.requests(), Vec::new(), "no Graph call");
    let conversation = tools.shop.conversation().await.unwrap();
    assert_eq!(conversation.unread_count, 0, "marked read in Pons");
    assert_eq!(tools.token_invalid_at().await, Some(rejected_at));
}

#[tokio::test]
async fn probe_after_interval_renews_or_clears() {
    let tools = Tools::new().await;
    let first = T + 60;
    tools.reject_token_at(first).await;

    // The first send after the interval reaches Meta, and another
    // rejection renews the mark.
    let renewed = first + TOKEN_RETRY_AFTER_SECONDS;
    tools.reject_token_at(renewed).await;

    let sim = &tools.shop.server.sim;
    sim.clear_requests();
    let text = tools.send_text(renewed + 1).await.unwrap_err().to_string();
    assert!(
        text.contains(&format_time(renewed).unwrap()),
        "the renewed time: {text}"
    );
    assert!(tools.shop.message_posts().is_empty());

    // A token that works again on Meta's side clears the mark.
    let output = tools
        .send_text(renewed + TOKEN_RETRY_AFTER_SECONDS)
        .await
        .expect("the probe is sent");
    assert_eq!(output.status, "sent");
    assert_eq!(tools.shop.message_posts().len(), 1);
    assert_eq!(tools.token_invalid_at().await, None, "the mark is cleared");
    let after = renewed + TOKEN_RETRY_AFTER_SECONDS + 1;
    for (tool, error) in call_every_send_tool(&tools, after).await {
        if let Some(text) = error {
            assert!(!text.contains("Meta rejected the token"), "{tool}: {text}");
        }
    }
}

#[tokio::test]
async fn probe_through_read_receipt_clears_mark() {
    let tools = Tools::new().await;
    let rejected_at = T + 60;
    tools.reject_token_at(rejected_at).await;

    let now = rejected_at + TOKEN_RETRY_AFTER_SECONDS;
    let args = MarkAsReadArgs {
        wa_message_id: Some(WAMID.into()),
        ..MarkAsReadArgs::default()
    };
    let output = mark_as_read(&tools.at(now), args)
        .await
        .expect("the probe is sent");
    assert!(output.read_receipt_sent);
    assert_eq!(tools.token_invalid_at().await, None, "the mark is cleared");
}

#[tokio::test]
async fn probe_runs_one_at_a_time() {
    let tools = Tools::new().await;
    let rejected_at = T + 60;
    tools.reject_token_at(rejected_at).await;
    let sim = &tools.shop.server.sim;
    sim.clear_requests();
    sim.inject(FaultTarget::Send, Fault::Hold);

    let now = rejected_at + TOKEN_RETRY_AFTER_SECONDS;
    let probe = tools.send_text(now);
    tokio::pin!(probe);
    tokio::select! {
        () = sim.wait_for_held(1) => {}
        sent = &mut probe => panic!("the probe finished while Meta held it: {sent:?}"),
    }

    // While the probe waits for Meta, every other send and the read
    // receipt make no Graph call.
    for (tool, error) in call_every_send_tool(&tools, now + 1).await {
        let text = error.unwrap_or_else(|| panic!("{tool} succeeded"));
        assert!(
            text.contains("another call is trying it again"),
            "{tool}: {text}"
        );
    }
    let args = MarkAsReadArgs {
        wa_message_id: Some(WAMID.into()),
        ..MarkAsReadArgs::default()
    };
    let read = mark_as_read(&tools.at(now + 1), args).await.unwrap();
    assert!(!read.read_receipt_sent, "{read:?}");
    assert_eq!(
        tools.shop.message_posts().len(),
        1,
        "only the probe reached Meta"
    );

    assert_eq!(sim.release_held(), 1);
    let output = probe.await.expect("the probe is sent");
    assert_eq!(output.status, "sent");
    assert_eq!(tools.token_invalid_at().await, None, "the mark is cleared");
    let again = tools.send_text(now + 2).await.expect("sends go through");
    assert_eq!(again.status, "sent");
}
