//! Users, accounts and memberships on PostgreSQL.

use sqlx::{PgConnection, PgPool, Row};

use super::rows::{self, account_columns};
use super::{account_ids, backend, conflict_on_unique, now};
use crate::store::*;

/// Inserts a user. The unique index on `lower(email)` rejects a taken email.
pub(crate) async fn create_user(pool: &PgPool, user: NewUser) -> StoreResult<User> {
    let created = User {
        id: UserId::generate(),
        email: user.email,
        created_at: now(),
    };
    sqlx::query("INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)")
        .bind(created.id.as_str())
        .bind(&created.email)
        .bind(&user.password_hash)
        .bind(created.created_at)
        .execute(pool)
        .await
        .map_err(|e| conflict_on_unique(e, format!("user with email {}", created.email)))?;
    Ok(created)
}

pub(crate) async fn find_user_by_email(pool: &PgPool, email: &str) -> StoreResult<Option<User>> {
    let row = sqlx::query("SELECT id, email, created_at FROM users WHERE lower(email) = lower($1)")
        .bind(email)
        .fetch_optional(pool)
        .await
        .map_err(backend)?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(User {
        id: UserId(row.try_get("id").map_err(backend)?),
        email: row.try_get("email").map_err(backend)?,
        created_at: row.try_get("created_at").map_err(backend)?,
    }))
}

/// Inserts the account and its owner's membership in one transaction.
pub(crate) async fn create_account(pool: &PgPool, new: NewAccount) -> StoreResult<Account> {
    let account = Account {
        id: AccountId::generate(),
        name: new.name,
        waba_id: new.waba_id,
        phone_number_id: new.phone_number_id,
        phone_number: new.phone_number,
        display_name: new.display_name,
        token_invalid_at: None,
        created_at: now(),
    };
    let mut tx = pool.begin().await.map_err(backend)?;
    require_user(&mut tx, &new.owner).await?;
    sqlx::query(
        "INSERT INTO accounts (id, name, waba_id, phone_number_id, phone_number, display_name, \
         access_token_encrypted, app_secret_encrypted, verify_token, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(account.id.as_str())
    .bind(&account.name)
    .bind(&account.waba_id)
    .bind(&account.phone_number_id)
    .bind(&account.phone_number)
    .bind(&account.display_name)
    .bind(&new.access_token_encrypted)
    .bind(&new.app_secret_encrypted)
    .bind(&new.verify_token)
    .bind(account.created_at)
    .execute(&mut *tx)
    .await
    .map_err(|e| {
        conflict_on_unique(
            e,
            format!("account with phone number id {}", account.phone_number_id),
        )
    })?;
    insert_member(&mut tx, &account.id, &new.owner, Role::Owner).await?;
    tx.commit().await.map_err(backend)?;
    Ok(account)
}

pub(crate) async fn list_accounts(pool: &PgPool) -> StoreResult<Vec<Account>> {
    let sql = concat!(
        "SELECT ",
        account_columns!(),
        " FROM accounts a ORDER BY a.created_at, a.id"
    );
    let rows = sqlx::query(sql).fetch_all(pool).await.map_err(backend)?;
    rows.iter().map(rows::account).collect()
}

/// Finds an account by id or, failing that, the oldest one with these E.164 digits.
pub(crate) async fn find_account(pool: &PgPool, id_or_phone: &str) -> StoreResult<Option<Account>> {
    let sql = concat!(
        "SELECT ",
        account_columns!(),
        " FROM accounts a WHERE a.id = $1 OR a.phone_number = $1 \
         ORDER BY a.id = $1 DESC, a.created_at, a.id LIMIT 1"
    );
    let row = sqlx::query(sql)
        .bind(id_or_phone)
        .fetch_optional(pool)
        .await
        .map_err(backend)?;
    row.as_ref().map(rows::account).transpose()
}

/// The column an account lookup with secrets matches on.
#[derive(Clone, Copy, Debug)]
pub(crate) enum AccountKey {
    PhoneNumberId,
    WabaId,
}

/// Accounts with their secrets whose `key` column is one of `values`.
pub(crate) async fn secrets_where(
    pool: &PgPool,
    key: AccountKey,
    values: &[String],
) -> StoreResult<Vec<AccountSecrets>> {
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let sql = match key {
        AccountKey::PhoneNumberId => concat!(
            "SELECT ",
            account_columns!(),
            ", a.access_token_encrypted, a.app_secret_encrypted, a.verify_token \
             FROM accounts a WHERE a.phone_number_id = ANY($1) ORDER BY a.created_at, a.id"
        ),
        AccountKey::WabaId => concat!(
            "SELECT ",
            account_columns!(),
            ", a.access_token_encrypted, a.app_secret_encrypted, a.verify_token \
             FROM accounts a WHERE a.waba_id = ANY($1) ORDER BY a.created_at, a.id"
        ),
    };
    let rows = sqlx::query(sql)
        .bind(values)
        .fetch_all(pool)
        .await
        .map_err(backend)?;
    rows.iter().map(rows::account_secrets).collect()
}

/// Returns an account with its encrypted secrets; `NotFound` when missing.
pub(crate) async fn account_secrets(
    pool: &PgPool,
    account: &AccountId,
) -> StoreResult<AccountSecrets> {
    let sql = concat!(
        "SELECT ",
        account_columns!(),
        ", a.access_token_encrypted, a.app_secret_encrypted, a.verify_token \
         FROM accounts a WHERE a.id = $1"
    );
    let row = sqlx::query(sql)
        .bind(account.as_str())
        .fetch_optional(pool)
        .await
        .map_err(backend)?
        .ok_or_else(|| StoreError::NotFound(format!("account {account}")))?;
    rows::account_secrets(&row)
}

pub(crate) async fn verify_tokens(pool: &PgPool) -> StoreResult<Vec<String>> {
    sqlx::query_scalar("SELECT DISTINCT verify_token FROM accounts ORDER BY verify_token")
        .fetch_all(pool)
        .await
        .map_err(backend)
}

pub(crate) async fn set_token_invalid(
    pool: &PgPool,
    account: &AccountId,
    at: Option<UnixTime>,
) -> StoreResult<()> {
    let done = sqlx::query("UPDATE accounts SET token_invalid_at = $2 WHERE id = $1")
        .bind(account.as_str())
        .bind(at)
        .execute(pool)
        .await
        .map_err(backend)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("account {account}")));
    }
    Ok(())
}

