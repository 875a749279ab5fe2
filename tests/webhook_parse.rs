//! Reads every Meta-shaped fixture and checks what the parser takes from it.

use std::path::Path;

use pons::store::{AccountId, IngestItem, MessageStatus};
use pons::whatsapp::routing::Routing;
use pons::whatsapp::webhook::{Payload, messages_items, template_status_item};

/// Unix time the parsed webhooks arrived at.
const RECEIVED_AT: i64 = 1_760_000_000;

fn fixture(name: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/meta");
    let path = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_str().unwrap().starts_with(name))
        .unwrap_or_else(|| panic!("no fixture starting with {name}"));
    std::fs::read(path).unwrap()
}

fn items_of(name: &str) -> Vec<IngestItem> {
    let payload: Payload = serde_json::from_slice(&fixture(name)).unwrap();
    let account = AccountId("acct".into());
    let mut items = Vec::new();
    let mut notes = Vec::new();
    for entry in &payload.entry {
        for change in &entry.changes {
            match change.field.as_str() {
                "messages" => items.extend(messages_items(
                    &account,
                    &change.value,
                    RECEIVED_AT,
                    &mut notes,
                )),
                "message_template_status_update" => items.extend(template_status_item(
                    entry.id.as_deref().unwrap(),
                    &change.value,
                )),
                _ => {}
            }
        }
    }
    items
}

fn only_message(name: &str) -> pons::store::InboundMessage {
    let mut messages = items_of(name).into_iter().filter_map(|item| match item {
        IngestItem::Message(m) => Some(m),
        _ => None,
    });
    let message = messages
        .next()
        .unwrap_or_else(|| panic!("{name}: no message"));
    assert!(messages.next().is_none(), "{name}: more than one message");
    message
}

#[test]
fn every_fixture_parses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/meta");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let bytes = std::fs::read(&path).unwrap();
            let parsed: Result<Payload, _> = serde_json::from_slice(&bytes);
            assert!(parsed.is_ok(), "{}: {:?}", path.display(), parsed.err());
        }
    }
}

#[test]
fn message_text_by_type() {
    let cases = [
        ("01_", "text", Some("Hi, is the shop open today?")),
        ("14_", "location", None),
        ("18_", "interactive", None),
        ("21_", "button", None),
        ("30_", "system", None),
        ("35_", "order", Some("Order of 2 item(s)")),
    ];
    for (name, kind, text) in cases {
        let message = only_message(name);
        assert_eq!(message.kind, kind, "{name}");
        assert!(message.text.is_some(), "{name}: no text");
        if let Some(text) = text {
            assert_eq!(message.text.as_deref(), Some(text), "{name}");
        }
    }
}

#[test]
fn media_keeps_id_and_mime() {
    let image = only_message("06_");
    let media = image.media.expect("image media");
    assert!(media.media_id.is_some());
    assert_eq!(media.mime_type.as_deref(), Some("image/jpeg"));
    assert!(image.caption.is_some());

    let bare = only_message("07_");
    assert!(bare.caption.is_none());
    assert!(bare.text.is_none());

    let document = only_message("11_");
    assert!(document.media.unwrap().filename.is_some());
}

#[test]
fn unsupported_keeps_errors_and_raw() {
    let message = only_message("26_");
    assert_eq!(message.kind, "unsupported");
    assert_eq!(message.errors[0].code, Some(131051));
    assert!(message.raw_json.contains("poll_creation"));
}

#[test]
fn unknown_type_becomes_unsupported() {
    let account = AccountId("acct".into());
    let value = serde_json::json!({
        "messages": [{"from": "15550002222", "id": "wamid.X", "timestamp": 1750000000,
                      "type": "hologram", "hologram": {"beam": 3}}]
    });
    let items = messages_items(&account, &value, RECEIVED_AT, &mut Vec::new());
    let IngestItem::Message(message) = &items[0] else {
        panic!("not a message")
    };
    assert_eq!(message.kind, "unsupported");
    assert_eq!(message.timestamp, 1750000000);
    assert!(message.raw_json.contains("hologram"));
}

#[test]
fn invalid_timestamps_take_arrival_time() {
    let account = AccountId("acct".into());
    for timestamp in [
        serde_json::json!("soon"),
        serde_json::json!(-5),
        serde_json::json!(0),
        serde_json::Value::Null,
    ] {
        let value = serde_json::json!({
            "messages": [{"from": "15550002222", "id": "wamid.T", "timestamp": timestamp,
                          "type": "text", "text": {"body": "hi"}}],
            "statuses": [{"id": "wamid.S", "status": "read", "timestamp": timestamp}]
        });
        let mut notes = Vec::new();
        let items = messages_items(&account, &value, RECEIVED_AT, &mut notes);
        let IngestItem::Message(message) = &items[0] else {
            panic!("not a message")
        };
        assert_eq!(message.timestamp, RECEIVED_AT, "{timestamp}");
        let IngestItem::Status(status) = &items[1] else {
            panic!("not a status")
        };
        assert_eq!(status.timestamp, RECEIVED_AT, "{timestamp}");
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(
            notes[0].contains("message \"wamid.T\" has no valid timestamp"),
            "{notes:?}"
        );
    }
}

