//! The send and write tools over real HTTP against the Meta stand-in: the
//! exact Graph request each tool makes, what is stored, and status
//! webhooks moving a sent message on to delivered and read.

mod common;

use common::meta::*;
use common::*;
use std::time::Duration;

use pons::metasim::{Fault, FaultTarget, MetaSim, SimStatus};
use pons::store::{Account, ConversationRef, ConversationSummary, MessageStatus};
use serde_json::{Value, json};

const ALL: &[&str] = &["read", "write", "send"];

/// Returns the JSON body of the only `POST /messages` the stand-in received.
fn only_post(shop: &Shop) -> Value {
    let posts = shop.message_posts();
    assert_eq!(posts.len(), 1, "expected one POST: {posts:?}");
    assert!(posts[0].token_valid, "the account's token was not sent");
    posts[0].json().expect("JSON body")
}

#[tokio::test]
async fn send_text_request_and_record() {
    let shop = shop(ALL).await;
    let quoted = shop.inbound("Do you ship to Berlin?").await;
    let result = shop
        .call(
            "send_text",
            json!({"phone": "+49 30 123456", "text": "Yes: https://shop.example/ship",
                   "replyToMessageId": quoted}),
        )
        .await;
    let output = tool_output(&result);
    assert_eq!(
        only_post(&shop),
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "+4930123456",
            "type": "text",
            "text": {"body": "Yes: https://shop.example/ship", "preview_url": true},
            "context": {"message_id": quoted},
            "biz_opaque_callback_data": output["messageId"],
        })
    );
    let accepted = shop.server.sim.accepted_messages();
    assert_eq!(output["wamid"], accepted[0].wamid.as_str());
    assert_eq!(output["status"], "sent");
    assert_eq!(output["to"], "+4930123456");
    assert_eq!(output["from"], "+15550001111");
    assert_eq!(output["warnings"], json!([]));
    let conversation = shop.conversation().await.expect("conversation");
    assert_eq!(output["conversationId"], conversation.id.as_str());
    assert!(result_text(&result).contains("sent"), "{result}");

    let messages = shop.messages().await;
    let sent = messages.last().expect("stored message");
    assert_eq!(sent.id.as_str(), output["messageId"]);
    assert_eq!(sent.status, MessageStatus::Sent);
    assert_eq!(sent.wamid.as_deref(), Some(accepted[0].wamid.as_str()));
    assert_eq!(sent.text.as_deref(), Some("Yes: https://shop.example/ship"));
    assert_eq!(sent.context_wamid.as_deref(), Some(quoted.as_str()));
}

#[tokio::test]
async fn send_text_without_link_has_no_preview() {
    let shop = shop(ALL).await;
    shop.inbound("Hello").await;
    let result = shop
        .call("send_text", json!({"phone": CUSTOMER, "text": "Hi Hans"}))
        .await;
    tool_output(&result);
    let body = only_post(&shop);
    assert_eq!(
        body["text"],
        json!({"body": "Hi Hans", "preview_url": false})
    );
    assert!(body.get("context").is_none(), "{body}");
}

#[tokio::test]
async fn send_text_rejects_bad_input() {
    let shop = shop(ALL).await;
    shop.inbound("Hello").await;
    let cases = [
        (
            json!({"phone": CUSTOMER, "text": "x".repeat(4097)}),
            "4097 characters",
        ),
        (json!({"phone": CUSTOMER}), "missing argument `text`"),
        (
            json!({"phone": CUSTOMER, "text": "  "}),
            "missing argument `text`",
        ),
        (
            json!({"phone": "+1 555 CALL", "text": "Hi"}),
            "invalid phone number",
        ),
        (
            json!({"phone": CUSTOMER, "text": "a\u{7}b\u{1b}[31m"}),
            "control character U+0007",
        ),
        (
            json!({"phone": CUSTOMER, "text": "nul\u{0}"}),
            "control character U+0000",
        ),
        (
            json!({"phone": CUSTOMER, "text": "Hi", "replyToMessageId": "wamid.unknown"}),
            "message not found: wamid.unknown",
        ),
    ];
    for (arguments, expected) in cases {
        let text = tool_error(&shop.call("send_text", arguments.clone()).await);
        assert!(text.contains(expected), "{arguments}: {text}");
    }
    assert!(shop.message_posts().is_empty());
    assert_eq!(shop.messages().await.len(), 1, "only the inbound message");
}

