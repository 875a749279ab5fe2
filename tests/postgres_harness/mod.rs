//! A fresh PostgreSQL database per test: created on the server named by
//! `PONS_TEST_DATABASE_URL`, migrated by `PostgresStore::connect` (or left
//! empty), and dropped when the test ends, passed or not.

use pons::store::postgres::PostgresStore;
use sqlx::{AssertSqlSafe, Connection, PgConnection};

/// Environment variable naming the server the tests create databases on.
pub const URL_VARIABLE: &str = "PONS_TEST_DATABASE_URL";

/// A migrated database that exists for one test and is dropped with this
/// value.
pub struct TestDatabase {
    database: EmptyDatabase,
    pub store: PostgresStore,
}

impl TestDatabase {
    /// Creates and migrates a database with a unique name. Panics when
    /// `PONS_TEST_DATABASE_URL` is unset, so a run without PostgreSQL fails
    /// instead of passing tests it did not run.
    pub async fn create() -> TestDatabase {
        let database = EmptyDatabase::create().await;
        // A failed connect or migration drops the database while unwinding.
        let store = PostgresStore::connect(&database.url())
            .await
            .unwrap_or_else(|error| panic!("connect and migrate the test database: {error:#}"));
        TestDatabase { database, store }
    }

    /// Returns the URL of this test's database.
    pub fn url(&self) -> String {
        self.database.url()
    }
}

/// A database without tables that exists for one test and is dropped with
/// this value, for tests that run migrations themselves.
pub struct EmptyDatabase {
    server_url: String,
    name: String,
}

impl EmptyDatabase {
    /// Creates a database with a unique name. Panics when
    /// `PONS_TEST_DATABASE_URL` is unset.
    pub async fn create() -> EmptyDatabase {
        let Ok(server_url) = std::env::var(URL_VARIABLE) else {
            panic!(
                "{URL_VARIABLE} is not set: the PostgreSQL tests need a server where they may \
                 create databases, such as {URL_VARIABLE}=postgres://postgres@127.0.0.1:5432/test \
                 (scripts/test uses that one when the variable is unset)"
            );
        };
        let name = format!("pons_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&server_url).await.unwrap_or_else(|error| {
            panic!("connecting to the test PostgreSQL server named by {URL_VARIABLE} failed: {error}")
        });
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create the test database");
        admin.close().await.expect("close the admin connection");
        EmptyDatabase { server_url, name }
    }

    /// Returns the URL of this database.
    pub fn url(&self) -> String {
        database_url(&self.server_url, &self.name)
    }
}

impl Drop for EmptyDatabase {
    fn drop(&mut self) {
        drop_database(self.server_url.clone(), self.name.clone());
    }
}

/// Drops the database on a thread with its own runtime, so it works from
/// `Drop` inside a test runtime and while a failed test unwinds.
fn drop_database(server_url: String, name: String) {
    let statement = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    let dropped = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("build a runtime to drop the test database");
        runtime.block_on(async {
            let mut admin = PgConnection::connect(&server_url).await?;
            // FORCE ends the pool's connections that are still open.
            sqlx::query(AssertSqlSafe(statement))
                .execute(&mut admin)
                .await?;
            admin.close().await
        })
    })
    .join();
    match dropped {
        Ok(Ok(())) => {}
        Ok(Err(error)) => eprintln!("failed to drop test database {name}: {error}"),
        Err(_) => eprintln!("failed to drop test database {name}: the thread panicked"),
    }
}

/// Replaces the database name in a PostgreSQL URL, keeping its query.
pub fn database_url(server_url: &str, database: &str) -> String {
    let (base, query) = match server_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server_url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut url = format!("{}/{database}", &base[..host_end]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

#[test]
fn database_url_replaces_name() {
    let cases = [
        (
            "postgres://postgres@127.0.0.1:5432/test",
            "postgres://postgres@127.0.0.1:5432/db",
        ),
        ("postgres://127.0.0.1", "postgres://127.0.0.1/db"),
        (
            "postgresql://u:p@h/test?sslmode=disable",
            "postgresql://u:p@h/db?sslmode=disable",
        ),
    ];
    for (server, expected) in cases {
        assert_eq!(database_url(server, "db"), expected, "for {server}");
    }
}