#[test]
fn future_timestamp_takes_arrival_time() {
    let account = AccountId("acct".into());
    let value = serde_json::json!({
        "messages": [{"from": "15550002222", "id": "wamid.F", "timestamp": RECEIVED_AT + 100_000,
                      "type": "text", "text": {"body": "from the future"}},
                     {"from": "15550002222", "id": "wamid.G", "timestamp": RECEIVED_AT + 60,
                      "type": "text", "text": {"body": "a clock a minute fast"}}]
    });
    let mut notes = Vec::new();
    let items = messages_items(&account, &value, RECEIVED_AT, &mut notes);
    let timestamps: Vec<i64> = items
        .iter()
        .filter_map(|item| match item {
            IngestItem::Message(message) => Some(message.timestamp),
            _ => None,
        })
        .collect();
    assert_eq!(timestamps, [RECEIVED_AT, RECEIVED_AT + 60]);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("100000 seconds after"), "{notes:?}");
}

#[test]
fn non_phone_sender_kept_with_note() {
    let account = AccountId("acct".into());
    let long = "x".repeat(100);
    for from in [
        "abc",
        "123",
        "(555) 010-2030",
        "+1 555 CALL NOW",
        long.as_str(),
    ] {
        let value = serde_json::json!({
            "messages": [{"from": from, "id": "wamid.P", "timestamp": 1750000000,
                          "type": "text", "text": {"body": "hi"}},
                         {"from": from, "id": "wamid.R", "timestamp": 1750000001,
                          "type": "reaction",
                          "reaction": {"message_id": "wamid.P", "emoji": "👍"}}]
        });
        let mut notes = Vec::new();
        let items = messages_items(&account, &value, RECEIVED_AT, &mut notes);
        assert_eq!(items.len(), 2, "{from}: {items:?}");
        let IngestItem::Message(message) = &items[0] else {
            panic!("{from}: not a message")
        };
        assert_eq!(message.from, from);
        let IngestItem::Reaction(reaction) = &items[1] else {
            panic!("{from}: not a reaction")
        };
        assert_eq!(reaction.from, from);
        assert_eq!(notes.len(), 2, "{notes:?}");
        let echoed = pons::echo::echoed(from);
        assert!(
            notes[0].contains(&format!("message \"wamid.P\" has a sender {echoed:?}")),
            "{notes:?}"
        );
        assert!(notes[0].contains("not a phone number"), "{notes:?}");
        assert!(notes[0].contains("expected 8 to 15 digits"), "{notes:?}");
        assert!(
            !notes[0].contains(&"x".repeat(65)),
            "a long sender is cut: {notes:?}"
        );
        assert!(
            notes[1].contains("message \"wamid.R\" has a sender"),
            "{notes:?}"
        );
    }
}

#[test]
fn written_phone_numbers_stored_as_wa_id() {
    let account = AccountId("acct".into());
    let forms = [
        "+15550102030",
        "0015550102030",
        "+1 (555) 010-2030",
        "1 555-010-2030",
        "1.555.010.2030",
    ];
    for written in forms {
        let value = serde_json::json!({
            "contacts": [{"wa_id": written, "profile": {"name": "Dana"}}],
            "messages": [{"from": written, "id": "wamid.W", "timestamp": 1750000000,
                          "type": "text", "text": {"body": "hi"}},
                         {"from": written, "id": "wamid.X", "timestamp": 1750000001,
                          "type": "reaction",
                          "reaction": {"message_id": "wamid.W", "emoji": "👍"}}],
            "statuses": [{"id": "wamid.S", "status": "read", "timestamp": 1750000002,
                          "recipient_id": written}]
        });
        let mut notes = Vec::new();
        let items = messages_items(&account, &value, RECEIVED_AT, &mut notes);
        assert_eq!(items.len(), 4, "{written}: {items:?}");
        let IngestItem::Contact(contact) = &items[0] else {
            panic!("{written}: not a contact")
        };
        assert_eq!(contact.wa_id, "15550102030", "{written}");
        let IngestItem::Message(message) = &items[1] else {
            panic!("{written}: not a message")
        };
        assert_eq!(message.from, "15550102030", "{written}");
        let IngestItem::Reaction(reaction) = &items[2] else {
            panic!("{written}: not a reaction")
        };
        assert_eq!(reaction.from, "15550102030", "{written}");
        let IngestItem::Status(status) = &items[3] else {
            panic!("{written}: not a status")
        };
        assert_eq!(
            status.recipient_id.as_deref(),
            Some("15550102030"),
            "{written}"
        );
        assert_eq!(notes.len(), 2, "{written}: {notes:?}");
        let expected = format!(
            "message \"wamid.W\" has a sender {written:?} written with separators or a \
             prefix; stored with the sender \"15550102030\""
        );
        assert_eq!(notes[0], expected);
        assert!(
            notes[1].starts_with("message \"wamid.X\" has a sender"),
            "{notes:?}"
        );
    }
}