#[tokio::test]
async fn reply_hint_names_recipient_messages() {
    let shop = shop(ALL).await;
    let recipient_wamid = shop.inbound("Where is my parcel?").await;
    let other_wamid = shop
        .server
        .sim
        .send_inbound_text("4930999888", "Greta", "Do you sell gift cards?")
        .await
        .expect("inbound webhook")
        .wamid;
    let text = tool_error(
        &shop
            .call(
                "send_text",
                json!({"phone": CUSTOMER, "text": "Hi", "replyToMessageId": other_wamid}),
            )
            .await,
    );
    assert!(text.contains("conversation with +4930123456"), "{text}");
    assert!(
        text.contains("is a message of another conversation"),
        "{text}"
    );
    assert!(
        text.contains(&recipient_wamid),
        "the recipient's message is named: {text}"
    );
    assert!(
        !text.contains("Greta"),
        "another conversation's message is named: {text}"
    );
    assert!(shop.message_posts().is_empty());
}

#[tokio::test]
async fn mark_as_read_hint_skips_replies() {
    let shop = shop(ALL).await;
    let question = shop.inbound("Is the shop open today?").await;
    for reply in ["Yes", "until 6 pm", "on Saturday too", "see you"] {
        tool_output(
            &shop
                .call("send_text", json!({"phone": CUSTOMER, "text": reply}))
                .await,
        );
    }
    let text = tool_error(&shop.call("mark_as_read", json!({})).await);
    assert!(text.contains("missing argument `waMessageId`"), "{text}");
    assert!(
        text.contains(&question),
        "the customer's message is named: {text}"
    );
    assert!(!text.contains("no messages"), "{text}");
}

#[tokio::test]
async fn send_media_request_bodies() {
    let shop = shop(ALL).await;
    shop.inbound("Send me the invoice").await;
    let cases = [
        (
            json!({"phone": CUSTOMER, "url": "https://cdn.example.com/a.jpg",
                   "mimeType": "IMAGE/JPEG", "caption": "Your parcel"}),
            json!({"type": "image",
                   "image": {"link": "https://cdn.example.com/a.jpg", "caption": "Your parcel"}}),
        ),
        (
            json!({"phone": CUSTOMER, "url": "https://cdn.example.com/i.pdf",
                   "mimeType": "application/pdf", "filename": "invoice.pdf",
                   "caption": "Invoice", "sizeBytes": 2048}),
            json!({"type": "document",
                   "document": {"link": "https://cdn.example.com/i.pdf", "caption": "Invoice",
                                "filename": "invoice.pdf"}}),
        ),
        (
            json!({"phone": CUSTOMER, "url": "https://cdn.example.com/v.ogg",
                   "mimeType": "audio/ogg; codecs=opus"}),
            json!({"type": "audio", "audio": {"link": "https://cdn.example.com/v.ogg"}}),
        ),
        (
            json!({"phone": CUSTOMER, "url": "https://cdn.example.com/c.mp4",
                   "mimeType": "video/mp4"}),
            json!({"type": "video", "video": {"link": "https://cdn.example.com/c.mp4"}}),
        ),
    ];
    for (arguments, expected) in cases {
        shop.server.sim.clear_requests();
        let output = tool_output(&shop.call("send_media", arguments.clone()).await);
        assert_eq!(output["status"], "sent", "{arguments}");
        let mut body = only_post(&shop);
        let callback_data = body
            .as_object_mut()
            .unwrap()
            .remove("biz_opaque_callback_data");
        assert_eq!(
            callback_data.as_ref(),
            Some(&output["messageId"]),
            "{arguments}"
        );
        for key in ["messaging_product", "recipient_type", "to"] {
            body.as_object_mut().unwrap().remove(key);
        }
        assert_eq!(body, expected, "{arguments}");
    }

    let messages = shop.messages().await;
    let document = &messages[2];
    assert_eq!(document.kind, "document");
    assert_eq!(document.caption.as_deref(), Some("Invoice"));
    let media = document.media.as_ref().expect("media");
    assert_eq!(media.url.as_deref(), Some("https://cdn.example.com/i.pdf"));
    assert_eq!(media.mime_type.as_deref(), Some("application/pdf"));
    assert_eq!(media.filename.as_deref(), Some("invoice.pdf"));

    let found = tool_output(
        &shop
            .call("search_messages", json!({"query": "parcel"}))
            .await,
    );
    let hits = found["hits"].as_array().expect("hits");
    assert_eq!(hits.len(), 1, "the image caption is searchable: {found}");
}

