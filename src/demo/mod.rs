//! `pons demo`: the real server, on SQLite in its own data directory, with
//! the Meta stand-in as its Graph API and webhook sender. It seeds a user,
//! a sandbox number and a few customer conversations, lets customers write
//! in now and then, and prints an API key with ready-to-paste MCP client
//! configuration.

mod banner;
mod customers;
mod seed;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::time::Duration;

use anyhow::{Context, bail};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::cli::{CommonArgs, DemoArgs};
use crate::config::Settings;
use crate::jobs::{JobOutcome, JobReport};
use crate::metasim::{MetaSim, MetaSimConfig};
use crate::server::{self, Server};
use crate::store::jobs;

pub use customers::CustomerInterval;

/// Maximum wait for the first template sync and media downloads before the
/// key is printed anyway.
const FIRST_JOBS_TIMEOUT: Duration = Duration::from_secs(30);

/// Data directory of the demo unless `PONS_DATA_DIR` or `--data-dir` names
/// another. [`run`] rejects a directory whose database contains accounts
/// that the demo did not create, so it never mixes with a real
/// installation's data.
pub const DEMO_DATA_DIR: &str = "./pons-demo-data";

/// File name of the demo's SQLite database inside its data directory.
const DATABASE_FILE_NAME: &str = "pons.db";

/// Parses `--customer-interval-seconds`: `MIN-MAX`, one number, or `0`.
pub fn parse_interval(text: &str) -> Result<CustomerInterval, String> {
    CustomerInterval::parse(text)
}

/// Loads the settings of the demo. The data directory is the demo's own
/// unless a flag or the environment names one. The database is always
/// SQLite and the encryption key always a file in that directory, whatever
/// the environment or configuration file set.
pub fn settings(mut common: CommonArgs, args: &DemoArgs) -> anyhow::Result<Settings> {
    let data_dir = common
        .data_dir
        .take()
        .unwrap_or_else(|| PathBuf::from(DEMO_DATA_DIR));
    common.data_dir = Some(data_dir.clone());
    let ignored_database = common.database_url.take();
    common.encryption_key_file = None;
    let mut settings = Settings::load(&common, &args.serve)?;
    settings.data_dir = data_dir.clone();
    settings.database_url = format!("sqlite://{}", data_dir.join(DATABASE_FILE_NAME).display());
    settings.encryption_key_file = data_dir.join(crate::crypto::KEY_FILE_NAME);
    if ignored_database.is_some() {
        eprintln!(
            "note: pons demo ignores PONS_DATABASE_URL and uses SQLite in its data directory"
        );
    }
    if args.serve.graph_api_url.is_some() {
        eprintln!("note: pons demo ignores PONS_GRAPH_API_URL and sends to its built-in sandbox");
    }
    Ok(settings)
}

/// File in the data directory that a running demo keeps locked.
const LOCK_FILE_NAME: &str = "demo.lock";

