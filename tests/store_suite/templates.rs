//! Message templates: full syncs from Meta and status webhooks.

use pons::store::{AccountId, DynStore, IngestItem, NewTemplate, StoreError, TemplateStatusUpdate};

use super::{LATER, T0, ingest, new_account, tenant};

fn template(meta_id: &str, name: &str, language: &str, status: &str) -> NewTemplate {
    NewTemplate {
        meta_template_id: meta_id.to_owned(),
        name: name.to_owned(),
        language: language.to_owned(),
        status: status.to_owned(),
        category: Some("UTILITY".to_owned()),
        parameter_format: Some("POSITIONAL".to_owned()),
        components_json: format!("[{{\"type\":\"BODY\",\"text\":\"{name}\"}}]"),
        rejected_reason: None,
    }
}

/// Returns (Meta id, status, components) of each listed template, in order.
async fn listed(store: &DynStore, account: &AccountId) -> Vec<(String, String, Option<String>)> {
    store
        .list_templates(std::slice::from_ref(account))
        .await
        .expect("list templates")
        .into_iter()
        .map(|t| (t.meta_template_id, t.status, t.components_json))
        .collect()
}

pub async fn templates_sync_replaces(store: DynStore) {
    let t = tenant(&store, "tpl-sync").await;
    let other = tenant(&store, "tpl-sync-other").await;
    let first = vec![
        template("m-1", "alpha", "en_US", "APPROVED"),
        template("m-2", "beta", "en_US", "PENDING"),
    ];
    store
        .sync_templates(&t.account.id, first, T0)
        .await
        .expect("first sync");
    store
        .sync_templates(
            &other.account.id,
            vec![template("m-9", "other", "de", "APPROVED")],
            T0,
        )
        .await
        .expect("other account sync");

    let mut beta = template("m-2", "beta", "en_US", "APPROVED");
    beta.components_json = "[{\"type\":\"BODY\",\"text\":\"changed\"}]".to_owned();
    let second = vec![beta, template("m-3", "gamma", "en_US", "APPROVED")];
    store
        .sync_templates(&t.account.id, second, T0 + 10)
        .await
        .expect("second sync");

    let rows = listed(&store, &t.account.id).await;
    let ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(ids, ["m-2", "m-3"], "m-1 deleted, m-3 added");
    assert_eq!(rows[0].1, "APPROVED", "m-2 updated");
    assert_eq!(
        rows[0].2.as_deref(),
        Some("[{\"type\":\"BODY\",\"text\":\"changed\"}]")
    );

    let full = store
        .list_templates(std::slice::from_ref(&t.account.id))
        .await
        .expect("list");
    assert_eq!(full[0].updated_at, T0 + 10);
    assert_eq!(full[0].category.as_deref(), Some("UTILITY"));
    assert_eq!(full[0].parameter_format.as_deref(), Some("POSITIONAL"));
    assert_eq!(full[0].account_id, t.account.id);

    assert_eq!(
        listed(&store, &other.account.id).await.len(),
        1,
        "other account untouched"
    );

    store
        .sync_templates(&t.account.id, Vec::new(), T0 + 20)
        .await
        .expect("empty sync");
    assert!(listed(&store, &t.account.id).await.is_empty());
}

pub async fn templates_listed_by_name_language(store: DynStore) {
    let a = tenant(&store, "tpl-order-a").await;
    let b = tenant(&store, "tpl-order-b").await;
    store
        .sync_templates(
            &a.account.id,
            vec![
                template("a-3", "welcome", "pt_BR", "APPROVED"),
                template("a-1", "welcome", "en_US", "APPROVED"),
                template("a-2", "order_update", "en_US", "APPROVED"),
            ],
            T0,
        )
        .await
        .expect("sync a");
    store
        .sync_templates(
            &b.account.id,
            vec![template("b-1", "reminder", "en_US", "APPROVED")],
            T0,
        )
        .await
        .expect("sync b");

    let both = [a.account.id.clone(), b.account.id.clone()];
    let order: Vec<(Option<String>, Option<String>)> = store
        .list_templates(&both)
        .await
        .expect("list")
        .into_iter()
        .map(|t| (t.name, t.language))
        .collect();
    let expected = [
        ("order_update", "en_US"),
        ("reminder", "en_US"),
        ("welcome", "en_US"),
        ("welcome", "pt_BR"),
    ]
    .map(|(n, l)| (Some(n.to_owned()), Some(l.to_owned())));
    assert_eq!(order, expected);
    assert!(store.list_templates(&[]).await.expect("list").is_empty());
}

pub async fn templates_unknown_account_not_found(store: DynStore) {
    let result = store
        .sync_templates(
            &AccountId::generate(),
            vec![template("x", "x", "en", "APPROVED")],
            T0,
        )
        .await;
    assert!(matches!(result, Err(StoreError::NotFound(_))), "{result:?}");
}

pub async fn template_status_enqueues_sync(store: DynStore) {
    let t = tenant(&store, "tpl-job").await;
    let mut sibling = new_account(&t.owner, "tpl-job-sibling");
    sibling.waba_id = t.account.waba_id.clone();
    let sibling = store.create_account(sibling).await.expect("sibling");
    let update = IngestItem::TemplateStatus(TemplateStatusUpdate {
        waba_id: t.account.waba_id.clone(),
        meta_template_id: "tmpl-7".to_owned(),
        name: Some("welcome".to_owned()),
        language: Some("en_US".to_owned()),
        status: "APPROVED".to_owned(),
        reason: None,
    });
    ingest(&store, vec![update.clone()]).await;
    ingest(&store, vec![update]).await;

    let listed = listed(&store, &t.account.id).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].1, "APPROVED");
    assert_eq!(listed[0].2, None, "a status webhook carries no components");

    let jobs = store
        .claim_jobs(&["template_sync"], LATER, 60, 10)
        .await
        .expect("claim");
    assert_eq!(jobs.len(), 2, "one queued sync per account: {jobs:?}");
    let mut accounts: Vec<AccountId> = jobs.iter().filter_map(|j| j.account_id.clone()).collect();
    accounts.sort();
    let mut expected = vec![t.account.id.clone(), sibling.id.clone()];
    expected.sort();
    assert_eq!(accounts, expected);
    for job in &jobs {
        let payload: serde_json::Value =
            serde_json::from_str(&job.payload_json).expect("JSON payload");
        let account = job.account_id.as_ref().expect("account");
        assert_eq!(payload, serde_json::json!({ "accountId": account }));
        assert_eq!(job.max_attempts, 5);
        assert_eq!(job.attempts, 1);
    }
}