#[tokio::test]
async fn send_media_checks_before_sending() {
    let shop = shop(ALL).await;
    shop.inbound("Hello").await;
    let url = "https://cdn.example.com/f";
    let cases = [
        (
            json!({"phone": CUSTOMER, "url": url, "mimeType": "image/gif"}),
            "image/png (png)",
        ),
        (
            json!({"phone": CUSTOMER, "url": url, "mimeType": "image/webp"}),
            "video up to 16 MB",
        ),
        (
            json!({"phone": CUSTOMER, "url": url, "mimeType": "image/png",
                   "sizeBytes": 6 * 1024 * 1024}),
            "more than WhatsApp accepts for image/png (5242880 bytes)",
        ),
        (
            json!({"phone": CUSTOMER, "url": url, "mimeType": "image/png", "sizeBytes": 0}),
            "0 bytes is an empty file",
        ),
        (
            json!({"phone": CUSTOMER, "url": "http://cdn.example.com/a.png", "mimeType": "image/png"}),
            "not an https:// URL",
        ),
        (
            json!({"phone": CUSTOMER, "mimeType": "image/png"}),
            "missing argument `url`",
        ),
        (json!({"phone": CUSTOMER, "url": url}), "audio/aac (aac)"),
        (
            json!({"phone": CUSTOMER, "url": url, "mimeType": "audio/mpeg", "caption": "Hi"}),
            "audio messages cannot have a caption",
        ),
        (
            json!({"phone": CUSTOMER, "url": url, "mimeType": "image/png", "filename": "a.png"}),
            "only documents show a file name",
        ),
    ];
    for (arguments, expected) in cases {
        let text = tool_error(&shop.call("send_media", arguments.clone()).await);
        assert!(text.contains(expected), "{arguments}: {text}");
    }
    assert!(shop.message_posts().is_empty());
    assert_eq!(shop.messages().await.len(), 1);
}

#[tokio::test]
async fn send_media_rejects_long_url_and_filename() {
    let shop = shop(ALL).await;
    shop.inbound("Hello").await;
    let base = "https://cdn.example.com/";
    let long_url = format!("{base}{}", "u".repeat(5_000 - base.len()));
    let long_name = "n".repeat(10_000);
    let cases = [
        (
            json!({"phone": CUSTOMER, "url": long_url, "mimeType": "application/pdf"}),
            [
                "invalid argument `url`",
                "5000 characters long",
                "at most 2048 characters",
            ],
        ),
        (
            json!({"phone": CUSTOMER, "url": "https://cdn.example.com/f.pdf",
                   "mimeType": "application/pdf", "filename": long_name}),
            [
                "invalid argument `filename`",
                "10000 characters long",
                "at most 240 characters",
            ],
        ),
    ];
    for (arguments, expected) in cases {
        let text = tool_error(&shop.call("send_media", arguments).await);
        for part in expected {
            assert!(text.contains(part), "{part:?} not in {text}");
        }
        assert!(text.len() < 1_000, "the error is {} bytes", text.len());
    }
    assert!(shop.message_posts().is_empty());
    assert_eq!(shop.messages().await.len(), 1, "only the inbound message");
}

