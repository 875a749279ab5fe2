//! Background work: a pool of supervised workers that claim rows of the
//! jobs table (media downloads, template syncs), run them with a lease
//! that they renew while they run, and complete, retry or fail each one.
//! Work survives a restart because every job is a row. A worker that dies
//! leaves its job to be claimed again when the lease runs out.

mod account;
mod error;
mod lease;
mod media;
mod queue;
mod retry;
mod schedule;
mod templates;
mod worker;

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::JobSettings;
use crate::crypto::SecretBox;
use crate::media_files::MediaFiles;
use crate::store::{AccountId, DynStore, JobId, UnixTime};
use crate::whatsapp::graph::GraphClient;

pub(crate) use account::token_works;
pub use error::JobError;
pub use queue::JobQueue;
pub use retry::backoff_delay;

/// The outcome of one job attempt, published to subscribers such as tests
/// that follow the queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobReport {
    pub job_id: JobId,
    pub kind: String,
    pub account_id: Option<AccountId>,
    /// The attempt that just ran, counting from 1.
    pub attempt: u32,
    pub outcome: JobOutcome,
}

/// Result of one attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobOutcome {
    Completed,
    /// Queued again to run at this time.
    Retrying {
        run_at: UnixTime,
        error: String,
    },
    /// Failed for good.
    Failed {
        error: String,
    },
}

/// Everything the job handlers need.
#[derive(Clone)]
pub struct JobContext {
    pub store: DynStore,
    pub secrets: SecretBox,
    pub graph: GraphClient,
    pub media: MediaFiles,
    pub settings: JobSettings,
}

/// The workers and the template schedule of one server, ready to start.
pub struct JobRuntime {
    context: JobContext,
    queue: JobQueue,
    events: broadcast::Sender<JobReport>,
}

/// Reports kept for a slow subscriber before the oldest are dropped.
const EVENT_BUFFER: usize = 256;

impl JobRuntime {
    pub fn new(context: JobContext, queue: JobQueue) -> JobRuntime {
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        JobRuntime {
            context,
            queue,
            events,
        }
    }

    /// Subscribes to the report of every job attempt from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<JobReport> {
        self.events.subscribe()
    }

    /// Starts the workers and the template schedule. The returned task
    /// ends once `shutdown` is cancelled and the running jobs have
    /// finished or been put back in the queue.
    pub fn start(self, shutdown: CancellationToken) -> JoinHandle<()> {
        let handlers = handlers(&self.context);
        let schedule = tokio::spawn(schedule::run_template_schedule(
            self.context.store.clone(),
            self.queue.clone(),
            self.context.settings.template_sync_interval,
            shutdown.clone(),
        ));
        let pool = worker::Pool::new(
            self.context.store.clone(),
            self.queue,
            handlers,
            self.context.settings.clone(),
            self.events,
        );
        tokio::spawn(async move {
            pool.supervise(shutdown).await;
            if let Err(error) = schedule.await {
                tracing::error!(%error, "template schedule task ended abnormally");
            }
        })
    }
}

/// The handler of each job kind this server runs.
fn handlers(context: &JobContext) -> HashMap<&'static str, Arc<dyn worker::Handler>> {
    let list: Vec<Arc<dyn worker::Handler>> = vec![
        Arc::new(media::MediaDownload::new(context.clone())),
        Arc::new(templates::TemplateSync::new(context.clone())),
    ];
    list.into_iter()
        .map(|handler| (handler.kind(), handler))
        .collect()
}
