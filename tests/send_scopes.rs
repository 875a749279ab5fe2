//! Scopes per tool for all eleven tools and every kind of key, tenant
//! isolation for the send and write tools, the tool annotations, and the
//! per-credential rate limit.

mod common;

use common::meta::*;
use common::*;
use pons::store::ConversationSummary;
use serde_json::{Value, json};

const ALL: &[&str] = &["read", "write", "send"];

/// Lists each tool with the scope it needs and arguments that succeed.
fn calls(wamid: &str) -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("list_conversations", "read", json!({})),
        ("list_unanswered", "read", json!({})),
        ("get_conversation", "read", json!({"phone": CUSTOMER})),
        ("search_messages", "read", json!({"query": "parcel"})),
        ("list_templates", "read", json!({})),
        ("mark_as_read", "write", json!({"waMessageId": wamid})),
        (
            "send_reaction",
            "write",
            json!({"waMessageId": wamid, "emoji": "👍"}),
        ),
        (
            "updateConversation",
            "write",
            json!({"phone": CUSTOMER, "archived": true}),
        ),
        (
            "send_text",
            "send",
            json!({"phone": CUSTOMER, "text": "Hello"}),
        ),
        (
            "send_media",
            "send",
            json!({"phone": CUSTOMER, "url": "https://cdn.example.com/a.png",
                   "mimeType": "image/png"}),
        ),
        (
            "send_template",
            "send",
            json!({"phone": CUSTOMER, "templateName": "order_update",
                   "templateLanguage": "en_US", "components": [{"type": "body",
                   "parameters": [{"type": "text", "text": "Hans"},
                                  {"type": "text", "text": "#42"}]}]}),
        ),
    ]
}

/// Everything a refused call must leave unchanged.
#[derive(Debug, PartialEq)]
struct Snapshot {
    graph_requests: usize,
    messages: usize,
    events: i64,
    business_reaction: Option<String>,
    unread_count: i64,
    archived: bool,
}

async fn snapshot(shop: &Shop) -> Snapshot {
    let messages = shop.messages().await;
    let conversation: ConversationSummary = shop.conversation().await.unwrap();
    Snapshot {
        graph_requests: shop.server.sim.requests().len(),
        messages: messages.len(),
        events: count_events(&shop.server),
        business_reaction: messages[0].business_reaction.clone(),
        unread_count: conversation.unread_count,
        archived: conversation.archived,
    }
}