#[tokio::test]
async fn send_reaction_sets_and_removes() {
    let shop = shop(ALL).await;
    let target = shop.inbound("Thanks!").await;
    let output = tool_output(
        &shop
            .call(
                "send_reaction",
                json!({"waMessageId": target, "emoji": "👍"}),
            )
            .await,
    );
    let mut post = only_post(&shop);
    let callback = post
        .as_object_mut()
        .and_then(|body| body.remove("biz_opaque_callback_data"));
    assert!(
        callback
            .as_ref()
            .and_then(Value::as_str)
            .is_some_and(|data| data.starts_with("pons-reaction:")),
        "{callback:?}"
    );
    assert_eq!(
        post,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual",
               "to": "+4930123456", "type": "reaction",
               "reaction": {"message_id": target, "emoji": "👍"}})
    );
    assert_eq!(output["emoji"], "👍");
    assert_eq!(output["waMessageId"], target.as_str());
    assert!(output["wamid"].as_str().unwrap().starts_with("wamid."));
    let stored = &shop.messages().await[0];
    assert_eq!(stored.business_reaction.as_deref(), Some("👍"));
    assert_eq!(shop.messages().await.len(), 1, "a reaction is no message");
    let read = shop.read_conversation().await;
    assert_eq!(read["messages"][0]["businessReaction"], "👍", "{read}");
    assert!(read["messages"][0]["reaction"].is_null(), "{read}");

    shop.server.sim.clear_requests();
    let conversation = shop.conversation().await.unwrap();
    let removed = tool_output(
        &shop
            .call(
                "send_reaction",
                json!({"conversationId": conversation.id.as_str(), "waMessageId": target,
                       "emoji": ""}),
            )
            .await,
    );
    assert_eq!(only_post(&shop)["reaction"]["emoji"], "");
    assert!(removed["emoji"].is_null(), "{removed}");
    assert_eq!(shop.messages().await[0].business_reaction, None);

    for (arguments, expected) in [
        (
            json!({"waMessageId": target, "emoji": "ok"}),
            "not a single emoji",
        ),
        (json!({"waMessageId": target}), "missing argument `emoji`"),
        (
            json!({"waMessageId": "wamid.nope", "emoji": "👍"}),
            "message not found",
        ),
        (
            json!({"waMessageId": target, "emoji": "👍", "phone": "+15550009999"}),
            "conversation not found",
        ),
    ] {
        let text = tool_error(&shop.call("send_reaction", arguments.clone()).await);
        assert!(text.contains(expected), "{arguments}: {text}");
    }
}

/// Returns the conversation of `account` with the customer `wa_id`.
async fn conversation_with(shop: &Shop, account: &Account, wa_id: &str) -> ConversationSummary {
    let by = ConversationRef::Phone(wa_id.to_owned());
    shop.server
        .store
        .find_conversation(std::slice::from_ref(&account.id), &by)
        .await
        .expect("find conversation")
        .expect("a stored conversation")
}

