//! The PostgreSQL backend: a connection pool, migrations run at start-up,
//! and the `Store` methods split by concept into submodules.

mod accounts;
mod events;
mod inbound;
mod ingest;
mod keys;
mod reads;
mod rows;
mod status;

use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use super::*;

/// Migrations compiled into the binary from `migrations/postgres`.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Connections the pool opens at most.
const MAX_CONNECTIONS: u32 = 10;

/// How long a caller waits for a free connection before the call fails.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// A `Store` on a PostgreSQL database.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Opens a connection pool on `url` and applies pending migrations.
    pub async fn connect(url: &str) -> anyhow::Result<PostgresStore> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await
            .context("failed to connect to PostgreSQL")?;
        MIGRATOR
            .run(&pool)
            .await
            .context("failed to apply the PostgreSQL migrations")?;
        Ok(PostgresStore { pool })
    }

    /// Returns the connection pool, for callers that need a plain connection.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Maps any driver error to `Backend`.
pub(crate) fn backend(error: sqlx::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

/// Maps a unique violation to `Conflict(what)` and any other error to `Backend`.
pub(crate) fn conflict_on_unique(error: sqlx::Error, what: String) -> StoreError {
    match error.as_database_error() {
        Some(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => backend(error),
    }
}

/// Converts a row limit to the type PostgreSQL binds for `LIMIT`.
pub(crate) fn sql_limit(limit: u32) -> i64 {
    i64::from(limit)
}

/// Converts account ids to a text array, for `= ANY($n)`.
pub(crate) fn account_ids(accounts: &[AccountId]) -> Vec<&str> {
    accounts.iter().map(AccountId::as_str).collect()
}

/// Returns the current time in Unix seconds.
pub(crate) fn now() -> UnixTime {
    chrono::Utc::now().timestamp()
}

#[async_trait]
impl Store for PostgresStore {
    async fn create_user(&self, user: NewUser) -> StoreResult<User> {
        accounts::create_user(&self.pool, user).await
    }

    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        accounts::find_user_by_email(&self.pool, email).await
    }

    async fn create_account(&self, account: NewAccount) -> StoreResult<Account> {
        accounts::create_account(&self.pool, account).await
    }

    async fn list_accounts(&self) -> StoreResult<Vec<Account>> {
        accounts::list_accounts(&self.pool).await
    }

    async fn find_account(&self, id_or_phone: &str) -> StoreResult<Option<Account>> {
        accounts::find_account(&self.pool, id_or_phone).await
    }

    async fn accounts_by_phone_number_ids(
        &self,
        ids: &[String],
    ) -> StoreResult<Vec<AccountSecrets>> {
        accounts::secrets_where(&self.pool, accounts::AccountKey::PhoneNumberId, ids).await
    }

    async fn accounts_by_waba_ids(&self, ids: &[String]) -> StoreResult<Vec<AccountSecrets>> {
        accounts::secrets_where(&self.pool, accounts::AccountKey::WabaId, ids).await
    }

    async fn verify_tokens(&self) -> StoreResult<Vec<String>> {
        accounts::verify_tokens(&self.pool).await
    }

    async fn set_token_invalid(
        &self,
        account: &AccountId,
        at: Option<UnixTime>,
    ) -> StoreResult<()> {
        accounts::set_token_invalid(&self.pool, account, at).await
    }

    async fn upsert_member(
        &self,
        account: &AccountId,
        user: &UserId,
        role: Role,
    ) -> StoreResult<()> {
        accounts::upsert_member(&self.pool, account, user, role).await
    }

    async fn remove_member(&self, account: &AccountId, user: &UserId) -> StoreResult<()> {
        accounts::remove_member(&self.pool, account, user).await
    }

    async fn reachable_accounts(
        &self,
        user: &UserId,
        only: &[AccountId],
    ) -> StoreResult<Vec<Account>> {
        accounts::reachable_accounts(&self.pool, user, only).await
    }

    async fn create_api_key(&self, key: NewApiKey) -> StoreResult<ApiKey> {
        keys::create_api_key(&self.pool, key).await
    }

    async fn find_api_key_by_hash(&self, hash: &[u8; 32]) -> StoreResult<Option<ApiKey>> {
        keys::find_api_key_by_hash(&self.pool, hash).await
    }

    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKey>> {
        keys::list_api_keys(&self.pool).await
    }

    async fn revoke_api_key(&self, id_or_prefix: &str, at: UnixTime) -> StoreResult<ApiKey> {
        keys::revoke_api_key(&self.pool, id_or_prefix, at).await
    }

    async fn touch_api_key(&self, id: &ApiKeyId, at: UnixTime) -> StoreResult<()> {
        keys::touch_api_key(&self.pool, id, at).await
    }

    async fn ingest(&self, batch: WebhookBatch) -> StoreResult<IngestReport> {
        ingest::ingest(&self.pool, &batch).await
    }

    async fn record_webhook(&self, log: NewWebhookLog) -> StoreResult<()> {
        ingest::record_webhook(&self.pool, &log).await
    }

    async fn list_conversations(
        &self,
        accounts: &[AccountId],
        limit: u32,
    ) -> StoreResult<Vec<ConversationSummary>> {
        reads::list_conversations(&self.pool, accounts, limit, false).await
    }

    async fn list_unanswered(
        &self,
        accounts: &[AccountId],
        limit: u32,
    ) -> StoreResult<Vec<ConversationSummary>> {
        reads::list_conversations(&self.pool, accounts, limit, true).await
    }

    async fn find_conversation(
        &self,
        accounts: &[AccountId],
        by: &ConversationRef,
    ) -> StoreResult<Option<ConversationSummary>> {
        reads::find_conversation(&self.pool, accounts, by).await
    }

    async fn conversation_messages(
        &self,
        conversation: &ConversationId,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        reads::conversation_messages(&self.pool, conversation, limit).await
    }

    async fn search_messages(
        &self,
        accounts: &[AccountId],
        query: &str,
        limit: u32,
    ) -> StoreResult<Vec<SearchHit>> {
        reads::search_messages(&self.pool, accounts, query, limit).await
    }
}