fn names(list: &Value) -> Vec<String> {
    let mut names: Vec<String> = list["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn scope_matrix_of_all_tools() {
    let shop = shop(ALL).await;
    let wamid = shop.inbound("Where is my parcel?").await;
    shop.sync_templates().await;
    let combos: [&[&str]; 7] = [
        &["read"],
        &["write"],
        &["send"],
        &["read", "write"],
        &["read", "send"],
        &["write", "send"],
        &["read", "write", "send"],
    ];
    for scopes in combos {
        let key = shop.key(scopes).await;
        let mut allowed: Vec<String> = Vec::new();
        for (tool, scope, arguments) in calls(&wamid) {
            let before = snapshot(&shop).await;
            let result = shop.server.call_tool(&key, tool, arguments).await;
            if scopes.contains(&scope) {
                tool_output(&result);
                allowed.push(tool.to_owned());
                continue;
            }
            let text = tool_error(&result);
            let missing = format!("lacks the `{scope}` scope needed by {tool}");
            assert!(text.contains(&missing), "{scopes:?} {tool}: {text}");
            assert!(!text.contains("parcel"), "{scopes:?} {tool} leaked: {text}");
            assert_eq!(
                snapshot(&shop).await,
                before,
                "{scopes:?} {tool} changed state"
            );
        }
        allowed.sort();
        let list = shop.server.rpc(&key, "tools/list", json!({})).await;
        assert_eq!(names(&list), allowed, "tools/list of {scopes:?}");
    }
}

#[tokio::test]
async fn key_without_membership_reaches_nothing() {
    let shop = shop(ALL).await;
    let wamid = shop.inbound("Where is my parcel?").await;
    shop.sync_templates().await;
    let stranger = create_user(&shop.server.store, "stranger@example.com").await;
    let options = KeyOptions {
        scopes: ALL,
        ..KeyOptions::default()
    };
    let (key, _) = create_key(&shop.server.store, &stranger, options).await;
    for (tool, _, arguments) in calls(&wamid) {
        let before = snapshot(&shop).await;
        let text = tool_error(&shop.server.call_tool(&key, tool, arguments).await);
        assert!(
            text.contains("reaches no WhatsApp account"),
            "{tool}: {text}"
        );
        assert!(!text.contains("Sim Shop"), "{tool}: {text}");
        assert_eq!(snapshot(&shop).await, before, "{tool} changed state");
    }
    let list = shop.server.rpc(&key, "tools/list", json!({})).await;
    assert_eq!(
        names(&list).len(),
        11,
        "tools follow scopes, data follows membership"
    );
}

#[tokio::test]
async fn read_key_cannot_send() {
    let shop = shop(&["read"]).await;
    shop.inbound("Hi").await;
    let before = snapshot(&shop).await;
    let text = tool_error(
        &shop
            .call("send_text", json!({"phone": CUSTOMER, "text": "Hi"}))
            .await,
    );
    assert!(text.contains("lacks the `send` scope"), "{text}");
    assert!(text.contains("--scopes send"), "{text}");
    assert_eq!(
        snapshot(&shop).await,
        before,
        "no request, no message, no event"
    );
}

#[tokio::test]
async fn read_write_key_reacts_but_cannot_send() {
    let shop = shop(&["read", "write"]).await;
    let wamid = shop.inbound("Hi").await;
    let output = tool_output(
        &shop
            .call(
                "send_reaction",
                json!({"waMessageId": wamid, "emoji": "❤️"}),
            )
            .await,
    );
    assert_eq!(output["emoji"], "❤️");
    let posts = shop.message_posts().len();
    let text = tool_error(
        &shop
            .call(
                "send_template",
                json!({"phone": CUSTOMER, "templateName": "order_update",
                       "templateLanguage": "en_US"}),
            )
            .await,
    );
    assert!(text.contains("lacks the `send` scope"), "{text}");
    assert_eq!(shop.message_posts().len(), posts);
}

#[tokio::test]
async fn other_tenant_is_not_found() {
    let shop = shop(ALL).await;
    let bob = create_user(&shop.server.store, "bob@example.com").await;
    let other = create_account(&shop.server.store, &bob, "Shop B", "15550002222").await;
    ingest_text(
        &shop.server.store,
        &other,
        BRIT,
        "Brit",
        "wamid.B1",
        "The zeppelin arrived",
        now() - 60,
    )
    .await;

    for (tool, arguments) in [
        (
            "send_text",
            json!({"from": "+15550002222", "phone": BRIT, "text": "Hi"}),
        ),
        (
            "send_template",
            json!({"from": other.id.as_str(), "phone": BRIT, "templateName": "order_update",
                   "templateLanguage": "en_US"}),
        ),
        (
            "mark_as_read",
            json!({"from": "+15550002222", "waMessageId": "wamid.B1"}),
        ),
        ("list_conversations", json!({"from": "1 555 000 2222"})),
    ] {
        let text = tool_error(&shop.call(tool, arguments).await);
        assert!(text.contains("account not found"), "{tool}: {text}");
        assert!(!text.contains("Shop B"), "{tool}: {text}");
        assert!(!text.contains("Brit"), "{tool}: {text}");
    }

    let text = tool_error(
        &shop
            .call(
                "send_reaction",
                json!({"waMessageId": "wamid.B1", "emoji": "👍"}),
            )
            .await,
    );
    assert!(text.contains("message not found"), "{text}");
    assert!(!text.contains("zeppelin"), "{text}");

    let search = tool_output(
        &shop
            .call("search_messages", json!({"query": "zeppelin"}))
            .await,
    );
    assert_eq!(search["hits"], json!([]));
    assert!(shop.message_posts().is_empty());
}

#[tokio::test]
async fn annotations_are_honest() {
    let shop = shop(ALL).await;
    let list = shop.server.rpc(&shop.key, "tools/list", json!({})).await;
    let tools = list["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 11);
    for tool in tools {
        let name = tool["name"].as_str().unwrap();
        assert!(tool["title"].is_string(), "{name}");
        assert!(tool["description"].is_string(), "{name}");
        assert_eq!(tool["outputSchema"]["type"], "object", "{name}");
        assert!(
            tool["inputSchema"]["properties"]["from"].is_object(),
            "{name}"
        );
        let hints = &tool["annotations"];
        let (read_only, idempotent, open_world) = match name {
            "send_text" | "send_media" | "send_template" => (false, false, true),
            "mark_as_read" | "send_reaction" => (false, true, true),
            "updateConversation" => (false, true, false),
            "list_templates" => (true, true, true),
            _ => (true, true, false),
        };
        assert_eq!(hints["readOnlyHint"], read_only, "{name}");
        assert_eq!(hints["destructiveHint"], false, "{name}");
        assert_eq!(hints["idempotentHint"], idempotent, "{name}");
        assert_eq!(hints["openWorldHint"], open_world, "{name}");
    }
}

#[tokio::test]
async fn rate_limit_per_credential() {
    let options = FullOptions {
        tool_rate_per_minute: 2,
        ..FullOptions::default()
    };
    let shop = shop_with(options, ALL).await;
    for _ in 0..2 {
        tool_output(&shop.call("list_conversations", json!({})).await);
    }
    let text = tool_error(&shop.call("list_conversations", json!({})).await);
    assert!(text.contains("rate limit exceeded"), "{text}");
    assert!(text.contains("2 tool calls per minute"), "{text}");
    assert!(text.contains("retry in"), "{text}");
    let other = shop.key(&["read"]).await;
    let result = shop
        .server
        .call_tool(&other, "list_conversations", json!({}))
        .await;
    tool_output(&result);
}

/// A key without `read` gets the same error for a wamid in another
/// conversation of its account as for a wamid that does not exist, so it
/// cannot learn where a message belongs. A key with `read` learns the
/// conversation the message is in.
#[tokio::test]
async fn reaction_hides_other_conversation_without_read() {
    let shop = shop(ALL).await;
    let target = shop.inbound("Thanks!").await;
    let store = &shop.server.store;
    let eva_phone = "4930555444";
    ingest_text(
        store,
        &shop.account,
        eva_phone,
        "Eva",
        "wamid.EVA",
        "Hello",
        now() - 60,
    )
    .await;
    let hans = shop.conversation().await.expect("conversation with Hans");
    let eva = store
        .find_conversation(
            std::slice::from_ref(&shop.account.id),
            &pons::store::ConversationRef::Phone(eva_phone.to_owned()),
        )
        .await
        .unwrap()
        .expect("conversation with Eva");
    let missing = "wamid.MISSING";
    let cases = [
        (
            json!({"conversationId": eva.id.as_str()}),
            "message not found: ",
        ),
        (json!({"phone": "+49 30 555444"}), "message not found: "),
        (
            json!({"conversationId": "no-such-id"}),
            "conversation not found: no-such-id",
        ),
        (
            json!({"conversationId": " "}),
            "missing argument `conversationId`",
        ),
    ];

    let no_read = shop.key(&["write", "send"]).await;
    for (named, expected) in &cases {
        let mut errors = Vec::new();
        for wamid in [target.as_str(), missing] {
            let mut arguments = named.clone();
            arguments["waMessageId"] = json!(wamid);
            arguments["emoji"] = json!("👍");
            let result = shop
                .server
                .call_tool(&no_read, "send_reaction", arguments)
                .await;
            errors.push(tool_error(&result).replace(wamid, "WAMID"));
        }
        let [elsewhere, unknown] = &errors[..] else {
            unreachable!("two calls");
        };
        assert_eq!(elsewhere, unknown, "{named}");
        assert!(elsewhere.contains(expected), "{named}: {elsewhere}");
        assert!(!elsewhere.contains(hans.id.as_str()), "{elsewhere}");
    }
    let mut arguments = json!({"conversationId": eva.id.as_str(), "emoji": "👍"});
    arguments["waMessageId"] = json!(target);
    let result = shop
        .server
        .call_tool(&no_read, "send_reaction", arguments.clone())
        .await;
    let text = tool_error(&result);
    assert!(
        text.contains(&format!("message not found: {target}")),
        "{text}"
    );
    assert!(text.contains("check waMessageId"), "{text}");
    assert!(text.contains("`read` scope"), "{text}");

    let text = tool_error(&shop.call("send_reaction", arguments).await);
    assert!(
        text.contains(&format!("the message belongs to conversation {}", hans.id)),
        "{text}"
    );
    assert!(shop.message_posts().is_empty());
}

/// A key without `read` gets the same error for a quoted wamid of another
/// conversation as for one that does not exist. A key with `read` learns
/// that the message is in another conversation.
#[tokio::test]
async fn reply_hides_other_conversation_without_read() {
    let shop = shop(ALL).await;
    shop.inbound("Where is my parcel?").await;
    let elsewhere = shop
        .server
        .sim
        .send_inbound_text("4930999888", "Greta", "Do you sell gift cards?")
        .await
        .expect("inbound webhook")
        .wamid;
    let missing = "wamid.MISSING";
    let reply_error = |key: String, wamid: String| {
        let shop = &shop;
        async move {
            let arguments = json!({"phone": CUSTOMER, "text": "Hi", "replyToMessageId": wamid});
            let result = shop.server.call_tool(&key, "send_text", arguments).await;
            tool_error(&result).replace(&wamid, "WAMID")
        }
    };

    let send_only = shop.key(&["send"]).await;
    let other = reply_error(send_only.clone(), elsewhere.clone()).await;
    let unknown = reply_error(send_only, missing.to_owned()).await;
    assert_eq!(other, unknown);
    assert!(other.contains("message not found: WAMID"), "{other}");

    let reader = shop.key(&["read", "send"]).await;
    let other = reply_error(reader, elsewhere).await;
    assert!(
        other.contains("is a message of another conversation"),
        "{other}"
    );
    assert!(shop.message_posts().is_empty());
}