/// When two accounts store one wamid, the conversation that
/// `conversationId` or `phone` names chooses the copy to react to.
#[tokio::test]
async fn reaction_copy_chosen_by_conversation() {
    let shop = shop(ALL).await;
    let target = shop.inbound("Thanks!").await;
    let store = &shop.server.store;
    let other = create_account(store, &shop.owner, "Second Shop", "15550007777").await;
    let t = now();
    ingest_text(
        store,
        &other,
        "4930999888",
        "Ute",
        &target,
        "Thanks!",
        t - 60,
    )
    .await;
    ingest_text(
        store,
        &other,
        "4930555444",
        "Eva",
        "wamid.EVA",
        "Hello",
        t - 60,
    )
    .await;
    let own = shop.conversation().await.expect("conversation");
    let ute = conversation_with(&shop, &other, "4930999888").await;
    let eva = conversation_with(&shop, &other, "4930555444").await;

    let arguments = json!({"waMessageId": target, "emoji": "👍"});
    let text = tool_error(&shop.call("send_reaction", arguments).await);
    assert!(
        text.contains("is stored in several of your accounts"),
        "{text}"
    );
    assert!(text.contains("pass `from`"), "{text}");
    assert!(shop.message_posts().is_empty());

    let by_id = json!({"waMessageId": target, "emoji": "👍", "conversationId": own.id.as_str()});
    let by_phone = json!({"waMessageId": target, "emoji": "❤️", "phone": "+49 30 123456"});
    for (arguments, emoji) in [(by_id, "👍"), (by_phone, "❤️")] {
        shop.server.sim.clear_requests();
        let output = tool_output(&shop.call("send_reaction", arguments.clone()).await);
        assert_eq!(output["conversationId"], own.id.as_str(), "{arguments}");
        let post = only_post(&shop);
        assert_eq!(post["to"], "+4930123456", "{arguments}");
        assert_eq!(
            post["reaction"]["message_id"],
            target.as_str(),
            "{arguments}"
        );
        assert_eq!(post["reaction"]["emoji"], emoji, "{arguments}");
        let stored = &shop.messages().await[0];
        assert_eq!(stored.business_reaction.as_deref(), Some(emoji));
    }
    let other_copy = store
        .find_message_by_wamid(std::slice::from_ref(&other.id), &target)
        .await
        .expect("find")
        .expect("stored")
        .1;
    assert_eq!(other_copy.conversation_id, ute.id);
    assert_eq!(other_copy.business_reaction, None);

    shop.server.sim.clear_requests();
    let arguments =
        json!({"waMessageId": target, "emoji": "👍", "conversationId": eva.id.as_str()});
    let text = tool_error(&shop.call("send_reaction", arguments).await);
    assert!(
        text.contains("the copies of the message belong to conversations"),
        "{text}"
    );
    assert!(text.contains(own.id.as_str()), "{text}");
    assert!(text.contains(ute.id.as_str()), "{text}");
    assert!(
        text.contains(&format!("not to the named conversation {}", eva.id)),
        "{text}"
    );
    assert!(shop.message_posts().is_empty());
}

#[tokio::test]
async fn send_reaction_refuses_messages_older_than_30_days() {
    let shop = shop(ALL).await;
    let day = 24 * 60 * 60;
    // The newest message keeps the customer's window open.
    let messages = [
        ("wamid.OLD", 31 * day),
        ("wamid.RECENT", 29 * day),
        ("wamid.NEW", 60),
    ];
    for (wamid, age) in messages {
        ingest_text(
            &shop.server.store,
            &shop.account,
            CUSTOMER,
            "Hans",
            wamid,
            "Where is my order?",
            now() - age,
        )
        .await;
    }

    for emoji in ["👍", ""] {
        let arguments = json!({"waMessageId": "wamid.OLD", "emoji": emoji});
        let text = tool_error(&shop.call("send_reaction", arguments).await);
        assert!(text.contains("more than 30 days ago"), "{text}");
        assert!(text.contains("send a reply instead"), "{text}");
    }
    assert!(shop.message_posts().is_empty());
    let old = shop.messages().await;
    assert!(
        old.iter()
            .all(|message| message.business_reaction.is_none())
    );

    let arguments = json!({"waMessageId": "wamid.RECENT", "emoji": "👍"});
    tool_output(&shop.call("send_reaction", arguments).await);
    assert_eq!(only_post(&shop)["reaction"]["message_id"], "wamid.RECENT");
}

#[tokio::test]
async fn mark_as_read_sends_receipt_and_clears() {
    let shop = shop(ALL).await;
    shop.inbound("One").await;
    let last = shop.inbound("Two").await;
    assert_eq!(shop.conversation().await.unwrap().unread_count, 2);
    let output = tool_output(
        &shop
            .call("mark_as_read", json!({"waMessageId": last}))
            .await,
    );
    assert_eq!(
        only_post(&shop),
        json!({"messaging_product": "whatsapp", "status": "read", "message_id": last})
    );
    assert_eq!(shop.server.sim.read_receipts(), std::slice::from_ref(&last));
    assert_eq!(output["readReceiptSent"], true);
    assert_eq!(output["unreadCount"], 0);
    assert_eq!(output["warnings"], json!([]));
    assert_eq!(shop.conversation().await.unwrap().unread_count, 0);

    let sent = tool_output(
        &shop
            .call("send_text", json!({"phone": CUSTOMER, "text": "Hi"}))
            .await,
    );
    let text = tool_error(
        &shop
            .call("mark_as_read", json!({"waMessageId": sent["wamid"]}))
            .await,
    );
    assert!(
        text.contains("read receipts are for the customer's messages"),
        "{text}"
    );
}

