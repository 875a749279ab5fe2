//! Tests of the status helpers that the outbound send path will call,
//! which no `Store` method reaches yet.

use rusqlite::params;

use super::SqliteStore;
use super::status::{apply_pending, find_message};
use crate::store::{
    AccountId, ConversationRef, InboundMessage, IngestItem, MessageStatus, NewAccount, NewUser,
    NewWebhookLog, StatusUpdate, Store, WebhookBatch,
};

fn batch(items: Vec<IngestItem>) -> WebhookBatch {
    WebhookBatch {
        log: NewWebhookLog {
            received_at: 1,
            account_id: None,
            headers_json: "{}".to_owned(),
            body: Vec::new(),
            outcome: "processed".to_owned(),
            detail: None,
        },
        items,
    }
}

fn status(account: &AccountId, status: MessageStatus, timestamp: i64) -> IngestItem {
    IngestItem::Status(StatusUpdate {
        account_id: account.clone(),
        wamid: "wamid.SENT".to_owned(),
        status,
        timestamp,
        recipient_id: None,
        error: None,
    })
}

async fn account(store: &SqliteStore) -> AccountId {
    let owner = store
        .create_user(NewUser {
            email: "owner@example.com".to_owned(),
            password_hash: None,
        })
        .await
        .expect("user");
    let account = store
        .create_account(NewAccount {
            name: "Shop".to_owned(),
            waba_id: "waba".to_owned(),
            phone_number_id: "pnid".to_owned(),
            phone_number: "15550000000".to_owned(),
            display_name: None,
            access_token_encrypted: vec![1],
            app_secret_encrypted: vec![2],
            verify_token: "verify".to_owned(),
            owner: owner.id,
        })
        .await
        .expect("account");
    account.id
}

fn inbound(account: &AccountId) -> IngestItem {
    IngestItem::Message(InboundMessage {
        account_id: account.clone(),
        from: "15551112222".to_owned(),
        wamid: "wamid.IN".to_owned(),
        timestamp: 100,
        kind: "text".to_owned(),
        text: Some("hi".to_owned()),
        caption: None,
        media: None,
        context_wamid: None,
        content_json: "{}".to_owned(),
        raw_json: "{}".to_owned(),
        errors: Vec::new(),
    })
}

#[tokio::test]
async fn pending_statuses_apply_to_outbound_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("pons.db")).expect("open");
    let account = account(&store).await;
    store
        .ingest(batch(vec![inbound(&account)]))
        .await
        .expect("inbound");
    // Read arrives before delivered, and both before the send is stored.
    let early = vec![
        status(&account, MessageStatus::Read, 300),
        status(&account, MessageStatus::Delivered, 200),
    ];
    let report = store.ingest(batch(early)).await.expect("statuses");
    assert_eq!(report.statuses_deferred, 2);
    let conversation = store
        .find_conversation(
            std::slice::from_ref(&account),
            &ConversationRef::Phone("15551112222".to_owned()),
        )
        .await
        .expect("find")
        .expect("conversation");

    let conversation_id = conversation.id.clone();
    let (pending_left, events) = store
        .writer
        .write(move |tx| {
            tx.execute(
                "INSERT INTO messages (id, account_id, conversation_id, wamid, direction, type, \
                     status, timestamp, created_at) \
                 VALUES ('m-out', ?1, ?2, 'wamid.SENT', 'outbound', 'text', 'sent', 150, 150)",
                params![account.as_str(), conversation_id.as_str()],
            )?;
            let mut message = find_message(tx, &account, "wamid.SENT")?.expect("stored");
            apply_pending(tx, &mut message)?;
            let pending: i64 =
                tx.query_row("SELECT count(*) FROM pending_statuses", [], |r| r.get(0))?;
            let events: i64 = tx.query_row(
                "SELECT count(*) FROM events WHERE type = 'message.status.updated'",
                [],
                |r| r.get(0),
            )?;
            Ok((pending, events))
        })
        .await
        .expect("outbound insert");
    assert_eq!(pending_left, 0);
    // Delivered (older) applies first, then read.
    assert_eq!(events, 2);

    let messages = store
        .conversation_messages(&conversation.id, 10)
        .await
        .expect("messages");
    let sent = messages
        .iter()
        .find(|m| m.wamid.as_deref() == Some("wamid.SENT"))
        .expect("outbound message");
    assert_eq!(sent.status, MessageStatus::Read);
}
