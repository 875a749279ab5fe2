//! API keys. Scopes are stored comma-separated, and the accounts a key is
//! limited to are rows of `api_key_accounts`.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::admin::{require_account, require_user};
use super::error::conflict_on_unique;
use super::unix_now;
use crate::echo::echoed;
use crate::store::{
    AccountId, ApiKey, ApiKeyId, NewApiKey, StoreError, StoreResult, UnixTime, UserId,
};

/// Columns and joins read by `api_key`. The last column lists the key's
/// accounts comma-separated, which is safe because ids are UUIDs.
const API_KEY_SELECT: &str = "SELECT k.id, k.user_id, u.email, k.name, k.key_hash, k.prefix, \
     k.scopes, k.expires_at, k.last_used_at, k.revoked_at, k.created_at, \
     (SELECT group_concat(ka.account_id) FROM api_key_accounts ka WHERE ka.api_key_id = k.id) \
     FROM api_keys k JOIN users u ON u.id = k.user_id";

pub(super) fn create_api_key(conn: &Connection, key: NewApiKey) -> StoreResult<ApiKey> {
    if let Some(bad) = key.scopes.iter().find(|s| s.is_empty() || s.contains(',')) {
        return Err(StoreError::Invalid(format!("scope {bad:?}")));
    }
    require_user(conn, &key.user_id)?;
    for account in &key.accounts {
        require_account(conn, account)?;
    }
    let id = ApiKeyId::generate();
    conn.prepare_cached(
        "INSERT INTO api_keys (id, user_id, name, key_hash, prefix, scopes, expires_at, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        id.as_str(),
        key.user_id.as_str(),
        key.name,
        &key.key_hash[..],
        key.prefix,
        key.scopes.join(","),
        key.expires_at,
        unix_now(),
    ])
    .map_err(conflict_on_unique("API key with this hash".to_owned()))?;
    let mut link = conn.prepare_cached(
        "INSERT INTO api_key_accounts (api_key_id, account_id) VALUES (?1, ?2) \
         ON CONFLICT DO NOTHING",
    )?;
    for account in &key.accounts {
        link.execute([id.as_str(), account.as_str()])?;
    }
    find_by_id(conn, &id)?.ok_or_else(|| StoreError::NotFound(format!("API key {id}")))
}

pub(super) fn find_by_hash(conn: &Connection, hash: &[u8; 32]) -> StoreResult<Option<ApiKey>> {
    let sql = format!("{API_KEY_SELECT} WHERE k.key_hash = ?1");
    let key = conn
        .prepare_cached(&sql)?
        .query_row([&hash[..]], api_key)
        .optional()?;
    Ok(key)
}

fn find_by_id(conn: &Connection, id: &ApiKeyId) -> StoreResult<Option<ApiKey>> {
    let sql = format!("{API_KEY_SELECT} WHERE k.id = ?1");
    let key = conn
        .prepare_cached(&sql)?
        .query_row([id.as_str()], api_key)
        .optional()?;
    Ok(key)
}

pub(super) fn list_api_keys(conn: &Connection) -> StoreResult<Vec<ApiKey>> {
    let sql = format!("{API_KEY_SELECT} ORDER BY k.created_at, k.id");
    let keys = conn
        .prepare_cached(&sql)?
        .query_map([], api_key)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(keys)
}

/// Revokes the one key whose id or display prefix is `id_or_prefix`. A key
/// revoked earlier keeps its first revocation time.
pub(super) fn revoke_api_key(
    conn: &Connection,
    id_or_prefix: &str,
    at: UnixTime,
) -> StoreResult<ApiKey> {
    let matches: Vec<String> = conn
        .prepare_cached("SELECT id FROM api_keys WHERE id = ?1 OR prefix = ?1 LIMIT 2")?
        .query_map([id_or_prefix], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
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
    conn.prepare_cached("UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1")?
        .execute(params![id.as_str(), at])?;
    find_by_id(conn, &id)?.ok_or_else(|| StoreError::NotFound(format!("API key {id}")))
}

/// Records a use of the key. `last_used_at` never moves backwards.
pub(super) fn touch_api_key(conn: &Connection, id: &ApiKeyId, at: UnixTime) -> StoreResult<()> {
    let changed = conn
        .prepare_cached(
            "UPDATE api_keys SET last_used_at = max(coalesce(last_used_at, ?2), ?2) WHERE id = ?1",
        )?
        .execute(params![id.as_str(), at])?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("API key {id}")));
    }
    Ok(())
}

fn api_key(row: &Row<'_>) -> rusqlite::Result<ApiKey> {
    let scopes: String = row.get(6)?;
    let accounts: Option<String> = row.get(11)?;
    let mut accounts: Vec<AccountId> = accounts
        .iter()
        .flat_map(|list| list.split(','))
        .map(|id| AccountId(id.to_owned()))
        .collect();
    accounts.sort();
    Ok(ApiKey {
        id: ApiKeyId(row.get(0)?),
        user_id: UserId(row.get(1)?),
        user_email: row.get(2)?,
        name: row.get(3)?,
        key_hash: row.get(4)?,
        prefix: row.get(5)?,
        scopes: scopes
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        expires_at: row.get(7)?,
        last_used_at: row.get(8)?,
        revoked_at: row.get(9)?,
        created_at: row.get(10)?,
        accounts,
    })
}
