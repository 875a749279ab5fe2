//! The 24-hour customer service window, through the MCP endpoint and
//! through the service layer with a chosen clock, and the guided errors for
//! missing send arguments.

mod common;

use common::meta::*;
use common::*;
use pons::auth::{Principal, Scopes};
use pons::store::ApiKeyId;
use pons::tools::{SendTemplateArgs, SendTextArgs, Sender, ToolContext, send_template, send_text};
use pons::whatsapp::graph::GraphClient;
use serde_json::json;

const ALL: &[&str] = &["read", "write", "send"];
const DAY: i64 = 24 * 60 * 60;

#[tokio::test]
async fn send_text_an_hour_after_inbound() {
    let shop = shop(ALL).await;
    let t = now() - 3600;
    ingest_text(
        &shop.server.store,
        &shop.account,
        CUSTOMER,
        "Hans",
        "wamid.T",
        "Hi",
        t,
    )
    .await;
    let output = tool_output(
        &shop
            .call("send_text", json!({"phone": CUSTOMER, "text": "Hello"}))
            .await,
    );
    assert_eq!(output["status"], "sent");
    assert_eq!(shop.message_posts().len(), 1);
}

#[tokio::test]
async fn closed_window_refused_without_meta() {
    let shop = shop(ALL).await;
    let t = now() - DAY - 1;
    ingest_text(
        &shop.server.store,
        &shop.account,
        CUSTOMER,
        "Hans",
        "wamid.T",
        "Hi",
        t,
    )
    .await;
    shop.sync_templates().await;
    shop.server.sim.clear_requests();
    let events = count_events(&shop.server);

    let closed_at = pons::tools::format_time(t + DAY).unwrap();
    let media = json!({"phone": CUSTOMER, "url": "https://cdn.example.com/a.png",
                       "mimeType": "image/png"});
    let reaction = json!({"phone": CUSTOMER, "waMessageId": "wamid.T", "emoji": "👍"});
    let removal = json!({"phone": CUSTOMER, "waMessageId": "wamid.T", "emoji": ""});
    for (tool, arguments, rejected) in [
        (
            "send_text",
            json!({"phone": CUSTOMER, "text": "Hello"}),
            "a text message",
        ),
        ("send_media", media, "a media message"),
        ("send_reaction", reaction, "a reaction"),
        ("send_reaction", removal, "a reaction"),
    ] {
        let text = tool_error(&shop.call(tool, arguments).await);
        assert!(text.contains(&format!("closed at {closed_at}")), "{text}");
        assert!(
            text.contains(&format!("{tool} cannot send {rejected}:")),
            "{text}"
        );
        assert!(!text.contains("free-form message"), "{text}");
        if tool == "send_reaction" {
            assert!(
                text.contains("A template cannot carry a reaction"),
                "{text}"
            );
            assert!(text.contains("send_template"), "{text}");
        } else {
            assert!(text.contains("Use send_template"), "{text}");
        }
        assert!(
            text.contains("order_update (en_US): variables body {{1}}, body {{2}}"),
            "{text}"
        );
        assert!(text.contains("appointment_reminder (en_US)"), "{text}");
        assert!(!text.contains("weekly_offer"), "a pending template: {text}");
    }

    assert!(shop.server.sim.requests().is_empty(), "no Graph call");
    let messages = shop.messages().await;
    assert_eq!(messages.len(), 1, "nothing stored");
    assert_eq!(messages[0].business_reaction, None, "no reaction stored");
    assert_eq!(count_events(&shop.server), events, "no event");
}

#[tokio::test]
async fn own_number_refused_without_meta() {
    let shop = shop(ALL).await;
    shop.sync_templates().await;
    shop.server.sim.clear_requests();
    let events = count_events(&shop.server);
    let own = format!("+{}", shop.account.phone_number);
    let typed = "+1 (555) 000-1111";
    assert_eq!(own, "+15550001111", "the number the typed form stands for");

    let media = json!({"phone": typed, "url": "https://cdn.example.com/a.png",
                       "mimeType": "image/png"});
    let template = json!({"phone": typed, "templateName": "appointment_reminder",
                          "templateLanguage": "en_US"});
    for (tool, arguments) in [
        ("send_text", json!({"phone": typed, "text": "Hello"})),
        ("send_media", media),
        ("send_template", template),
    ] {
        let text = tool_error(&shop.call(tool, arguments).await);
        assert!(text.contains("invalid argument `phone`"), "{tool}: {text}");
        assert!(
            text.contains(&format!("{own} is the number of the sending account")),
            "{tool}: {text}"
        );
        assert!(
            text.contains("WhatsApp cannot send a message from a number to itself"),
            "{tool}: {text}"
        );
        assert!(!text.contains("never written"), "{tool}: {text}");
        assert!(!text.contains("window"), "{tool}: {text}");
    }

    assert!(shop.server.sim.requests().is_empty(), "no Graph call");
    assert_eq!(count_events(&shop.server), events, "nothing stored");
}

#[tokio::test]
async fn never_opened_window_refused() {
    let shop = shop(ALL).await;
    let text = tool_error(
        &shop
            .call("send_text", json!({"phone": CUSTOMER, "text": "Hi"}))
            .await,
    );
    assert!(text.contains("never written to this number"), "{text}");
    assert!(text.contains("send_template"), "{text}");
    assert!(shop.server.sim.requests().is_empty());
    assert!(
        shop.conversation().await.is_none(),
        "no conversation created"
    );
}