pub(crate) async fn update_account_secrets(
    pool: &PgPool,
    account: &AccountId,
    access_token: Option<&[u8]>,
    app_secret: Option<&[u8]>,
) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE accounts SET \
           access_token_encrypted = coalesce($2, access_token_encrypted), \
           app_secret_encrypted = coalesce($3, app_secret_encrypted), \
           token_invalid_at = CASE WHEN $2::bytea IS NULL THEN token_invalid_at END \
         WHERE id = $1",
    )
    .bind(account.as_str())
    .bind(access_token)
    .bind(app_secret)
    .execute(pool)
    .await
    .map_err(backend)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("account {account}")));
    }
    Ok(())
}

/// Fails with `NotFound` unless the user exists.
pub(crate) async fn require_user(conn: &mut PgConnection, user: &UserId) -> StoreResult<()> {
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM users WHERE id = $1")
        .bind(user.as_str())
        .fetch_optional(conn)
        .await
        .map_err(backend)?;
    found
        .map(drop)
        .ok_or_else(|| StoreError::NotFound(format!("user {user}")))
}

/// Fails with `NotFound` unless the account exists.
pub(crate) async fn require_account(
    conn: &mut PgConnection,
    account: &AccountId,
) -> StoreResult<()> {
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM accounts WHERE id = $1")
        .bind(account.as_str())
        .fetch_optional(conn)
        .await
        .map_err(backend)?;
    found
        .map(drop)
        .ok_or_else(|| StoreError::NotFound(format!("account {account}")))
}

