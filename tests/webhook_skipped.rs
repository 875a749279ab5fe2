//! Signed webhooks whose message or reaction Pons skips, through the real
//! server on both backends: the skipped item leaves no contact and no
//! conversation and changes no message. On SQLite the tests also read its
//! note from the webhook log entry.

mod app;
#[allow(dead_code)]
mod postgres_harness;

use serde_json::{Value, json};

use app::{App, Backend, Env, message_by_wamid, seed_sandbox};
use pons::metasim::MetaSimConfig;
use pons::store::{ArchiveFilter, ConversationRef, DynStore};

const ANA: &str = "15550102222";
const BO: &str = "15550103333";

/// Builds a `messages` webhook of the sandbox number with these contacts
/// and messages.
fn webhook(sim: &MetaSimConfig, contacts: Value, messages: Value) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": sim.waba_id, "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": sim.display_phone_number,
                "phone_number_id": sim.phone_number_id,
            },
            "contacts": contacts,
            "messages": messages,
        }}]}],
    })
}

fn contact(wa_id: &str, name: &str) -> Value {
    json!({"profile": {"name": name}, "wa_id": wa_id})
}

fn text(from: &str, id: Value, body: &str) -> Value {
    let now = chrono::Utc::now().timestamp().to_string();
    json!({"from": from, "id": id, "timestamp": now, "type": "text", "text": {"body": body}})
}

fn reaction(from: &str, id: &str, target: &str, emoji: &str) -> Value {
    let now = chrono::Utc::now().timestamp().to_string();
    json!({
        "from": from, "id": id, "timestamp": now, "type": "reaction",
        "reaction": {"message_id": target, "emoji": emoji},
    })
}

async fn start(backend: Backend) -> (Env, App) {
    let env = Env::new(backend, MetaSimConfig::demo()).await;
    let bound = env.bind(env.settings()).await;
    seed_sandbox(&bound.store(), &bound.secrets(), env.sim.config()).await;
    let app = bound.run(&env);
    (env, app)
}

async fn has_conversation(store: &DynStore, wa_id: &str) -> bool {
    let accounts = store.list_accounts().await.expect("list accounts");
    let ids: Vec<_> = accounts.into_iter().map(|account| account.id).collect();
    store
        .find_conversation(&ids, &ConversationRef::Phone(wa_id.to_owned()))
        .await
        .expect("find conversation")
        .is_some()
}

/// Returns the detail of the newest webhook log entry, read from the SQLite
/// file, or `None` on PostgreSQL.
fn last_log_detail(env: &Env, backend: Backend) -> Option<String> {
    if backend != Backend::Sqlite {
        return None;
    }
    let conn = rusqlite::Connection::open(env.data_dir().join("pons.db")).expect("open");
    conn.query_row(
        "SELECT detail FROM webhook_log ORDER BY received_at DESC, id DESC LIMIT 1",
        [],
        |row| row.get(0),
    )
    .expect("webhook log entry")
}

async fn message_without_id_leaves_nothing(backend: Backend) {
    let (env, app) = start(backend).await;
    let sim = env.sim.config().clone();
    let secret = sim.app_secret.clone();

    for id in [Value::Null, json!("")] {
        let mut message = text(ANA, id, "lost");
        if message["id"].is_null() {
            message.as_object_mut().unwrap().remove("id");
        }
        let body = webhook(&sim, json!([contact(ANA, "Ana")]), json!([message]));
        assert_eq!(app.post_webhook(&secret, &body).await, 200);

        assert!(!has_conversation(&app.store, ANA).await);
        let accounts = app.store.list_accounts().await.expect("list accounts");
        let ids: Vec<_> = accounts.into_iter().map(|account| account.id).collect();
        let listed = app
            .store
            .list_conversations(&ids, ArchiveFilter::Any, None, 10)
            .await
            .expect("list conversations");
        assert!(listed.is_empty(), "{listed:?}");
        if let Some(detail) = last_log_detail(&env, backend) {
            assert!(
                detail.contains("message without id or sender skipped"),
                "{detail}"
            );
        }
    }
    app.stop().await;
}

on_both_backends!(message_without_id_leaves_nothing);

async fn reaction_to_other_customer_skipped(backend: Backend) {
    let (env, app) = start(backend).await;
    let sim = env.sim.config().clone();
    let secret = sim.app_secret.clone();
    let first = webhook(
        &sim,
        json!([contact(ANA, "Ana"), contact(BO, "Bo")]),
        json!([
            text(ANA, json!("wamid.ANA1"), "mine"),
            text(BO, json!("wamid.BO1"), "theirs")
        ]),
    );
    assert_eq!(app.post_webhook(&secret, &first).await, 200);
    let accounts = app.store.list_accounts().await.expect("list accounts");
    let account = accounts.into_iter().next().expect("sandbox account");

    let foreign = webhook(
        &sim,
        json!([contact(BO, "Bo")]),
        json!([reaction(BO, "wamid.BOR", "wamid.ANA1", "👎")]),
    );
    assert_eq!(app.post_webhook(&secret, &foreign).await, 200);

    let target = message_by_wamid(&app.store, &account, "wamid.ANA1").await;
    assert_eq!(target.reaction, None);
    if let Some(detail) = last_log_detail(&env, backend) {
        assert!(detail.contains("reaction from 15550103333"), "{detail}");
        assert!(detail.contains("wamid.ANA1 skipped"), "{detail}");
    }

    let own = webhook(
        &sim,
        json!([contact(ANA, "Ana")]),
        json!([reaction(ANA, "wamid.ANAR", "wamid.ANA1", "👍")]),
    );
    assert_eq!(app.post_webhook(&secret, &own).await, 200);
    let target = message_by_wamid(&app.store, &account, "wamid.ANA1").await;
    assert_eq!(target.reaction.as_deref(), Some("👍"));
    app.stop().await;
}

on_both_backends!(reaction_to_other_customer_skipped);
