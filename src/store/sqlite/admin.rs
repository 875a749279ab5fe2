//! Users, accounts and memberships.

use rusqlite::{Connection, OptionalExtension, params};

use super::error::{conflict_on_unique, unexpected};
use super::rows::{self, ACCOUNT_COLUMNS, ACCOUNT_SECRET_COLUMNS};
use super::{json_ids, unix_now};
use crate::store::keep_an_owner;
use crate::store::{
    Account, AccountId, AccountSecrets, Member, NewAccount, NewUser, Role, StoreError, StoreResult,
    UnixTime, User, UserId,
};

pub(super) fn create_user(conn: &Connection, user: NewUser) -> StoreResult<User> {
    let row = User {
        id: UserId::generate(),
        email: user.email,
        created_at: unix_now(),
    };
    conn.prepare_cached(
        "INSERT INTO users (id, email, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        row.id.as_str(),
        row.email,
        user.password_hash,
        row.created_at
    ])
    .map_err(conflict_on_unique(format!("user with email {}", row.email)))?;
    Ok(row)
}

pub(super) fn find_user_by_email(conn: &Connection, email: &str) -> StoreResult<Option<User>> {
    let user = conn
        .prepare_cached("SELECT id, email, created_at FROM users WHERE lower(email) = lower(?1)")?
        .query_row([email], |row| {
            Ok(User {
                id: UserId(row.get(0)?),
                email: row.get(1)?,
                created_at: row.get(2)?,
            })
        })
        .optional()?;
    Ok(user)
}

/// Inserts the account and its owner's membership. Both run in the
/// caller's savepoint, so neither is stored without the other.
pub(super) fn create_account(conn: &Connection, new: NewAccount) -> StoreResult<Account> {
    require_user(conn, &new.owner)?;
    let account = Account {
        id: AccountId::generate(),
        name: new.name,
        waba_id: new.waba_id,
        phone_number_id: new.phone_number_id,
        phone_number: new.phone_number,
        display_name: new.display_name,
        token_invalid_at: None,
        created_at: unix_now(),
    };
    conn.prepare_cached(
        "INSERT INTO accounts (id, name, waba_id, phone_number_id, phone_number, display_name, \
         access_token_encrypted, app_secret_encrypted, verify_token, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        account.id.as_str(),
        account.name,
        account.waba_id,
        account.phone_number_id,
        account.phone_number,
        account.display_name,
        new.access_token_encrypted,
        new.app_secret_encrypted,
        new.verify_token,
        account.created_at,
    ])
    .map_err(conflict_on_unique(format!(
        "account with phone number id {}",
        account.phone_number_id
    )))?;
    upsert_member(conn, &account.id, &new.owner, Role::Owner)?;
    Ok(account)
}

pub(super) fn list_accounts(conn: &Connection) -> StoreResult<Vec<Account>> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts a ORDER BY a.created_at, a.id");
    let accounts = conn
        .prepare_cached(&sql)?
        .query_map([], rows::account)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(accounts)
}

/// Finds an account by id or, failing that, the oldest one with these E.164 digits.
pub(super) fn find_account(conn: &Connection, id_or_phone: &str) -> StoreResult<Option<Account>> {
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = ?1 OR a.phone_number = ?1 \
         ORDER BY a.id = ?1 DESC, a.created_at, a.id LIMIT 1"
    );
    let account = conn
        .prepare_cached(&sql)?
        .query_row([id_or_phone], rows::account)
        .optional()?;
    Ok(account)
}

/// Returns the accounts, with secrets, whose id of kind `column` is in `values`.
pub(super) fn accounts_with_secrets_by(
    conn: &Connection,
    column: AccountKey,
    values: &[String],
) -> StoreResult<Vec<AccountSecrets>> {
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let column = match column {
        AccountKey::PhoneNumberId => "phone_number_id",
        AccountKey::WabaId => "waba_id",
    };
    let sql = format!(
        "SELECT {ACCOUNT_SECRET_COLUMNS} FROM accounts a \
         WHERE a.{column} IN (SELECT value FROM json_each(?1)) ORDER BY a.created_at, a.id"
    );
    let accounts = conn
        .prepare_cached(&sql)?
        .query_map([json_ids(values)?], rows::account_secrets)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(accounts)
}

/// Returns an account with its encrypted secrets; `NotFound` when missing.
pub(super) fn account_secrets(
    conn: &Connection,
    account: &AccountId,
) -> StoreResult<AccountSecrets> {
    let sql = format!("SELECT {ACCOUNT_SECRET_COLUMNS} FROM accounts a WHERE a.id = ?1");
    conn.prepare_cached(&sql)?
        .query_row([account.as_str()], rows::account_secrets)
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("account {account}")))
}

/// Column used to look accounts up by a Meta id.
#[derive(Clone, Copy)]
pub(super) enum AccountKey {
    PhoneNumberId,
    WabaId,
}

