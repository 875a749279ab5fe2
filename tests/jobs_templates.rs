//! The `template_sync` job against the Meta stand-in: the sync at start-up
//! with paging and deletion, and the sync a template status webhook
//! triggers, on SQLite and (when configured) PostgreSQL.

#[macro_use]
mod app;
#[allow(dead_code)]
mod postgres_harness;

use serde_json::json;

use app::{Backend, Env, seed_sandbox};
use pons::jobs::JobOutcome;
use pons::metasim::{MetaSimConfig, SimTemplate};
use pons::store::{NewAccount, NewTemplate};

/// Builds the demo stand-in configuration with two templates per page.
fn paged_config() -> MetaSimConfig {
    MetaSimConfig {
        template_page_size_max: 2,
        ..MetaSimConfig::demo()
    }
}

async fn startup_sync_pages_and_deletes(backend: Backend) {
    let env = Env::new(backend, paged_config()).await;
    let bound = env.bind(env.settings()).await;
    let store = bound.store();
    let sandbox = seed_sandbox(&store, &bound.secrets(), env.sim.config()).await;
    let stale = NewTemplate {
        meta_template_id: "299999999999999".into(),
        name: "retired_offer".into(),
        language: "en_US".into(),
        status: "APPROVED".into(),
        category: Some("MARKETING".into()),
        parameter_format: None,
        components_json: "[]".into(),
        rejected_reason: None,
    };
    store
        .sync_templates(&sandbox.account.id, vec![stale], app::now())
        .await
        .expect("seed a template Meta no longer lists");
    let mut app = bound.run(&env);

    let report = app.next_report("template_sync", false).await;

    assert_eq!(report.outcome, JobOutcome::Completed);
    let stored = store
        .list_templates(std::slice::from_ref(&sandbox.account.id))
        .await
        .expect("list templates");
    let mut ids: Vec<&str> = stored.iter().map(|t| t.meta_template_id.as_str()).collect();
    ids.sort();
    let mut expected: Vec<String> = env
        .sim
        .config()
        .templates
        .iter()
        .map(|t| t.id.clone())
        .collect();
    expected.sort();
    assert_eq!(
        ids, expected,
        "every listed template stored, the stale one deleted"
    );
    let order = stored
        .iter()
        .find(|t| t.name.as_deref() == Some("order_update"))
        .expect("order_update stored");
    assert_eq!(order.status, "APPROVED");
    let components: serde_json::Value =
        serde_json::from_str(order.components_json.as_deref().unwrap_or("null")).unwrap();
    assert_eq!(
        components[0]["text"],
        "Hi {{1}}, your order {{2}} has shipped."
    );
    let pages = env
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/message_templates"))
        .collect::<Vec<_>>();
    assert_eq!(pages.len(), 3, "five templates, two per page");
    for page in &pages[1..] {
        assert!(
            page.query.as_deref().unwrap_or_default().contains("after="),
            "{:?}",
            page.query
        );
    }
    app.stop().await;
}
on_both_backends!(startup_sync_pages_and_deletes);

async fn status_webhook_triggers_sync(backend: Backend) {
    let env = Env::new(backend, MetaSimConfig::demo()).await;
    let mut settings = env.settings();
    settings.server.jobs.template_sync_interval = None;
    let bound = env.bind(settings).await;
    let sandbox = seed_sandbox(&bound.store(), &bound.secrets(), env.sim.config()).await;
    // Another number of the same WABA, set up with another Meta app, whose
    // webhooks that app signs with its own secret. Its token is not the
    // stand-in's, so its syncs wait and report no completion.
    bound
        .store()
        .create_account(NewAccount {
            name: "Second app".into(),
            waba_id: env.sim.config().waba_id.clone(),
            phone_number_id: "100000000000077".into(),
            phone_number: "15550007777".into(),
            display_name: None,
            access_token_encrypted: bound.secrets().encrypt(b"second-app-token"),
            app_secret_encrypted: bound.secrets().encrypt(b"second-app-secret"),
            verify_token: "second-verify".into(),
            owner: sandbox.user.id.clone(),
        })
        .await
        .expect("create second account");
    let mut app = bound.run(&env);
    assert_eq!(
        app.next_report("template_sync", false).await.outcome,
        JobOutcome::Completed,
        "the start-up sync runs even with the periodic sync disabled"
    );
    env.sim.add_template(SimTemplate::positional(
        "200000000000009",
        "shipping_notice",
        "en_US",
        "Your parcel {{1}} is on its way.",
    ));
    let webhook = json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": env.sim.config().waba_id, "time": app::now(), "changes": [{
            "field": "message_template_status_update",
            "value": {
                "event": "APPROVED",
                "message_template_id": 200000000000009u64,
                "message_template_name": "shipping_notice",
                "message_template_language": "en_US",
                "reason": "NONE",
            },
        }]}],
    });

    assert_eq!(
        app.post_webhook("no-app-secret", &webhook).await,
        401,
        "a secret of no account of the WABA"
    );
    let status = app
        .post_webhook(&env.sim.config().app_secret, &webhook)
        .await;
    let report = app.next_report("template_sync", false).await;

    assert_eq!(status, 200, "the secret of one account of the WABA");
    assert_eq!(report.outcome, JobOutcome::Completed);
    let stored = app
        .store
        .list_templates(std::slice::from_ref(&sandbox.account.id))
        .await
        .expect("list templates");
    let notice = stored
        .iter()
        .find(|t| t.meta_template_id == "200000000000009")
        .expect("new template stored");
    assert_eq!(notice.name.as_deref(), Some("shipping_notice"));
    let components = notice.components_json.as_deref().unwrap_or_default();
    assert!(
        components.contains("Your parcel {{1}} is on its way."),
        "{components}"
    );
    assert_eq!(stored.len(), env.sim.config().templates.len() + 1);
    app.stop().await;
}
on_both_backends!(status_webhook_triggers_sync);
