//! Users, accounts and memberships.

use pons::store::{AccountId, DynStore, NewUser, Role, StoreError, UserId};

use super::{new_account, tenant};

pub async fn user_create_and_find(store: DynStore) {
    let user = store
        .create_user(NewUser {
            email: "Ada@Example.com".to_owned(),
            password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()),
        })
        .await
        .expect("create user");
    assert_eq!(user.email, "Ada@Example.com");

    let found = store
        .find_user_by_email("ada@example.COM")
        .await
        .expect("find user")
        .expect("user found regardless of case");
    assert_eq!(found.id, user.id);
    assert_eq!(found.email, "Ada@Example.com");
    assert_eq!(found.created_at, user.created_at);

    let missing = store
        .find_user_by_email("nobody@example.com")
        .await
        .expect("find");
    assert!(missing.is_none());
}

pub async fn user_email_conflict_ignores_case(store: DynStore) {
    let new = |email: &str| NewUser {
        email: email.to_owned(),
        password_hash: None,
    };
    store
        .create_user(new("grace@example.com"))
        .await
        .expect("first user");
    let error = store
        .create_user(new("GRACE@example.com"))
        .await
        .expect_err("same email in other case must conflict");
    assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");
}

pub async fn account_create_adds_owner(store: DynStore) {
    let t = tenant(&store, "owner").await;
    assert_eq!(t.account.phone_number_id, "pnid-owner");
    assert_eq!(t.account.token_invalid_at, None);

    let reachable = store
        .reachable_accounts(&t.owner.id, &[])
        .await
        .expect("reachable accounts");
    let ids: Vec<_> = reachable.iter().map(|a| a.id.clone()).collect();
    assert_eq!(ids, vec![t.account.id.clone()]);
}

pub async fn account_phone_number_id_conflict(store: DynStore) {
    let t = tenant(&store, "dup").await;
    let mut again = new_account(&t.owner, "dup");
    again.phone_number = "15559990000".to_owned();
    let error = store
        .create_account(again)
        .await
        .expect_err("same phone number id must conflict");
    assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");
    assert_eq!(store.list_accounts().await.expect("list").len(), 1);
}

pub async fn account_unknown_owner_not_found(store: DynStore) {
    let t = tenant(&store, "real").await;
    let mut ghost = t.owner.clone();
    ghost.id = UserId::generate();
    let error = store
        .create_account(new_account(&ghost, "ghost"))
        .await
        .expect_err("unknown owner");
    assert!(matches!(error, StoreError::NotFound(_)), "{error:?}");
    let accounts = store.list_accounts().await.expect("list");
    assert_eq!(accounts.len(), 1, "no account is stored without its owner");
}

pub async fn account_lookups(store: DynStore) {
    let a = tenant(&store, "alpha").await;
    let b = tenant(&store, "beta").await;

    let listed: Vec<_> = store
        .list_accounts()
        .await
        .expect("list")
        .into_iter()
        .map(|account| account.id)
        .collect();
    assert_eq!(listed, vec![a.account.id.clone(), b.account.id.clone()]);

    let by_id = store
        .find_account(a.account.id.as_str())
        .await
        .expect("find");
    assert_eq!(by_id.map(|account| account.id), Some(a.account.id.clone()));
    let by_phone = store
        .find_account(&b.account.phone_number)
        .await
        .expect("find");
    assert_eq!(
        by_phone.map(|account| account.id),
        Some(b.account.id.clone())
    );
    assert!(store.find_account("nope").await.expect("find").is_none());

    let by_pnid = store
        .accounts_by_phone_number_ids(&["pnid-beta".to_owned(), "pnid-none".to_owned()])
        .await
        .expect("by phone number id");
    assert_eq!(by_pnid.len(), 1);
    assert_eq!(by_pnid[0].account.id, b.account.id);
    assert_eq!(by_pnid[0].access_token_encrypted, b"token-beta".to_vec());
    assert_eq!(by_pnid[0].app_secret_encrypted, b"secret-beta".to_vec());
    assert_eq!(by_pnid[0].verify_token, "verify-beta");

    let by_waba = store
        .accounts_by_waba_ids(&["waba-alpha".to_owned()])
        .await
        .expect("by waba");
    assert_eq!(by_waba.len(), 1);
    assert_eq!(by_waba[0].account.id, a.account.id);
    assert!(
        store
            .accounts_by_waba_ids(&[])
            .await
            .expect("empty")
            .is_empty()
    );

    let mut tokens = store.verify_tokens().await.expect("verify tokens");
    tokens.sort();
    assert_eq!(
        tokens,
        vec!["verify-alpha".to_owned(), "verify-beta".to_owned()]
    );
}