#[test]
fn blank_id_or_sender_skipped_with_note() {
    let account = AccountId("acct".into());
    for (id, from) in [("", "15550002222"), ("  ", "15550002222"), ("wamid.B", "")] {
        let value = serde_json::json!({
            "messages": [{"from": from, "id": id, "timestamp": 1750000000,
                          "type": "text", "text": {"body": "hi"}}],
            "statuses": [{"id": id, "status": "sent", "timestamp": 1750000000,
                          "recipient_id": "15550002222"}]
        });
        let mut notes = Vec::new();
        let items = messages_items(&account, &value, RECEIVED_AT, &mut notes);
        let messages = items
            .iter()
            .filter(|item| matches!(item, IngestItem::Message(_)))
            .count();
        assert_eq!(messages, 0, "id {id:?}, from {from:?}: {items:?}");
        assert!(
            notes
                .iter()
                .any(|note| note == "message without id or sender skipped"),
            "{notes:?}"
        );
        if id.trim().is_empty() {
            assert!(
                items.is_empty(),
                "a status without id is skipped: {items:?}"
            );
        }
    }
}

#[test]
fn phone_and_user_id_senders_get_no_note() {
    let account = AccountId("acct".into());
    let value = serde_json::json!({
        "messages": [{"from": "15550002222", "id": "wamid.A", "timestamp": 1750000000,
                      "type": "text", "text": {"body": "hi"}},
                     {"from": 15550002222_u64, "id": "wamid.B", "timestamp": 1750000000,
                      "type": "text", "text": {"body": "a number, not a string"}},
                     {"from_user_id": "US.10000000000000000001", "id": "wamid.C",
                      "timestamp": 1750000000, "type": "text", "text": {"body": "hi"}}]
    });
    let mut notes = Vec::new();
    let items = messages_items(&account, &value, RECEIVED_AT, &mut notes);
    assert_eq!(items.len(), 3, "{items:?}");
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn username_user_is_keyed_by_user_id() {
    let message = only_message("42_");
    assert_eq!(message.from, "US.10000000000000000001");
    let contact = items_of("42_").into_iter().find_map(|item| match item {
        IngestItem::Contact(c) => Some(c),
        _ => None,
    });
    assert_eq!(contact.unwrap().wa_id, "US.10000000000000000001");
}

#[test]
fn reactions_add_and_remove() {
    let added = items_of("23_");
    let IngestItem::Reaction(reaction) = added.last().unwrap() else {
        panic!("no reaction")
    };
    assert!(reaction.emoji.is_some());

    let removed = items_of("24_");
    let IngestItem::Reaction(reaction) = removed.last().unwrap() else {
        panic!("no reaction")
    };
    assert_eq!(reaction.emoji, None);
}

#[test]
fn failed_status_keeps_error() {
    let items = items_of("54_");
    let IngestItem::Status(status) = &items[0] else {
        panic!("no status")
    };
    assert_eq!(status.status, MessageStatus::Failed);
    let error = status.error.as_ref().unwrap();
    assert_eq!(error.code, Some(131047));
    assert_eq!(error.title.as_deref(), Some("Re-engagement message"));
    assert!(error.details.as_deref().unwrap().contains("24-hour"));
}

#[test]
fn played_and_batched_statuses() {
    let IngestItem::Status(played) = &items_of("57_")[0] else {
        panic!("no status")
    };
    assert_eq!(played.status, MessageStatus::Played);
    let statuses = items_of("60_")
        .iter()
        .filter(|i| matches!(i, IngestItem::Status(_)))
        .count();
    assert_eq!(statuses, 3);
}

#[test]
fn template_status_reads_integer_id() {
    let IngestItem::TemplateStatus(update) = &items_of("80_")[0] else {
        panic!("no update")
    };
    assert_eq!(update.meta_template_id, "1000000000000901");
    assert_eq!(update.status, "APPROVED");
    assert_eq!(update.reason, None);
    let IngestItem::TemplateStatus(rejected) = &items_of("81_")[0] else {
        panic!("no update")
    };
    assert!(
        rejected
            .reason
            .as_deref()
            .unwrap()
            .contains("adjacent parameters")
    );
}

#[test]
fn nul_in_text_is_replaced() {
    let account = AccountId("acct".into());
    let value = serde_json::json!({
        "contacts": [{"profile": {"name": "A\u{0}B"}, "wa_id": "15550002222"}],
        "messages": [{"from": "15550002222", "id": "wamid.N", "timestamp": "1750000000",
                      "type": "text", "text": {"body": "hi\u{0}there"}}]
    });
    let items = messages_items(&account, &value, RECEIVED_AT, &mut Vec::new());
    let IngestItem::Contact(contact) = &items[0] else {
        panic!("not a contact")
    };
    assert_eq!(contact.profile_name.as_deref(), Some("A\u{fffd}B"));
    let IngestItem::Message(message) = &items[1] else {
        panic!("not a message")
    };
    assert_eq!(message.text.as_deref(), Some("hi\u{fffd}there"));
}

#[test]
fn status_keeps_callback_data() {
    let value = serde_json::json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "100000000000002"},
        "statuses": [
            {
                "id": "wamid.A",
                "status": "delivered",
                "timestamp": "1750002000",
                "recipient_id": "15550002222",
                "biz_opaque_callback_data": "0199a0b2-0000-7000-8000-000000000001"
            },
            {
                "id": "wamid.B",
                "status": "sent",
                "timestamp": "1750002000",
                "recipient_id": "15550002222",
                "biz_opaque_callback_data": ""
            }
        ]
    });
    let mut notes = Vec::new();
    let items = messages_items(&AccountId("acct".into()), &value, RECEIVED_AT, &mut notes);
    assert!(notes.is_empty(), "{notes:?}");
    let callback_data: Vec<Option<&str>> = items
        .iter()
        .map(|item| match item {
            IngestItem::Status(status) => status.biz_opaque_callback_data.as_deref(),
            other => panic!("not a status: {other:?}"),
        })
        .collect();
    assert_eq!(
        callback_data,
        vec![Some("0199a0b2-0000-7000-8000-000000000001"), None]
    );
}