pub(super) fn verify_tokens(conn: &Connection) -> StoreResult<Vec<String>> {
    let tokens = conn
        .prepare_cached("SELECT DISTINCT verify_token FROM accounts")?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(tokens)
}

pub(super) fn set_token_invalid(
    conn: &Connection,
    account: &AccountId,
    at: Option<UnixTime>,
) -> StoreResult<()> {
    let changed = conn
        .prepare_cached("UPDATE accounts SET token_invalid_at = ?2 WHERE id = ?1")?
        .execute(params![account.as_str(), at])?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("account {account}")));
    }
    Ok(())
}

pub(super) fn update_account_secrets(
    conn: &Connection,
    account: &AccountId,
    access_token: Option<&[u8]>,
    app_secret: Option<&[u8]>,
) -> StoreResult<()> {
    let changed = conn
        .prepare_cached(
            "UPDATE accounts SET \
               access_token_encrypted = coalesce(?2, access_token_encrypted), \
               app_secret_encrypted = coalesce(?3, app_secret_encrypted), \
               token_invalid_at = CASE WHEN ?2 IS NULL THEN token_invalid_at END \
             WHERE id = ?1",
        )?
        .execute(params![account.as_str(), access_token, app_secret])?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("account {account}")));
    }
    Ok(())
}

pub(super) fn upsert_member(
    conn: &Connection,
    account: &AccountId,
    user: &UserId,
    role: Role,
) -> StoreResult<()> {
    require_account(conn, account)?;
    require_user(conn, user)?;
    if role != Role::Owner {
        keep_an_owner(account, &owners(conn, account)?, user)?;
    }
    conn.prepare_cached(
        "INSERT INTO account_members (account_id, user_id, role, created_at) \
         VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (account_id, user_id) DO UPDATE SET role = excluded.role",
    )?
    .execute(params![
        account.as_str(),
        user.as_str(),
        role.as_str(),
        unix_now()
    ])?;
    Ok(())
}

pub(super) fn remove_member(
    conn: &Connection,
    account: &AccountId,
    user: &UserId,
) -> StoreResult<()> {
    keep_an_owner(account, &owners(conn, account)?, user)?;
    let removed = conn
        .prepare_cached("DELETE FROM account_members WHERE account_id = ?1 AND user_id = ?2")?
        .execute([account.as_str(), user.as_str()])?;
    if removed == 0 {
        return Err(StoreError::NotFound(format!(
            "membership of user {user} in account {account}"
        )));
    }
    Ok(())
}

/// Returns the owners of `account`. The writer runs one transaction at a
/// time, so they cannot change before the caller's change commits.
fn owners(conn: &Connection, account: &AccountId) -> StoreResult<Vec<UserId>> {
    let owners = conn
        .prepare_cached(
            "SELECT user_id FROM account_members WHERE account_id = ?1 AND role = 'owner'",
        )?
        .query_map([account.as_str()], |row| Ok(UserId(row.get(0)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(owners)
}

pub(super) fn list_members(conn: &Connection, account: &AccountId) -> StoreResult<Vec<Member>> {
    let members = conn
        .prepare_cached(
            "SELECT u.id, u.email, u.created_at, m.role, m.created_at \
             FROM account_members m JOIN users u ON u.id = m.user_id \
             WHERE m.account_id = ?1 \
             ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, lower(u.email)",
        )?
        .query_map([account.as_str()], |row| {
            let role: String = row.get(3)?;
            Ok(Member {
                user: User {
                    id: UserId(row.get(0)?),
                    email: row.get(1)?,
                    created_at: row.get(2)?,
                },
                role: Role::parse(&role).ok_or_else(|| unexpected("role", 3, role.clone()))?,
                since: row.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(members)
}

/// Accounts the user is a member of, narrowed to `only` when it is not empty.
pub(super) fn reachable_accounts(
    conn: &Connection,
    user: &UserId,
    only: &[AccountId],
) -> StoreResult<Vec<Account>> {
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts a \
         JOIN account_members m ON m.account_id = a.id \
         WHERE m.user_id = ?1 \
           AND (json_array_length(?2) = 0 OR a.id IN (SELECT value FROM json_each(?2))) \
         ORDER BY a.created_at, a.id"
    );
    let accounts = conn
        .prepare_cached(&sql)?
        .query_map([user.as_str(), &json_ids(only)?], rows::account)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(accounts)
}

pub(super) fn require_user(conn: &Connection, user: &UserId) -> StoreResult<()> {
    let exists = conn
        .prepare_cached("SELECT 1 FROM users WHERE id = ?1")?
        .exists([user.as_str()])?;
    if !exists {
        return Err(StoreError::NotFound(format!("user {user}")));
    }
    Ok(())
}

pub(super) fn require_account(conn: &Connection, account: &AccountId) -> StoreResult<()> {
    let exists = conn
        .prepare_cached("SELECT 1 FROM accounts WHERE id = ?1")?
        .exists([account.as_str()])?;
    if !exists {
        return Err(StoreError::NotFound(format!("account {account}")));
    }
    Ok(())
}