#[tokio::test]
async fn update_conversation_archives_without_meta() {
    let shop = shop(ALL).await;
    shop.inbound("Bye").await;
    let id = shop.conversation().await.unwrap().id;
    let output = tool_output(
        &shop
            .call(
                "updateConversation",
                json!({"conversationId": id.as_str(), "archived": true}),
            )
            .await,
    );
    assert_eq!(output["conversation"]["archived"], true);
    assert!(shop.conversation().await.unwrap().archived);
    let unanswered = tool_output(&shop.call("list_unanswered", json!({})).await);
    assert_eq!(
        unanswered["conversations"][0]["archived"], true,
        "{unanswered}"
    );
    shop.inbound("One more thing").await;
    assert!(
        shop.conversation().await.unwrap().archived,
        "a new message leaves it archived"
    );
    let output = tool_output(
        &shop
            .call(
                "updateConversation",
                json!({"phone": "+49 30 123456", "archived": false}),
            )
            .await,
    );
    assert_eq!(output["conversation"]["archived"], false);
    assert!(!shop.conversation().await.unwrap().archived);
    let text = tool_error(
        &shop
            .call("updateConversation", json!({"conversationId": id.as_str()}))
            .await,
    );
    assert!(text.contains("missing argument `archived`"), "{text}");
    assert!(shop.server.sim.requests().is_empty(), "no Graph call");
}

#[tokio::test]
async fn conversation_id_and_phone_must_agree() {
    let shop = shop(ALL).await;
    shop.inbound("Hello").await;
    let hans = shop.conversation().await.unwrap().id;
    ingest_text(
        &shop.server.store,
        &shop.account,
        "4930999999",
        "Greta",
        "wamid.GRETA",
        "Hi",
        now(),
    )
    .await;

    let mismatched = [
        (
            "get_conversation",
            json!({"conversationId": hans.as_str(), "phone": "+4930999999"}),
        ),
        (
            "updateConversation",
            json!({"conversationId": hans.as_str(), "phone": "+4930999999", "archived": true}),
        ),
    ];
    for (tool, arguments) in mismatched {
        let text = tool_error(&shop.call(tool, arguments).await);
        assert!(
            text.contains("is with +4930123456, not with +4930999999"),
            "{tool}: {text}"
        );
    }
    assert!(!shop.conversation().await.unwrap().archived);

    // A number with no conversation gets the same error, not "not found".
    let unknown = json!({"conversationId": hans.as_str(), "phone": "+4930555000"});
    let text = tool_error(&shop.call("get_conversation", unknown).await);
    assert!(
        text.contains("is with +4930123456, not with +4930555000"),
        "{text}"
    );

    // A key without `read` does not learn whom the conversation is with.
    let write_only = shop.key(&["write"]).await;
    let arguments =
        json!({"conversationId": hans.as_str(), "phone": "+4930999999", "archived": true});
    let result = shop
        .server
        .call_tool(&write_only, "updateConversation", arguments)
        .await;
    let text = tool_error(&result);
    assert!(text.contains("is not with +4930999999"), "{text}");
    assert!(!text.contains("4930123456"), "{text}");

    let agreeing = json!({"conversationId": hans.as_str(), "phone": "+49 30 123456"});
    let output = tool_output(&shop.call("get_conversation", agreeing).await);
    assert_eq!(output["conversation"]["id"], hans.as_str(), "{output}");
}