/// Returns the account ids of a body as the full parse reads them: phone
/// number ids of `messages` changes and WABA ids of entries with other
/// changes.
fn ids_from_payload(payload: &Payload) -> Routing {
    let mut routing = Routing::default();
    for entry in &payload.entry {
        for change in &entry.changes {
            if change.field == "messages" {
                routing.phone_number_ids.extend(change.phone_number_id());
            } else if let Some(id) = &entry.id {
                routing.waba_ids.insert(id.clone());
            }
        }
    }
    routing
}

#[test]
fn routing_reads_the_ids_the_full_parse_reads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/meta");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let body = std::fs::read(&path).unwrap();
        let payload: Payload = serde_json::from_slice(&body).unwrap();
        let routing = Routing::read(&body).unwrap();
        assert_eq!(routing, ids_from_payload(&payload), "{}", path.display());
        checked += 1;
    }
    assert!(checked > 10, "only {checked} fixtures read");
}

#[test]
fn routing_takes_numbers_and_odd_shapes() {
    let body = br#"{
        "object": "whatsapp_business_account",
        "entry": [
            {"changes": [{"value": {"metadata": {"phone_number_id": 100000000000002},
                                    "messages": [{"id": "x", "big": [0, 0, 0, {"a": []}]}]},
                          "field": "messages"}],
             "id": "1"},
            {"id": 200, "changes": [{"field": "message_template_status_update",
                                     "value": {"event": "APPROVED"}}]},
            {"id": "3", "changes": [{"field": "messages", "value": "not an object"},
                                    {"field": "messages", "value": {"metadata": [1]}},
                                    {"field": "messages",
                                     "value": {"metadata": {"phone_number_id": {"n": 1}}}}]}
        ]
    }"#;
    let routing = Routing::read(body).unwrap();
    assert_eq!(
        routing.phone_number_ids.into_iter().collect::<Vec<_>>(),
        ["100000000000002"]
    );
    assert_eq!(routing.waba_ids.into_iter().collect::<Vec<_>>(), ["200"]);

    let payload: Payload = serde_json::from_slice(body).unwrap();
    assert_eq!(Routing::read(body).unwrap(), ids_from_payload(&payload));
}

#[test]
fn routing_rejects_invalid_json() {
    for body in [&b"{"[..], b"{\"entry\": []} x", b"", b"{\"entry\": [}"] {
        assert!(
            Routing::read(body).is_err(),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    for body in [&b"{}"[..], b"{\"entry\": 5}", b"{\"entry\": {\"id\": 1}}"] {
        assert_eq!(
            Routing::read(body).unwrap(),
            Routing::default(),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}