#[tokio::test]
async fn window_boundary_in_service_layer() {
    let shop = shop(ALL).await;
    let store = shop.server.store.clone();
    let t = 1_750_000_000;
    ingest_text(&store, &shop.account, CUSTOMER, "Hans", "wamid.T", "Hi", t).await;
    let graph = GraphClient::new(
        &shop.server.sim.base_url(),
        std::time::Duration::from_secs(10),
    )
    .unwrap();
    let sender = Sender::new(store.clone(), graph, shop.server.secrets.clone());
    let principal = Principal {
        user_id: shop.owner.id.clone(),
        key_id: ApiKeyId("service-layer".into()),
        scopes: Scopes::parse("read,send").unwrap(),
        only_accounts: Vec::new(),
    };
    let cases = [
        (t + 3600, true),
        (t + DAY - 1, true),
        (t + DAY, false),
        (t + DAY + 1, false),
    ];
    for (now, open) in cases {
        let cx = ToolContext {
            store: store.as_ref(),
            principal: &principal,
            sender: &sender,
            now,
        };
        let args = SendTextArgs {
            phone: Some(CUSTOMER.into()),
            text: Some("Hello".into()),
            ..SendTextArgs::default()
        };
        let result = send_text(&cx, args).await;
        assert_eq!(result.is_ok(), open, "at T+{}: {result:?}", now - t);
    }
    assert_eq!(shop.message_posts().len(), 2, "only the open-window sends");

    let cx = ToolContext {
        store: store.as_ref(),
        principal: &principal,
        sender: &sender,
        now: t + DAY + 10,
    };
    let template = SendTemplateArgs {
        phone: Some(CUSTOMER.into()),
        template_name: Some("appointment_reminder".into()),
        template_language: Some("en_US".into()),
        components: Some(vec![json!({"type": "body", "parameters": [
            {"type": "text", "text": "Hans", "parameter_name": "first_name"},
            {"type": "text", "text": "Monday", "parameter_name": "date"}]})]),
        ..SendTemplateArgs::default()
    };
    let sent = send_template(&cx, template)
        .await
        .expect("a template is allowed");
    assert_eq!(sent.status, "sent");
    let conversation = shop.conversation().await.unwrap();
    assert_eq!(
        conversation.window_expires_at,
        Some(t + DAY),
        "outbound messages never extend the window"
    );
    let args = SendTextArgs {
        phone: Some(CUSTOMER.into()),
        text: Some("Hello again".into()),
        ..SendTextArgs::default()
    };
    assert!(send_text(&cx, args).await.is_err(), "still closed");
}

#[tokio::test]
async fn missing_phone_lists_contacts_only_with_read() {
    let shop = shop(ALL).await;
    shop.inbound("Hi").await;
    let text = tool_error(&shop.call("send_text", json!({"text": "Hello"})).await);
    assert!(text.contains("missing argument `phone`"), "{text}");
    assert!(text.contains("+4930123456 \"Hans\""), "{text}");

    let send_only = shop.key(&["send"]).await;
    let text = tool_error(
        &shop
            .server
            .call_tool(
                &send_only,
                "send_media",
                json!({"url": "https://cdn.example.com/a.png"}),
            )
            .await,
    );
    assert!(text.contains("missing argument `phone`"), "{text}");
    assert!(text.contains("+15550001111"), "the format example: {text}");
    assert!(
        !text.contains("Hans"),
        "contacts need the read scope: {text}"
    );
    assert!(!text.contains("4930123456"), "{text}");
}

#[tokio::test]
async fn missing_wamid_lists_messages_only_with_read() {
    let shop = shop(ALL).await;
    let wamid = shop.inbound("Where is my parcel?").await;
    for (tool, arguments) in [
        ("mark_as_read", json!({})),
        ("send_reaction", json!({"emoji": "👍"})),
    ] {
        let text = tool_error(&shop.call(tool, arguments).await);
        assert!(
            text.contains("missing argument `waMessageId`"),
            "{tool}: {text}"
        );
        assert!(text.contains(&wamid), "{tool}: {text}");
        assert!(text.contains("Where is my parcel?"), "{tool}: {text}");
    }
    let write_only = shop.key(&["write"]).await;
    let text = tool_error(
        &shop
            .server
            .call_tool(&write_only, "mark_as_read", json!({}))
            .await,
    );
    assert!(text.contains("missing argument `waMessageId`"), "{text}");
    assert!(
        !text.contains(&wamid),
        "messages need the read scope: {text}"
    );
    assert!(!text.contains("parcel"), "{text}");
}

#[tokio::test]
async fn several_accounts_need_from() {
    let shop = shop(ALL).await;
    shop.inbound("Hi").await;
    create_account(&shop.server.store, &shop.owner, "Second", "15550003333").await;
    let text = tool_error(
        &shop
            .call("send_text", json!({"phone": CUSTOMER, "text": "Hi"}))
            .await,
    );
    assert!(text.contains("missing argument `from`"), "{text}");
    assert!(text.contains("+15550001111 Sim Shop"), "{text}");
    assert!(text.contains("+15550003333 Second"), "{text}");
    let sent = shop
        .call(
            "send_text",
            json!({"from": "+1 555 000 1111", "phone": CUSTOMER, "text": "Hi"}),
        )
        .await;
    assert_eq!(tool_output(&sent)["from"], "+15550001111");
}