#[tokio::test]
async fn update_conversation_shows_no_customer_data_without_read() {
    let shop = shop(ALL).await;
    shop.inbound("My address is Hauptstrasse 5").await;
    let id = shop.conversation().await.unwrap().id;
    let write_only = shop.key(&["write"]).await;
    let whole = shop
        .server
        .call_tool(
            &write_only,
            "updateConversation",
            json!({"conversationId": id.as_str(), "archived": true}),
        )
        .await;
    let output = tool_output(&whole);
    assert_eq!(output["conversationId"], id.as_str());
    assert_eq!(output["archived"], true);
    assert!(output["conversation"].is_null(), "{output}");
    let text = whole.to_string();
    for customer_data in ["Hans", "4930123456", "Hauptstrasse"] {
        assert!(!text.contains(customer_data), "{customer_data} in {text}");
    }
    assert!(shop.conversation().await.unwrap().archived);

    let output = tool_output(
        &shop
            .call(
                "updateConversation",
                json!({"conversationId": id.as_str(), "archived": false}),
            )
            .await,
    );
    assert_eq!(
        output["conversation"]["contact"]["name"], "Hans",
        "{output}"
    );
}

#[tokio::test]
async fn list_templates_shows_variables() {
    let shop = shop(ALL).await;
    let result = shop.call("list_templates", json!({})).await;
    let output = tool_output(&result);
    let syncs = shop.server.sim.requests();
    assert_eq!(syncs.len(), 1, "no stored templates, so one sync");
    assert!(
        syncs[0]
            .path
            .ends_with("/100000000000001/message_templates")
    );
    let templates = output["templates"].as_array().unwrap();
    assert_eq!(templates.len(), 4, "{output}");
    let named = templates
        .iter()
        .find(|t| t["name"] == "appointment_reminder")
        .unwrap();
    assert_eq!(named["id"], "200000000000003");
    assert_eq!(named["language"], "en_US");
    assert_eq!(named["status"], "APPROVED");
    assert_eq!(named["category"], "UTILITY");
    assert_eq!(named["parameterFormat"], "named");
    assert_eq!(
        named["bodyText"],
        "Hello {{first_name}}, see you on {{date}}."
    );
    assert_eq!(
        named["variables"],
        json!(["body {{first_name}}", "body {{date}}"])
    );
    assert_eq!(
        named["exampleComponents"][0]["parameters"][0],
        json!({"type": "text", "text": "<first_name>", "parameter_name": "first_name"})
    );
    let receipt = templates.iter().find(|t| t["name"] == "receipt").unwrap();
    assert_eq!(
        receipt["variables"],
        json!(["header image", "body {{1}}", "button 0 (url) {{1}}"])
    );
    assert_eq!(receipt["header"], json!({"format": "IMAGE"}));
    assert_eq!(
        receipt["buttons"],
        json!([{"index": 0, "type": "url", "text": "Open",
                "url": "https://shop.example/r/{{1}}"}])
    );
    assert!(named.get("header").is_none(), "no header: {named}");
    assert!(named.get("buttons").is_none(), "no buttons: {named}");
    assert!(result_text(&result).contains("4 template(s)"), "{result}");

    tool_output(&shop.call("list_templates", json!({})).await);
    assert_eq!(shop.server.sim.requests().len(), 1, "stored list reused");
}

#[tokio::test]
async fn statuses_move_message_forward() {
    let shop = shop(ALL).await;
    shop.inbound("Hi").await;
    let output = tool_output(
        &shop
            .call("send_text", json!({"phone": CUSTOMER, "text": "Yo"}))
            .await,
    );
    let wamid = output["wamid"].as_str().unwrap().to_owned();
    for (status, expected) in [
        (SimStatus::Delivered, MessageStatus::Delivered),
        (SimStatus::Read, MessageStatus::Read),
    ] {
        let delivery = shop.server.sim.send_status(&wamid, status).await.unwrap();
        assert_eq!(delivery.http_status, Some(200), "{delivery:?}");
        let stored = shop.messages().await.pop().unwrap();
        assert_eq!(stored.status, expected);
    }
    let read = shop.read_conversation().await;
    assert_eq!(read["messages"][1]["status"], "read", "{read}");
}