pub async fn token_invalid_set_and_clear(store: DynStore) {
    let t = tenant(&store, "token").await;
    store
        .set_token_invalid(&t.account.id, Some(1234))
        .await
        .expect("mark invalid");
    let account = store
        .find_account(t.account.id.as_str())
        .await
        .expect("find");
    assert_eq!(account.and_then(|a| a.token_invalid_at), Some(1234));

    store
        .set_token_invalid(&t.account.id, None)
        .await
        .expect("clear");
    let account = store
        .find_account(t.account.id.as_str())
        .await
        .expect("find");
    assert_eq!(account.and_then(|a| a.token_invalid_at), None);

    let unknown = pons::store::AccountId::generate();
    let error = store
        .set_token_invalid(&unknown, Some(1))
        .await
        .expect_err("unknown account");
    assert!(matches!(error, StoreError::NotFound(_)), "{error:?}");
}

pub async fn account_secrets_replaced(store: DynStore) {
    let t = tenant(&store, "rotate").await;
    let before = store.account_secrets(&t.account.id).await.expect("secrets");
    store
        .set_token_invalid(&t.account.id, Some(99))
        .await
        .expect("mark invalid");

    store
        .update_account_secrets(&t.account.id, None, Some(b"new-secret".to_vec()))
        .await
        .expect("new app secret");
    let after_secret = store.account_secrets(&t.account.id).await.expect("secrets");
    assert_eq!(after_secret.app_secret_encrypted, b"new-secret");
    assert_eq!(
        after_secret.access_token_encrypted,
        before.access_token_encrypted
    );
    assert_eq!(after_secret.account.token_invalid_at, Some(99));

    store
        .update_account_secrets(&t.account.id, Some(b"new-token".to_vec()), None)
        .await
        .expect("new token");
    let after_token = store.account_secrets(&t.account.id).await.expect("secrets");
    assert_eq!(after_token.access_token_encrypted, b"new-token");
    assert_eq!(after_token.app_secret_encrypted, b"new-secret");
    assert_eq!(after_token.account.token_invalid_at, None);

    let unknown = pons::store::AccountId::generate();
    let error = store
        .update_account_secrets(&unknown, Some(b"x".to_vec()), None)
        .await
        .expect_err("unknown account");
    assert!(matches!(error, StoreError::NotFound(_)), "{error:?}");
}

pub async fn member_upsert_and_remove(store: DynStore) {
    let t = tenant(&store, "team").await;
    let member = store
        .create_user(NewUser {
            email: "member@example.com".to_owned(),
            password_hash: None,
        })
        .await
        .expect("create member");
    let reachable = |store: DynStore, user: UserId| async move {
        store
            .reachable_accounts(&user, &[])
            .await
            .expect("reachable")
            .len()
    };
    assert_eq!(reachable(store.clone(), member.id.clone()).await, 0);

    store
        .upsert_member(&t.account.id, &member.id, Role::Member)
        .await
        .expect("add member");
    store
        .upsert_member(&t.account.id, &member.id, Role::Admin)
        .await
        .expect("change role");
    assert_eq!(reachable(store.clone(), member.id.clone()).await, 1);
    let listed: Vec<(String, Role)> = store
        .list_members(&t.account.id)
        .await
        .expect("list members")
        .into_iter()
        .map(|m| (m.user.email, m.role))
        .collect();
    assert_eq!(
        listed,
        [
            (t.owner.email.clone(), Role::Owner),
            ("member@example.com".to_owned(), Role::Admin)
        ],
        "owners first"
    );

    store
        .remove_member(&t.account.id, &member.id)
        .await
        .expect("remove member");
    assert_eq!(reachable(store.clone(), member.id.clone()).await, 0);
    let listed = store.list_members(&t.account.id).await.expect("list");
    assert_eq!(listed.len(), 1, "only the owner is left");
    let error = store
        .remove_member(&t.account.id, &member.id)
        .await
        .expect_err("removing twice");
    assert!(matches!(error, StoreError::NotFound(_)), "{error:?}");
}

