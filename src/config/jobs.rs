//! Settings of the background workers: how many, how often they look
//! for work, how long they hold a job, and the limits of the jobs.

use std::time::Duration;

use super::{ConfigError, numbers};
use crate::cli::JobArgs;

/// Meta rejects inbound files over 100 MB, so larger downloads cannot occur.
pub const DEFAULT_MEDIA_MAX_BYTES: u64 = 100 * 1024 * 1024;

/// Upper bound of one job attempt, in seconds. The longest job is a media
/// download: two download requests of up to three HTTP attempts, each
/// bounded by the job client's timeout of 300 s (unless
/// PONS_GRAPH_TIMEOUT_SECONDS is longer), 30 minutes in all. The rest of
/// the hour is for the metadata requests and the pauses between retries.
const MAX_RUN_SECONDS: u64 = 3600;

/// Settings of the background workers.
#[derive(Clone, Debug)]
pub struct JobSettings {
    /// Worker tasks in this instance; 0 runs none.
    pub workers: usize,
    /// Pause of an idle worker between looks for due jobs.
    pub poll_interval: Duration,
    /// How long a claimed job belongs to its worker unless the worker
    /// renews the lease, which it does every third of it while the job runs.
    pub lease: Duration,
    /// How long one attempt at a job may run before it is stopped and
    /// retried, however often its lease was renewed.
    pub max_run_time: Duration,
    /// Pause before the first retry of a failed job, doubled per attempt.
    pub retry_base_delay: Duration,
    /// Upper bound of the pause between retries.
    pub retry_max_delay: Duration,
    /// Largest media file downloaded, in bytes.
    pub media_max_bytes: u64,
    /// Period of the template sync of every account; `None` disables it.
    pub template_sync_interval: Option<Duration>,
    /// How long a running job may take to finish after shutdown starts.
    pub shutdown_grace: Duration,
}

impl Default for JobSettings {
    /// Two workers polling every 5 s with 10-minute leases, attempts of at
    /// most an hour, retries after 30 s doubling up to an hour, 100 MiB
    /// media, hourly template syncs and a 10 s shutdown grace.
    fn default() -> JobSettings {
        JobSettings {
            workers: 2,
            poll_interval: Duration::from_secs(5),
            lease: Duration::from_secs(600),
            max_run_time: Duration::from_secs(MAX_RUN_SECONDS),
            retry_base_delay: Duration::from_secs(30),
            retry_max_delay: Duration::from_secs(3600),
            media_max_bytes: DEFAULT_MEDIA_MAX_BYTES,
            template_sync_interval: Some(Duration::from_secs(3600)),
            shutdown_grace: Duration::from_secs(super::DEFAULT_SHUTDOWN_GRACE_SECONDS),
        }
    }
}

/// Merges the job flags over the file's values over the defaults, and
/// validates them.
pub(super) fn load(
    args: &JobArgs,
    file: &JobArgs,
    shutdown_grace_seconds: u64,
) -> Result<JobSettings, ConfigError> {
    let defaults = JobSettings::default();
    let workers = args
        .job_workers
        .or(file.job_workers)
        .unwrap_or(defaults.workers);
    let poll = args
        .job_poll_interval_seconds
        .or(file.job_poll_interval_seconds)
        .unwrap_or(defaults.poll_interval.as_secs());
    let lease = args
        .job_lease_seconds
        .or(file.job_lease_seconds)
        .unwrap_or(defaults.lease.as_secs());
    let sync_seconds = args
        .template_sync_interval_seconds
        .or(file.template_sync_interval_seconds);
    if let Some(seconds) = sync_seconds {
        numbers::check("PONS_TEMPLATE_SYNC_INTERVAL_SECONDS", seconds)?;
    }
    let sync = sync_seconds.map_or(defaults.template_sync_interval, |seconds| {
        (seconds > 0).then(|| Duration::from_secs(seconds))
    });
    numbers::check("PONS_JOB_WORKERS", workers as u64)?;
    numbers::check("PONS_JOB_POLL_INTERVAL_SECONDS", poll)?;
    numbers::check("PONS_JOB_LEASE_SECONDS", lease)?;
    let media_max_bytes = args
        .media_max_bytes
        .or(file.media_max_bytes)
        .unwrap_or(defaults.media_max_bytes);
    numbers::check("PONS_MEDIA_MAX_BYTES", media_max_bytes)?;
    Ok(JobSettings {
        workers,
        poll_interval: Duration::from_secs(poll),
        lease: Duration::from_secs(lease),
        media_max_bytes,
        template_sync_interval: sync,
        shutdown_grace: Duration::from_secs(shutdown_grace_seconds),
        ..defaults
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{CommonArgs, ServeArgs};
    use crate::config::Settings;

    fn common() -> CommonArgs {
        CommonArgs {
            config: None,
            data_dir: None,
            database_url: None,
            encryption_key_file: None,
            log_format: None,
        }
    }

    #[test]
    fn job_settings_defaults_and_limits() {
        let settings = Settings::load(&common(), &ServeArgs::default()).unwrap();
        let jobs = &settings.server.jobs;
        assert_eq!(jobs.workers, 2);
        assert_eq!(jobs.poll_interval, Duration::from_secs(5));
        assert_eq!(jobs.media_max_bytes, 104_857_600);
        assert_eq!(jobs.template_sync_interval, Some(Duration::from_secs(3600)));

        let mut serve = ServeArgs::default();
        serve.jobs.template_sync_interval_seconds = Some(0);
        let settings = Settings::load(&common(), &serve).unwrap();
        assert_eq!(settings.server.jobs.template_sync_interval, None);

        let mut serve = ServeArgs::default();
        serve.jobs.job_lease_seconds = Some(5);
        let err = Settings::load(&common(), &serve).unwrap_err().to_string();
        assert!(err.contains("PONS_JOB_LEASE_SECONDS"), "{err}");
    }

    #[test]
    fn sync_interval_over_a_year_rejected() {
        let mut serve = ServeArgs::default();
        serve.jobs.template_sync_interval_seconds = Some(i64::MAX as u64);

        let err = Settings::load(&common(), &serve).unwrap_err().to_string();

        assert!(err.contains("PONS_TEMPLATE_SYNC_INTERVAL_SECONDS"), "{err}");
        assert!(err.contains("31536000"), "{err}");
    }
}
