//! Graph API access for the tools that call Meta: the client, the key that
//! decrypts each account's access token, and the template sync hook that
//! `send_template` calls when it meets a template the store does not know.

use std::sync::Arc;

use async_trait::async_trait;

use crate::crypto::SecretBox;
use crate::store::{Account, AccountId, DynStore, NewTemplate, Store, StoreError};
use crate::whatsapp::graph::{self, AccessToken, GraphClient, GraphError};

use super::ToolError;
use super::reaction_locks::ReactionLocks;
use super::rejected_token::{ProbeClaim, TokenProbes, TokenUse, require_usable_token};

/// Failure of a template sync.
#[derive(Debug, thiserror::Error)]
pub enum TemplateSyncError {
    #[error("{0}")]
    Graph(#[from] GraphError),
    #[error("the stored access token cannot be decrypted")]
    Secret,
    #[error("storing the templates failed: {0}")]
    Store(#[from] StoreError),
}

/// Refreshes an account's stored templates from Meta. The tools call it on
/// demand. A background worker may implement it with a queued job, as long
/// as `sync_account` returns only after the store holds the new list.
#[async_trait]
pub trait TemplateSync: Send + Sync {
    /// Replaces the stored templates of `account` with Meta's current list
    /// and returns how many there are.
    async fn sync_account(&self, account: &Account) -> Result<usize, TemplateSyncError>;
}

/// Graph client, secrets and template sync, shared by every tool call.
#[derive(Clone)]
pub struct Sender {
    graph: GraphClient,
    secrets: SecretBox,
    templates: Arc<dyn TemplateSync>,
    reaction_locks: Arc<ReactionLocks>,
    token_probes: Arc<TokenProbes>,
}

impl Sender {
    /// Builds a sender whose template sync calls the Graph API directly
    /// (see [`GraphTemplateSync`]).
    pub fn new(store: DynStore, graph: GraphClient, secrets: SecretBox) -> Sender {
        let templates = Arc::new(GraphTemplateSync {
            store,
            graph: graph.clone(),
            secrets: secrets.clone(),
        });
        Sender {
            graph,
            secrets,
            templates,
            reaction_locks: Arc::default(),
            token_probes: Arc::default(),
        }
    }

    /// Replaces the template sync, for example with a worker's.
    pub fn with_template_sync(mut self, templates: Arc<dyn TemplateSync>) -> Sender {
        self.templates = templates;
        self
    }

    pub fn graph(&self) -> &GraphClient {
        &self.graph
    }

    pub fn template_sync(&self) -> &dyn TemplateSync {
        self.templates.as_ref()
    }

    pub(super) fn reaction_locks(&self) -> &ReactionLocks {
        &self.reaction_locks
    }

    /// Decides whether a call may use the access token of `account` at
    /// `now` (see [`require_usable_token`]). Keep the claim until Meta's
    /// response is recorded.
    pub(super) fn usable_token(
        &self,
        account: &Account,
        now: crate::store::UnixTime,
        token_use: TokenUse,
    ) -> Result<Option<ProbeClaim>, ToolError> {
        require_usable_token(&self.token_probes, account, now, token_use)
    }

    /// Decrypts the access token of `account`.
    pub(super) async fn access_token(
        &self,
        store: &dyn Store,
        account: &Account,
    ) -> Result<AccessToken, ToolError> {
        match load_token(store, &self.secrets, &account.id).await {
            Ok(token) => Ok(token),
            Err(TemplateSyncError::Store(error)) => Err(ToolError::Store(error)),
            Err(_) => {
                tracing::error!(account_id = %account.id, "stored access token cannot be decrypted");
                Err(ToolError::Secret {
                    account: format!("+{} ({})", account.phone_number, account.name),
                })
            }
        }
    }
}

/// Reads and decrypts an account's access token.
async fn load_token(
    store: &dyn Store,
    secrets: &SecretBox,
    account: &AccountId,
) -> Result<AccessToken, TemplateSyncError> {
    let row = store.account_secrets(account).await?;
    let plain = secrets
        .decrypt(&row.access_token_encrypted)
        .map_err(|_| TemplateSyncError::Secret)?;
    AccessToken::from_utf8(&plain).ok_or(TemplateSyncError::Secret)
}

/// The template sync that lists the templates with the Graph API and
/// stores them before returning.
pub struct GraphTemplateSync {
    store: DynStore,
    graph: GraphClient,
    secrets: SecretBox,
}

#[async_trait]
impl TemplateSync for GraphTemplateSync {
    async fn sync_account(&self, account: &Account) -> Result<usize, TemplateSyncError> {
        let store = self.store.as_ref();
        let token = load_token(store, &self.secrets, &account.id).await?;
        let templates = match self.graph.list_templates(&account.waba_id, &token).await {
            Ok(templates) => templates,
            Err(error) => {
                if error.is_token_error() {
                    let now = chrono::Utc::now().timestamp();
                    record_invalid_token(store, account, now).await;
                }
                return Err(error.into());
            }
        };
        let count = templates.len();
        let rows = templates.into_iter().map(new_template).collect();
        let now = chrono::Utc::now().timestamp();
        store.sync_templates(&account.id, rows, now).await?;
        tracing::info!(account_id = %account.id, count, "templates synced from Meta");
        Ok(count)
    }
}

fn new_template(template: graph::Template) -> NewTemplate {
    let components_json = serde_json::Value::Array(template.components.clone()).to_string();
    NewTemplate {
        meta_template_id: template.id,
        name: template.name,
        language: template.language,
        status: template.status,
        category: template.category,
        parameter_format: template.parameter_format,
        components_json,
        rejected_reason: None,
    }
}

/// Marks the account's token as rejected by Meta. A store failure is
/// logged only, because the call it accompanies has already failed for a
/// better-known reason.
pub(super) async fn record_invalid_token(store: &dyn Store, account: &Account, now: i64) {
    tracing::warn!(account_id = %account.id, "Meta rejected the account's access token");
    if let Err(error) = store.set_token_invalid(&account.id, Some(now)).await {
        tracing::error!(account_id = %account.id, %error, "failed to mark the access token invalid");
    }
}
