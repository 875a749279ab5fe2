//! The rule that keeps `pons demo` and `pons bench seed` out of a real
//! installation: each stores made-up data in a database of its own, so a
//! SQLite database that contains accounts, users or API keys that the
//! command did not create belongs to someone else, and so does such a
//! PostgreSQL database. The database is only read, not migrated, so a
//! rejected database stays as it was.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

/// The user and the account that a seeding command creates, which are the
/// only ones it accepts in its database.
pub struct SeededIdentity<'a> {
    /// Email of the command's user. Its API keys are the command's too.
    pub email: &'a str,
    pub account_name: &'a str,
    pub waba_id: &'a str,
    pub phone_number_id: &'a str,
    /// Digits of the business number, as stored.
    pub phone_number: &'a str,
}

/// Accounts that the seeding command did not create.
pub struct ForeignAccounts {
    pub count: i64,
    /// Name and number of the oldest such account.
    pub name: String,
    pub phone_number: String,
}

/// Users other than the seeding command's user, and the API keys of
/// those users.
pub struct ForeignUsers {
    pub users: i64,
    pub keys: i64,
    /// Email of the oldest such user, if any.
    pub example: Option<String>,
}

/// Accounts, users and API keys in a database that the seeding command
/// did not create.
#[derive(Default)]
pub struct ForeignData {
    pub accounts: Option<ForeignAccounts>,
    pub users: Option<ForeignUsers>,
}

// The queries below run on SQLite and PostgreSQL alike. SQLite reads
// `$1` as a named parameter and numbers parameters in their order of first
// appearance, so `$N` binds the N-th value on both.

/// The number of accounts other than the one `own` describes, with the
/// oldest one's name and number. Binds phone number id, WABA id, number
/// and name.
const FOREIGN_ACCOUNTS_SQL: &str = "SELECT count(*) OVER (), name, phone_number FROM accounts \
     WHERE NOT (phone_number_id = $1 AND waba_id = $2 AND phone_number = $3 AND name = $4) \
     ORDER BY created_at, id LIMIT 1";
/// The number of users other than the one whose email is bound.
const FOREIGN_USERS_SQL: &str = "SELECT count(*) FROM users WHERE lower(email) <> lower($1)";
/// The number of API keys of users other than the one whose email is bound.
const FOREIGN_KEYS_SQL: &str = "SELECT count(*) FROM api_keys WHERE user_id NOT IN \
     (SELECT id FROM users WHERE lower(email) = lower($1))";
/// The email of the oldest user other than the one whose email is bound.
const FOREIGN_USER_EXAMPLE_SQL: &str = "SELECT email FROM users WHERE lower(email) <> lower($1) \
     ORDER BY created_at, id LIMIT 1";

/// Opens the SQLite database at `path` read-only with the flags the
/// checks use.
pub fn open_read_only(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    Connection::open_with_flags(path, flags)
}

/// Finds the accounts, users and API keys in `conn` that `own` does not
/// describe. A database without the tables contains none.
pub fn find_foreign_data(conn: &Connection, own: &SeededIdentity) -> rusqlite::Result<ForeignData> {
    Ok(ForeignData {
        accounts: foreign_accounts(conn, own)?,
        users: foreign_users(conn, own.email)?,
    })
}

/// Tells whether the SQLite database of `conn` has every table in `names`.
pub fn has_tables(conn: &Connection, names: &[&str]) -> rusqlite::Result<bool> {
    for name in names {
        let found: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
            [name],
            |row| row.get(0),
        )?;
        if !found {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Returns how many accounts other than the one `own` describes the
/// database contains, with the oldest one's name and number.
fn foreign_accounts(
    conn: &Connection,
    own: &SeededIdentity,
) -> rusqlite::Result<Option<ForeignAccounts>> {
    if !has_tables(conn, &["accounts"])? {
        return Ok(None);
    }
    let params = rusqlite::params![
        own.phone_number_id,
        own.waba_id,
        own.phone_number,
        own.account_name
    ];
    conn.query_row(FOREIGN_ACCOUNTS_SQL, params, |row| {
        Ok(ForeignAccounts {
            count: row.get(0)?,
            name: row.get(1)?,
            phone_number: row.get(2)?,
        })
    })
    .optional()
}

/// Counts the users other than `email` and the API keys of those users.
/// Returns `None` when there are none, or when the `users` or `api_keys`
/// table is missing.
fn foreign_users(conn: &Connection, email: &str) -> rusqlite::Result<Option<ForeignUsers>> {
    if !has_tables(conn, &["users", "api_keys"])? {
        return Ok(None);
    }
    let users: i64 = conn.query_row(FOREIGN_USERS_SQL, [email], |row| row.get(0))?;
    let keys: i64 = conn.query_row(FOREIGN_KEYS_SQL, [email], |row| row.get(0))?;
    if users == 0 && keys == 0 {
        return Ok(None);
    }
    let example = conn
        .query_row(FOREIGN_USER_EXAMPLE_SQL, [email], |row| row.get(0))
        .optional()?;
    Ok(Some(ForeignUsers {
        users,
        keys,
        example,
    }))
}

/// Finds data not created by `own` in the PostgreSQL database at `url`, as
/// [`find_foreign_data`] does, in the schema where Pons keeps its tables.
/// Returns `None` when the database cannot be reached, because opening the
/// store reports that with its own hints. Returns an empty [`ForeignData`]
/// when Pons's tables are missing.
pub async fn find_foreign_data_postgres(
    url: &str,
    own: &SeededIdentity<'_>,
) -> anyhow::Result<Option<ForeignData>> {
    use sqlx::Connection as _;

    let Ok(mut conn) = sqlx::PgConnection::connect(url).await else {
        return Ok(None);
    };
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() \
         AND table_name IN ('accounts', 'users', 'api_keys')",
    )
    .fetch_one(&mut conn)
    .await?;
    if tables < 3 {
        return Ok(Some(ForeignData::default()));
    }
    let accounts = sqlx::query_as::<_, (i64, String, String)>(FOREIGN_ACCOUNTS_SQL)
        .bind(own.phone_number_id)
        .bind(own.waba_id)
        .bind(own.phone_number)
        .bind(own.account_name)
        .fetch_optional(&mut conn)
        .await?
        .map(|(count, name, phone_number)| ForeignAccounts {
            count,
            name,
            phone_number,
        });
    let users: i64 = sqlx::query_scalar(FOREIGN_USERS_SQL)
        .bind(own.email)
        .fetch_one(&mut conn)
        .await?;
    let keys: i64 = sqlx::query_scalar(FOREIGN_KEYS_SQL)
        .bind(own.email)
        .fetch_one(&mut conn)
        .await?;
    let users = if users == 0 && keys == 0 {
        None
    } else {
        let example = sqlx::query_scalar(FOREIGN_USER_EXAMPLE_SQL)
            .bind(own.email)
            .fetch_optional(&mut conn)
            .await?;
        Some(ForeignUsers {
            users,
            keys,
            example,
        })
    };
    conn.close().await.ok();
    Ok(Some(ForeignData { accounts, users }))
}
