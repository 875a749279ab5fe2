//! API keys on PostgreSQL: only their SHA-256 is stored, with the accounts
//! a key is limited to in `api_key_accounts`.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};

use super::accounts::{require_account, require_user};
use super::{backend, conflict_on_unique, now};
use crate::echo::echoed;
use crate::store::*;

/// Key columns (alias `k`) with the owner's email and the limited accounts
/// aggregated, as `api_key` reads them.
macro_rules! key_select {
    () => {
        "SELECT k.id, k.user_id, u.email, k.name, k.key_hash, k.prefix, k.scopes, \
         k.expires_at, k.last_used_at, k.revoked_at, k.created_at, \
         ARRAY(SELECT ka.account_id FROM api_key_accounts ka \
               WHERE ka.api_key_id = k.id) AS accounts \
         FROM api_keys k JOIN users u ON u.id = k.user_id "
    };
}

/// Splits the stored comma-separated scopes, dropping empty parts.
fn split_scopes(scopes: &str) -> Vec<String> {
    scopes
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn api_key(row: &PgRow) -> StoreResult<ApiKey> {
    let hash: Vec<u8> = row.try_get("key_hash").map_err(backend)?;
    let key_hash: [u8; 32] = hash.try_into().map_err(|bytes: Vec<u8>| {
        StoreError::Backend(format!(
            "API key hash has {} bytes, expected 32",
            bytes.len()
        ))
    })?;
    let scopes: String = row.try_get("scopes").map_err(backend)?;
    let mut accounts: Vec<String> = row.try_get("accounts").map_err(backend)?;
    accounts.sort();
    Ok(ApiKey {
        id: ApiKeyId(row.try_get("id").map_err(backend)?),
        user_id: UserId(row.try_get("user_id").map_err(backend)?),
        user_email: row.try_get("email").map_err(backend)?,
        name: row.try_get("name").map_err(backend)?,
        key_hash,
        prefix: row.try_get("prefix").map_err(backend)?,
        scopes: split_scopes(&scopes),
        expires_at: row.try_get("expires_at").map_err(backend)?,
        last_used_at: row.try_get("last_used_at").map_err(backend)?,
        revoked_at: row.try_get("revoked_at").map_err(backend)?,
        created_at: row.try_get("created_at").map_err(backend)?,
        accounts: accounts.into_iter().map(AccountId).collect(),
    })
}

async fn key_by_id(conn: &mut PgConnection, id: &ApiKeyId) -> StoreResult<ApiKey> {
    let row = sqlx::query(concat!(key_select!(), "WHERE k.id = $1"))
        .bind(id.as_str())
        .fetch_optional(conn)
        .await
        .map_err(backend)?;
    match row {
        Some(row) => api_key(&row),
        None => Err(StoreError::NotFound(format!("API key {id}"))),
    }
}

/// Inserts the key and its account limits in one transaction. `Invalid`
/// for a scope that is empty or contains a comma, `NotFound` for a missing
/// user or account.
pub(crate) async fn create_api_key(pool: &PgPool, key: NewApiKey) -> StoreResult<ApiKey> {
    if let Some(bad) = key.scopes.iter().find(|s| s.is_empty() || s.contains(',')) {
        return Err(StoreError::Invalid(format!("scope {bad:?}")));
    }
    let id = ApiKeyId::generate();
    let mut tx = pool.begin().await.map_err(backend)?;
    require_user(&mut tx, &key.user_id).await?;
    for account in &key.accounts {
        require_account(&mut tx, account).await?;
    }
    sqlx::query(
        "INSERT INTO api_keys (id, user_id, name, key_hash, prefix, scopes, expires_at, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id.as_str())
    .bind(key.user_id.as_str())
    .bind(&key.name)
    .bind(&key.key_hash[..])
    .bind(&key.prefix)
    .bind(key.scopes.join(","))
    .bind(key.expires_at)
    .bind(now())
    .execute(&mut *tx)
    .await
    .map_err(|e| conflict_on_unique(e, "API key with this hash".to_owned()))?;
    for account in &key.accounts {
        sqlx::query(
            "INSERT INTO api_key_accounts (api_key_id, account_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(id.as_str())
        .bind(account.as_str())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    }
    let created = key_by_id(&mut tx, &id).await?;
    tx.commit().await.map_err(backend)?;
    Ok(created)
}

pub(crate) async fn find_api_key_by_hash(
    pool: &PgPool,
    hash: &[u8; 32],
) -> StoreResult<Option<ApiKey>> {
    let row = sqlx::query(concat!(key_select!(), "WHERE k.key_hash = $1"))
        .bind(&hash[..])
        .fetch_optional(pool)
        .await
        .map_err(backend)?;
    row.as_ref().map(api_key).transpose()
}

pub(crate) async fn list_api_keys(pool: &PgPool) -> StoreResult<Vec<ApiKey>> {
    let rows = sqlx::query(concat!(key_select!(), "ORDER BY k.created_at, k.id"))
        .fetch_all(pool)
        .await
        .map_err(backend)?;
    rows.iter().map(api_key).collect()
}

/// Revokes the one key whose id or display prefix is `id_or_prefix`. A
/// key revoked earlier keeps its first revocation time.
pub(crate) async fn revoke_api_key(
    pool: &PgPool,
    id_or_prefix: &str,
    at: UnixTime,
) -> StoreResult<ApiKey> {
    let mut tx = pool.begin().await.map_err(backend)?;
    let matches: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM api_keys WHERE id = $1 OR prefix = $1 ORDER BY id LIMIT 2 FOR UPDATE",
    )
    .bind(id_or_prefix)
    .fetch_all(&mut *tx)
    .await
    .map_err(backend)?;
    let id = match matches.as_slice() {
        [] => {
            let key = echoed(id_or_prefix);
            return Err(StoreError::NotFound(format!("API key \"{key}\"")));
        }
        [id] => ApiKeyId(id.clone()),
        _ => {
            return Err(StoreError::Conflict(format!(
                "more than one API key with prefix \"{}\"",
                echoed(id_or_prefix)
            )));
        }
    };
    sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1")
        .bind(id.as_str())
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    let revoked = key_by_id(&mut tx, &id).await?;
    tx.commit().await.map_err(backend)?;
    Ok(revoked)
}

/// Records a use of the key. `last_used_at` never moves backwards.
pub(crate) async fn touch_api_key(pool: &PgPool, id: &ApiKeyId, at: UnixTime) -> StoreResult<()> {
    let done =
        sqlx::query("UPDATE api_keys SET last_used_at = GREATEST(last_used_at, $2) WHERE id = $1")
            .bind(id.as_str())
            .bind(at)
            .execute(pool)
            .await
            .map_err(backend)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("API key {id}")));
    }
    Ok(())
}