/// Adds the membership or changes its role, inside the caller's transaction.
async fn insert_member(
    conn: &mut PgConnection,
    account: &AccountId,
    user: &UserId,
    role: Role,
) -> StoreResult<()> {
    require_account(conn, account).await?;
    require_user(conn, user).await?;
    sqlx::query(
        "INSERT INTO account_members (account_id, user_id, role, created_at) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (account_id, user_id) DO UPDATE SET role = excluded.role",
    )
    .bind(account.as_str())
    .bind(user.as_str())
    .bind(role.as_str())
    .bind(now())
    .execute(conn)
    .await
    .map_err(backend)?;
    Ok(())
}

pub(crate) async fn upsert_member(
    pool: &PgPool,
    account: &AccountId,
    user: &UserId,
    role: Role,
) -> StoreResult<()> {
    let mut tx = pool.begin().await.map_err(backend)?;
    if role != Role::Owner {
        keep_an_owner(account, &locked_owners(&mut tx, account).await?, user)?;
    }
    insert_member(&mut tx, account, user, role).await?;
    tx.commit().await.map_err(backend)
}

/// Returns the owners of `account` and locks their membership rows until
/// the transaction ends. Two concurrent removals of two owners then run
/// one after the other, and the second finds one owner left.
async fn locked_owners(conn: &mut PgConnection, account: &AccountId) -> StoreResult<Vec<UserId>> {
    let owners: Vec<String> = sqlx::query_scalar(
        "SELECT user_id FROM account_members WHERE account_id = $1 AND role = 'owner' \
         FOR UPDATE",
    )
    .bind(account.as_str())
    .fetch_all(conn)
    .await
    .map_err(backend)?;
    Ok(owners.into_iter().map(UserId).collect())
}

pub(crate) async fn list_members(pool: &PgPool, account: &AccountId) -> StoreResult<Vec<Member>> {
    let rows = sqlx::query(
        "SELECT u.id, u.email, u.created_at AS user_created_at, m.role, m.created_at \
         FROM account_members m JOIN users u ON u.id = m.user_id \
         WHERE m.account_id = $1 \
         ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, lower(u.email)",
    )
    .bind(account.as_str())
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    rows.iter()
        .map(|row| {
            let role: String = row.try_get("role").map_err(backend)?;
            Ok(Member {
                user: User {
                    id: UserId(row.try_get("id").map_err(backend)?),
                    email: row.try_get("email").map_err(backend)?,
                    created_at: row.try_get("user_created_at").map_err(backend)?,
                },
                role: Role::parse(&role)
                    .ok_or_else(|| StoreError::Backend(format!("unknown role {role:?}")))?,
                since: row.try_get("created_at").map_err(backend)?,
            })
        })
        .collect()
}

pub(crate) async fn remove_member(
    pool: &PgPool,
    account: &AccountId,
    user: &UserId,
) -> StoreResult<()> {
    let mut tx = pool.begin().await.map_err(backend)?;
    keep_an_owner(account, &locked_owners(&mut tx, account).await?, user)?;
    let done = sqlx::query("DELETE FROM account_members WHERE account_id = $1 AND user_id = $2")
        .bind(account.as_str())
        .bind(user.as_str())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!(
            "membership of user {user} in account {account}"
        )));
    }
    tx.commit().await.map_err(backend)
}

/// Accounts the user is a member of, intersected with `only` when it is not empty.
pub(crate) async fn reachable_accounts(
    pool: &PgPool,
    user: &UserId,
    only: &[AccountId],
) -> StoreResult<Vec<Account>> {
    let sql = concat!(
        "SELECT ",
        account_columns!(),
        " FROM accounts a JOIN account_members am ON am.account_id = a.id \
         WHERE am.user_id = $1 AND (cardinality($2::text[]) = 0 OR a.id = ANY($2)) \
         ORDER BY a.created_at, a.id"
    );
    let rows = sqlx::query(sql)
        .bind(user.as_str())
        .bind(account_ids(only))
        .fetch_all(pool)
        .await
        .map_err(backend)?;
    rows.iter().map(rows::account).collect()
}