pub async fn member_changes_keep_an_owner(store: DynStore) {
    let t = tenant(&store, "owners").await;
    let demoted = store
        .upsert_member(&t.account.id, &t.owner.id, Role::Admin)
        .await;
    assert!(
        matches!(demoted, Err(StoreError::Invalid(_))),
        "{demoted:?}"
    );
    let removed = store.remove_member(&t.account.id, &t.owner.id).await;
    assert!(
        matches!(removed, Err(StoreError::Invalid(_))),
        "{removed:?}"
    );

    let second = store
        .create_user(NewUser {
            email: "second-owner@example.com".to_owned(),
            password_hash: None,
        })
        .await
        .expect("create second owner");
    store
        .upsert_member(&t.account.id, &second.id, Role::Owner)
        .await
        .expect("second owner");
    // Both owners removed at once: one removal must fail.
    let (first, other) = tokio::join!(
        store.remove_member(&t.account.id, &t.owner.id),
        store.remove_member(&t.account.id, &second.id)
    );
    assert_eq!(
        usize::from(first.is_ok()) + usize::from(other.is_ok()),
        1,
        "{first:?} {other:?}"
    );
    let owners = store
        .list_members(&t.account.id)
        .await
        .expect("list")
        .into_iter()
        .filter(|m| m.role == Role::Owner)
        .count();
    assert_eq!(owners, 1);
}

pub async fn member_unknown_account_not_found(store: DynStore) {
    let t = tenant(&store, "known").await;
    let unknown_account = pons::store::AccountId::generate();
    let error = store
        .upsert_member(&unknown_account, &t.owner.id, Role::Member)
        .await
        .expect_err("unknown account");
    assert!(matches!(error, StoreError::NotFound(_)), "{error:?}");

    let unknown_user = UserId::generate();
    let error = store
        .upsert_member(&t.account.id, &unknown_user, Role::Member)
        .await
        .expect_err("unknown user");
    assert!(matches!(error, StoreError::NotFound(_)), "{error:?}");
}

pub async fn reachable_accounts_narrowed(store: DynStore) {
    let a = tenant(&store, "one").await;
    let b = tenant(&store, "two").await;
    let c = tenant(&store, "three").await;
    let user = &a.owner.id;
    store
        .upsert_member(&b.account.id, user, Role::Member)
        .await
        .expect("join b");

    let all: Vec<_> = store
        .reachable_accounts(user, &[])
        .await
        .expect("all")
        .into_iter()
        .map(|account| account.id)
        .collect();
    assert_eq!(all, vec![a.account.id.clone(), b.account.id.clone()]);

    // `c` is named but the user is not a member, so it stays out.
    let only = [b.account.id.clone(), c.account.id.clone()];
    let narrowed: Vec<_> = store
        .reachable_accounts(user, &only)
        .await
        .expect("narrowed")
        .into_iter()
        .map(|account| account.id)
        .collect();
    assert_eq!(narrowed, vec![b.account.id.clone()]);
}

pub async fn account_secrets_found_and_missing(store: DynStore) {
    let t = tenant(&store, "secrets").await;
    let secrets = store
        .account_secrets(&t.account.id)
        .await
        .expect("account secrets");
    assert_eq!(secrets.account.id, t.account.id);
    assert_eq!(secrets.account.phone_number, t.account.phone_number);
    assert_eq!(secrets.access_token_encrypted, b"token-secrets".to_vec());
    assert_eq!(secrets.app_secret_encrypted, b"secret-secrets".to_vec());
    assert_eq!(secrets.verify_token, "verify-secrets");

    let missing = store.account_secrets(&AccountId::generate()).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
}
