//! The `template_sync` job: reads every template of an account's WhatsApp
//! Business Account from Meta, page by page, and replaces the stored list
//! with it (templates Meta no longer lists are deleted).

use async_trait::async_trait;
use serde::Deserialize;

use super::account;
use super::worker::Handler;
use super::{JobContext, JobError};
use crate::store::jobs::TEMPLATE_SYNC;
use crate::store::{AccountId, Job, NewTemplate, StoreError};
use crate::whatsapp::graph::Template;

/// Payload of a `template_sync` job.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    account_id: AccountId,
}

pub(super) struct TemplateSync {
    context: JobContext,
}

impl TemplateSync {
    pub fn new(context: JobContext) -> TemplateSync {
        TemplateSync { context }
    }
}

#[async_trait]
impl Handler for TemplateSync {
    fn kind(&self) -> &'static str {
        TEMPLATE_SYNC
    }

    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let payload: Payload = serde_json::from_str(&job.payload_json).map_err(|error| {
            JobError::permanent(format!(
                "invalid template_sync payload; expected {{\"accountId\": …}}: {error}"
            ))
        })?;
        let store = &self.context.store;
        let credentials =
            account::credentials(store, &self.context.secrets, &payload.account_id).await?;
        let listed = self
            .context
            .graph
            .list_templates(&credentials.account.waba_id, &credentials.token)
            .await;
        let templates = match listed {
            Ok(templates) => templates,
            Err(error) => {
                let action = "listing the templates";
                return Err(
                    account::graph_failure(store, &credentials.account, action, error).await,
                );
            }
        };
        account::token_works(store.as_ref(), &credentials.account).await;

        let count = templates.len();
        let rows = templates.into_iter().map(new_template).collect();
        let now = chrono::Utc::now().timestamp();
        store.sync_templates(&payload.account_id, rows, now).await?;
        tracing::info!(account_id = %payload.account_id, templates = count, "templates synced");
        Ok(())
    }

    /// Nothing besides the job row records a failed sync: the stored
    /// templates stay as they were.
    async fn give_up(&self, _job: &Job, _reason: &str) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Converts a template as Meta lists it into the row to store.
fn new_template(template: Template) -> NewTemplate {
    let components_json = serde_json::Value::Array(template.components.clone()).to_string();
    NewTemplate {
        meta_template_id: template.id,
        name: template.name,
        language: template.language,
        status: template.status,
        category: template.category,
        parameter_format: template.parameter_format,
        components_json,
        // NOTE: `rejected_reason` is not among the fields requested from
        // Meta, so a sync leaves it empty; the template status webhook
        // carries the reason instead.
        rejected_reason: None,
    }
}
