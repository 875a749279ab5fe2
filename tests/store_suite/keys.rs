//! API keys.

use pons::store::{AccountId, ApiKeyId, DynStore, NewApiKey, StoreError, UserId};

use super::tenant;

fn new_key(user: &UserId, seed: u8, prefix: &str, accounts: Vec<AccountId>) -> NewApiKey {
    NewApiKey {
        user_id: user.clone(),
        name: format!("key {seed}"),
        key_hash: [seed; 32],
        prefix: prefix.to_owned(),
        scopes: vec!["read".to_owned(), "send".to_owned()],
        expires_at: Some(2_000_000_000),
        accounts,
    }
}

pub async fn api_key_create_and_find(store: DynStore) {
    let t = tenant(&store, "keys").await;
    let limited = vec![t.account.id.clone()];
    let key = store
        .create_api_key(new_key(&t.owner.id, 1, "pons_AAAAAAA", limited.clone()))
        .await
        .expect("create key");
    assert_eq!(key.user_id, t.owner.id);
    assert_eq!(key.user_email, t.owner.email);
    assert_eq!(key.scopes, vec!["read".to_owned(), "send".to_owned()]);
    assert_eq!(key.accounts, limited);
    assert_eq!(key.expires_at, Some(2_000_000_000));
    assert_eq!(key.revoked_at, None);
    assert_eq!(key.last_used_at, None);

    let found = store
        .find_api_key_by_hash(&[1; 32])
        .await
        .expect("find by hash")
        .expect("key found");
    assert_eq!(found.id, key.id);
    assert_eq!(found.key_hash, [1; 32]);
    assert_eq!(found.prefix, "pons_AAAAAAA");
    assert_eq!(found.accounts, limited);
    assert!(
        store
            .find_api_key_by_hash(&[9; 32])
            .await
            .expect("find")
            .is_none()
    );

    let unlimited = store
        .create_api_key(new_key(&t.owner.id, 2, "pons_BBBBBBB", Vec::new()))
        .await
        .expect("create unlimited key");
    assert!(unlimited.accounts.is_empty());

    let listed: Vec<_> = store
        .list_api_keys()
        .await
        .expect("list keys")
        .into_iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(listed, vec![key.id, unlimited.id]);
}

pub async fn api_key_conflicts_and_unknowns(store: DynStore) {
    let t = tenant(&store, "conflict").await;
    store
        .create_api_key(new_key(&t.owner.id, 3, "pons_CCCCCCC", Vec::new()))
        .await
        .expect("first key");
    let error = store
        .create_api_key(new_key(&t.owner.id, 3, "pons_DDDDDDD", Vec::new()))
        .await
        .expect_err("same hash must conflict");
    assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");

    let error = store
        .create_api_key(new_key(
            &t.owner.id,
            4,
            "pons_EEEEEEE",
            vec![AccountId::generate()],
        ))
        .await
        .expect_err("unknown account");
    assert!(matches!(error, StoreError::NotFound(_)), "{error:?}");

    let error = store
        .create_api_key(new_key(&UserId::generate(), 5, "pons_FFFFFFF", Vec::new()))
        .await
        .expect_err("unknown user");
    assert!(matches!(error, StoreError::NotFound(_)), "{error:?}");

    assert_eq!(store.list_api_keys().await.expect("list").len(), 1);
}

pub async fn api_key_revoke_by_id_and_prefix(store: DynStore) {
    let t = tenant(&store, "revoke").await;
    let user = &t.owner.id;
    let first = store
        .create_api_key(new_key(user, 6, "pons_GGGGGGG", Vec::new()))
        .await
        .expect("first");
    let second = store
        .create_api_key(new_key(user, 7, "pons_HHHHHHH", Vec::new()))
        .await
        .expect("second");
    store
        .create_api_key(new_key(user, 8, "pons_SAMEEEE", Vec::new()))
        .await
        .expect("third");
    store
        .create_api_key(new_key(user, 9, "pons_SAMEEEE", Vec::new()))
        .await
        .expect("fourth");

    let revoked = store
        .revoke_api_key(first.id.as_str(), 100)
        .await
        .expect("revoke by id");
    assert_eq!(revoked.id, first.id);
    assert_eq!(revoked.revoked_at, Some(100));

    let revoked = store
        .revoke_api_key("pons_HHHHHHH", 200)
        .await
        .expect("revoke by prefix");
    assert_eq!(revoked.id, second.id);
    assert_eq!(revoked.revoked_at, Some(200));

    let again = store
        .revoke_api_key(first.id.as_str(), 300)
        .await
        .expect("revoke again");
    assert_eq!(again.revoked_at, Some(100), "first revocation time is kept");

    let error = store
        .revoke_api_key("pons_SAMEEEE", 400)
        .await
        .expect_err("ambiguous prefix");
    assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");
    let error = store
        .revoke_api_key("pons_NOTHERE", 400)
        .await
        .expect_err("unknown key");
    assert!(matches!(error, StoreError::NotFound(_)), "{error:?}");

    // `pons key revoke` repeats the prefix it was given: escaped and cut.
    let typed = format!("pons_\u{1b}[31m\n{}", "Z".repeat(200));
    let error = store
        .revoke_api_key(&typed, 400)
        .await
        .expect_err("unknown key with control characters");
    let text = error.to_string();
    assert!(matches!(error, StoreError::NotFound(_)), "{error:?}");
    assert!(text.contains(r#"API key "pons_\u{1b}[31m\nZZZ"#), "{text}");
    assert!(!text.contains('\u{1b}'), "{text:?}");
    assert!(!text.contains('\n'), "{text:?}");
    assert!(text.len() < 200, "{text}");

    let found = store
        .find_api_key_by_hash(&[6; 32])
        .await
        .expect("find")
        .expect("revoked key is still found");
    assert_eq!(found.revoked_at, Some(100));
}

pub async fn api_key_touch(store: DynStore) {
    let t = tenant(&store, "touch").await;
    let key = store
        .create_api_key(new_key(&t.owner.id, 10, "pons_IIIIIII", Vec::new()))
        .await
        .expect("create");
    store.touch_api_key(&key.id, 500).await.expect("touch");
    let found = store
        .find_api_key_by_hash(&[10; 32])
        .await
        .expect("find")
        .expect("key");
    assert_eq!(found.last_used_at, Some(500));

    let error = store
        .touch_api_key(&ApiKeyId::generate(), 500)
        .await
        .expect_err("unknown key");
    assert!(matches!(error, StoreError::NotFound(_)), "{error:?}");
}