#[tokio::test]
async fn failed_status_webhook_marks_failed() {
    let shop = shop(ALL).await;
    shop.inbound("Hi").await;
    let output = tool_output(
        &shop
            .call("send_text", json!({"phone": CUSTOMER, "text": "Yo"}))
            .await,
    );
    let wamid = output["wamid"].as_str().unwrap();
    shop.server
        .sim
        .send_status(wamid, SimStatus::Failed(131047))
        .await
        .unwrap();
    let read = shop.read_conversation().await;
    let message = &read["messages"][1];
    assert_eq!(message["status"], "failed", "{read}");
    assert_eq!(message["error"]["code"], 131047, "{read}");
    assert_eq!(message["error"]["title"], "Re-engagement message", "{read}");
}

#[tokio::test]
async fn reactions_to_one_message_stored_in_order() {
    let shop = shop(ALL).await;
    let target = shop.inbound("Thanks!").await;
    let sim = &shop.server.sim;
    sim.inject(FaultTarget::Send, Fault::AcceptThenHold);
    let first = shop.call(
        "send_reaction",
        json!({"waMessageId": target, "emoji": "👍"}),
    );
    tokio::pin!(first);
    tokio::select! {
        () = wait_for_accepted(sim, 1) => {}
        result = &mut first => panic!("the first reaction ended before Meta accepted it: {result}"),
    }

    // Meta has applied 👍 and keeps its response back. A second reaction
    // sent now must not be stored before the first one is.
    let second = shop.call(
        "send_reaction",
        json!({"waMessageId": target, "emoji": "❤️"}),
    );
    tokio::pin!(second);

    let early = tokio::time::timeout(Duration::from_millis(300), &mut second)
        .await
        .ok();
    sim.release_held();
    tool_output(&first.await);
    let second = match early {
        Some(result) => result,
        None => second.await,
    };
    tool_output(&second);

    let accepted = sim.accepted_messages();
    assert_eq!(accepted.len(), 2);
    assert_eq!(accepted[1].body["reaction"]["emoji"], "❤️");
    assert_eq!(
        shop.messages().await[0].business_reaction.as_deref(),
        Some("❤️"),
        "the stored reaction is the one Meta applied last"
    );
}

/// Waits until the stand-in has accepted `count` messages.
async fn wait_for_accepted(sim: &MetaSim, count: usize) {
    for _ in 0..2_000 {
        if sim.accepted_messages().len() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the stand-in did not accept {count} messages");
}

/// A Brazilian mobile number whose WhatsApp id lacks the 9 that people
/// dial: the dialled form finds the customer's conversation, the reply
/// joins it, and no second conversation appears.
#[tokio::test]
async fn dialled_mobile_form_finds_conversation() {
    let shop = shop(ALL).await;
    let (wa_id, dialled) = ("551187654321", "+55 11 98765-4321");
    let sim = &shop.server.sim;
    sim.add_recipient(pons::metasim::SimRecipient {
        wa_id: wa_id.to_owned(),
        profile_name: Some("Ana".to_owned()),
        fail_with: None,
        dialled_as: Some("5511987654321".to_owned()),
    });
    sim.send_inbound_text(wa_id, "Ana", "Oi, meu pedido chegou?")
        .await
        .expect("inbound webhook");

    let sent = tool_output(
        &shop
            .call(
                "send_text",
                json!({"phone": dialled, "text": "Chega amanhã."}),
            )
            .await,
    );
    assert_eq!(sent["status"], "sent", "{sent}");
    assert_eq!(only_post(&shop)["to"], "+5511987654321");

    let read = tool_output(
        &shop
            .call("get_conversation", json!({"phone": dialled}))
            .await,
    );
    assert_eq!(read["conversation"]["contact"]["waId"], wa_id, "{read}");
    let texts: Vec<&str> = read["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(texts, ["Oi, meu pedido chegou?", "Chega amanhã."]);

    let listed = tool_output(&shop.call("list_conversations", json!({})).await);
    let with_ana: Vec<&Value> = listed["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["contact"]["waId"]
                .as_str()
                .unwrap_or_default()
                .starts_with("55")
        })
        .collect();
    assert_eq!(with_ana.len(), 1, "{listed}");
}