/// Locks the demo's data directory for as long as the returned file stays
/// open. The operating system releases the lock when the process ends,
/// however it ends. A second demo on the same directory would revoke the
/// first one's key and receive the sandbox's webhooks in its place, so it
/// fails with an error instead.
fn lock_data_dir(data_dir: &Path) -> anyhow::Result<std::fs::File> {
    crate::private_fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    let path = data_dir.join(LOCK_FILE_NAME);
    let file = std::fs::File::create(&path)
        .with_context(|| format!("cannot create the demo lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "another pons demo is running with the data directory {}; stop it first, or give \
             this one another directory with --data-dir or PONS_DATA_DIR",
            data_dir.display()
        ),
        Err(std::fs::TryLockError::Error(error)) => {
            Err(error).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

/// Runs the demo until SIGINT or SIGTERM.
pub async fn run(mut settings: Settings, args: DemoArgs) -> anyhow::Result<()> {
    let sim_config = MetaSimConfig::demo();
    seed::reject_foreign_database(&settings.data_dir, &sim_config)?;
    let _lock = lock_data_dir(&settings.data_dir)?;
    let shutdown = CancellationToken::new();
    server::cancel_on_signal(shutdown.clone());

    let sim = MetaSim::start(sim_config)
        .await
        .context("cannot start the WhatsApp sandbox")?;
    settings.server.graph_api_url = sim.base_url();
    let server = Server::bind(&settings).await?;
    let mut events = server.job_events();
    let store = server.store().clone();
    let sandbox = seed::sandbox(&store, server.secrets(), sim.config()).await?;
    sim.set_webhook_url(Some(&webhook_url(server.local_addr())));
    let mcp_url = format!("{}{}", server.public_url(), crate::mcp::MCP_PATH);
    let serving = tokio::spawn(server.run(shutdown.clone()));

    let sim = Arc::new(sim);
    let prepared = async {
        let downloads = seed::conversations(&store, &sandbox, &sim).await?;
        if settings.server.jobs.workers > 0 {
            wait_for_first_jobs(&mut events, downloads).await;
        }
        seed::api_key(&store, &sandbox.user).await
    };
    let key = match prepared.await {
        Ok(key) => key,
        Err(error) => {
            shutdown.cancel();
            let _ = serving.await;
            return Err(error);
        }
    };
    banner::print(&banner::Connection {
        mcp_url: &mcp_url,
        key: &key,
        phone_number: &sandbox.account.phone_number,
        data_dir: &settings.data_dir,
        interval: args.customer_interval_seconds.unwrap_or_default(),
    });

    let interval = args.customer_interval_seconds.unwrap_or_default();
    let chatter = tokio::spawn(customers::write_in(sim.clone(), interval, shutdown.clone()));
    let served = serving.await.context("server task failed")?;
    if chatter.await.is_err() {
        tracing::error!("demo customer task ended abnormally");
    }
    if let Ok(sim) = Arc::try_unwrap(sim) {
        sim.shutdown().await;
    }
    served
}

/// Waits until the start-up template sync and `downloads` media downloads
/// have finished, so the templates and the first photo are there when the
/// key is printed. Gives up with a warning after `FIRST_JOBS_TIMEOUT`.
async fn wait_for_first_jobs(events: &mut broadcast::Receiver<JobReport>, downloads: usize) {
    let mut syncs_left = 1;
    let mut downloads_left = downloads;
    let wait = async {
        while syncs_left + downloads_left > 0 {
            let report = match events.recv().await {
                Ok(report) => report,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            };
            if matches!(report.outcome, JobOutcome::Retrying { .. }) {
                continue;
            }
            match report.kind.as_str() {
                jobs::TEMPLATE_SYNC => syncs_left = syncs_left.saturating_sub(1),
                jobs::MEDIA_DOWNLOAD => downloads_left = downloads_left.saturating_sub(1),
                _ => {}
            }
        }
    };
    if tokio::time::timeout(FIRST_JOBS_TIMEOUT, wait)
        .await
        .is_err()
    {
        tracing::warn!(
            "the first template sync or media download is still running; \
             templates or the photo may appear a little later"
        );
    }
}

/// Builds the webhook URL the stand-in posts to: the bound address, with a
/// wildcard address replaced by loopback.
fn webhook_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/api/webhook", SocketAddr::new(ip, addr.port()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::ServeArgs;

    #[test]
    fn serve_settings_apply_to_the_demo() {
        let data_dir = tempfile::tempdir().expect("temporary directory");
        let common = CommonArgs {
            data_dir: Some(data_dir.path().to_owned()),
            ..CommonArgs::default()
        };
        let args = DemoArgs {
            serve: ServeArgs {
                read_timeout_seconds: Some(7),
                tool_rate_per_minute: Some(0),
                webhook_max_body_bytes: Some(4096),
                ..ServeArgs::default()
            },
            ..DemoArgs::default()
        };
        let settings = settings(common, &args).expect("valid settings");
        assert_eq!(settings.server.read_timeout_seconds, 7);
        assert_eq!(settings.server.tool_rate_per_minute, 0);
        assert_eq!(settings.server.webhook_max_body_bytes, 4096);
        assert!(settings.database_url.starts_with("sqlite://"));
    }

    #[test]
    fn webhook_url_uses_loopback_for_wildcards() {
        let cases = [
            ("0.0.0.0:3000", "http://127.0.0.1:3000/api/webhook"),
            ("[::]:3000", "http://[::1]:3000/api/webhook"),
            ("192.0.2.7:8080", "http://192.0.2.7:8080/api/webhook"),
        ];
        for (bound, expected) in cases {
            let addr: SocketAddr = bound.parse().unwrap();
            assert_eq!(webhook_url(addr), expected, "for {bound}");
        }
    }
}
