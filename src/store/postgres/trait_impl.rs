//! `Store` for `PostgresStore`: each method calls the function of its
//! concept module on the pool.

use async_trait::async_trait;

use super::{
    PostgresStore, accounts, ingest, jobs, key_verifier, keys, lists, outbound, reads, sent,
    templates, updates,
};
use crate::store::*;

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

    async fn update_account_secrets(
        &self,
        account: &AccountId,
        access_token_encrypted: Option<Vec<u8>>,
        app_secret_encrypted: Option<Vec<u8>>,
    ) -> StoreResult<()> {
        accounts::update_account_secrets(
            &self.pool,
            account,
            access_token_encrypted.as_deref(),
            app_secret_encrypted.as_deref(),
        )
        .await
    }

    async fn key_verifier(&self) -> StoreResult<Option<Vec<u8>>> {
        key_verifier::key_verifier(&self.pool).await
    }

    async fn insert_key_verifier(&self, sealed: Vec<u8>) -> StoreResult<()> {
        key_verifier::insert_key_verifier(&self.pool, &sealed).await
    }

    async fn replace_key_verifier(&self, previous: Vec<u8>, sealed: Vec<u8>) -> StoreResult<bool> {
        key_verifier::replace_key_verifier(&self.pool, &previous, &sealed).await
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

    async fn list_members(&self, account: &AccountId) -> StoreResult<Vec<Member>> {
        accounts::list_members(&self.pool, account).await
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
        archive: ArchiveFilter,
        after: Option<&ConversationSortKey>,
        limit: u32,
    ) -> StoreResult<Vec<ConversationSummary>> {
        lists::list_conversations(&self.pool, accounts, false, archive, after, limit).await
    }

    async fn list_unanswered(
        &self,
        accounts: &[AccountId],
        archive: ArchiveFilter,
        after: Option<&ConversationSortKey>,
        limit: u32,
    ) -> StoreResult<Vec<ConversationSummary>> {
        lists::list_conversations(&self.pool, accounts, true, archive, after, limit).await
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

    async fn insert_outbound(&self, message: NewOutboundMessage) -> StoreResult<Message> {
        outbound::insert_outbound(&self.pool, &message).await
    }

    async fn mark_outbound_sent(
        &self,
        id: &MessageId,
        sent: SentMessage,
        at: UnixTime,
    ) -> StoreResult<Message> {
        sent::mark_outbound_sent(&self.pool, id, &sent, at).await
    }

    async fn mark_outbound_failed(
        &self,
        id: &MessageId,
        error: MetaError,
        at: UnixTime,
    ) -> StoreResult<Message> {
        outbound::mark_outbound_failed(&self.pool, id, &error, at).await
    }

    async fn fail_unconfirmed_sends(
        &self,
        sent_before: UnixTime,
        error: MetaError,
        at: UnixTime,
    ) -> StoreResult<Vec<MessageId>> {
        outbound::fail_unconfirmed_sends(&self.pool, sent_before, &error, at).await
    }

    async fn begin_business_reaction(
        &self,
        account: &AccountId,
        target_wamid: &str,
        emoji: Option<String>,
        now: UnixTime,
    ) -> StoreResult<business_reactions::PendingReactionId> {
        super::business_reactions::begin(&self.pool, account, target_wamid, emoji.as_deref(), now)
            .await
    }

    async fn apply_business_reaction(
        &self,
        id: business_reactions::PendingReactionId,
    ) -> StoreResult<bool> {
        super::business_reactions::apply_alone(&self.pool, id).await
    }

    async fn forget_business_reaction(
        &self,
        id: business_reactions::PendingReactionId,
    ) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(super::backend)?;
        super::business_reactions::forget(&mut conn, id)
            .await
            .map_err(super::backend)
    }

    async fn mark_read_up_to(
        &self,
        message: &MessageId,
        receipt_accepted: bool,
    ) -> StoreResult<i64> {
        updates::mark_read_up_to(&self.pool, message, receipt_accepted).await
    }

    async fn set_conversation_archived(
        &self,
        conversation: &ConversationId,
        archived_at: Option<UnixTime>,
    ) -> StoreResult<()> {
        updates::set_conversation_archived(&self.pool, conversation, archived_at).await
    }

    async fn find_messages_by_wamid(
        &self,
        accounts: &[AccountId],
        wamid: &str,
    ) -> StoreResult<Vec<(AccountId, Message)>> {
        reads::find_messages_by_wamid(&self.pool, accounts, wamid).await
    }

    async fn find_message(&self, id: &MessageId) -> StoreResult<Option<(AccountId, Message)>> {
        reads::find_message(&self.pool, id).await
    }

    async fn account_secrets(&self, account: &AccountId) -> StoreResult<AccountSecrets> {
        accounts::account_secrets(&self.pool, account).await
    }

    async fn sync_templates(
        &self,
        account: &AccountId,
        templates: Vec<NewTemplate>,
        at: UnixTime,
    ) -> StoreResult<()> {
        templates::sync_templates(&self.pool, account, &templates, at).await
    }

    async fn list_templates(&self, accounts: &[AccountId]) -> StoreResult<Vec<Template>> {
        templates::list_templates(&self.pool, accounts).await
    }

    async fn enqueue_job(&self, job: NewJob) -> StoreResult<()> {
        jobs::enqueue_job(&self.pool, &job).await
    }

    async fn claim_jobs(
        &self,
        kinds: &[&str],
        now: UnixTime,
        lease_seconds: i64,
        limit: u32,
    ) -> StoreResult<Vec<Job>> {
        jobs::claim_jobs(&self.pool, kinds, now, lease_seconds, limit).await
    }

    async fn extend_job_lease(
        &self,
        id: &JobId,
        attempt: u32,
        now: UnixTime,
        lease_seconds: i64,
    ) -> StoreResult<bool> {
        jobs::extend_job_lease(&self.pool, id, attempt, now, lease_seconds).await
    }

    async fn complete_job(&self, id: &JobId, at: UnixTime) -> StoreResult<()> {
        jobs::complete_job(&self.pool, id, at).await
    }

    async fn retry_job(
        &self,
        id: &JobId,
        error: &str,
        run_at: UnixTime,
        attempt: AttemptUse,
    ) -> StoreResult<()> {
        jobs::retry_job(&self.pool, id, error, run_at, attempt).await
    }

    async fn fail_job(&self, id: &JobId, error: &str, at: UnixTime) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(super::backend)?;
        jobs::fail_job(&mut conn, id, error, at).await
    }

    async fn set_media_stored(&self, message: &MessageId, media: StoredMedia) -> StoreResult<()> {
        updates::set_media_stored(&self.pool, message, &media).await
    }

    async fn set_media_failed(&self, message: &MessageId, error: &str) -> StoreResult<()> {
        updates::set_media_failed(&self.pool, message, error).await
    }
}
