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

use crate::cli::{CommonArgs, DemoArgs, SettingPath};
use crate::config::{KeyFile, KeyFileChoice, Settings, ValueOrigin};
use crate::data_dir_lock::{self, DataDirLock};
use crate::jobs::{JobOutcome, JobReport};
use crate::metasim::{MetaSim, MetaSimConfig};
use crate::server::{self, Server};
use crate::store::jobs;

pub use customers::CustomerInterval;

/// Maximum wait for the first template sync and media downloads before the
/// key is printed anyway.
const FIRST_JOBS_TIMEOUT: Duration = Duration::from_secs(30);

/// Data directory of the demo unless `PONS_DATA_DIR` or `--data-dir` names
/// another. [`run`] rejects a directory whose database contains accounts,
/// users or API keys that the demo did not create. It also rejects one
/// with an encryption key or media files but no database, one with an
/// encryption key beside a database without an account or the demo user,
/// and one that a running `pons serve` uses, so it never mixes with a real
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
/// the environment or configuration file set. A note on standard error
/// names the flag, variable or file key that set an ignored setting.
pub fn settings(mut common: CommonArgs, args: &DemoArgs) -> anyhow::Result<Settings> {
    let data_dir = common
        .data_dir
        .take()
        .unwrap_or_else(|| PathBuf::from(DEMO_DATA_DIR));
    common.data_dir = Some(data_dir.clone());
    let ignored_database = common.database_url.take();
    let ignored_key_file = common.encryption_key_file.take();
    let mut settings = Settings::load(&common, &args.serve)?;
    settings.data_dir = data_dir.clone();
    settings.database_url = format!("sqlite://{}", data_dir.join(DATABASE_FILE_NAME).display());
    let own_key_file = data_dir.join(crate::crypto::KEY_FILE_NAME);
    // Without a flag or variable, only the configuration file can have
    // chosen the loaded key file.
    let ignored_key_file = ignored_key_file.or_else(|| {
        let loaded = &settings.encryption_key_file;
        match &loaded.chosen_by {
            KeyFileChoice::Setting(origin) => {
                Some(SettingPath::new(loaded.path.clone(), origin.clone()))
            }
            KeyFileChoice::Default | KeyFileChoice::Demo => None,
        }
    });
    if let Some(note) = ignored_key_file_note(ignored_key_file.as_ref(), &own_key_file) {
        eprintln!("{note}");
    }
    settings.encryption_key_file = KeyFile::new(own_key_file, KeyFileChoice::Demo);
    // Settings::load saw only the configuration file's database URL.
    let database_in_file = settings.database_url_origin.take();
    let ignored_database = ignored_database.map(|url| url.origin).or(database_in_file);
    if let Some(origin) = ignored_database {
        eprintln!("{}", ignored_database_note(&origin));
    }
    // The flag, the variable and the configuration file all reach
    // `Settings::load`, which records which of them set the URL.
    if let Some(origin) = settings.server.graph_api_url_origin.take() {
        eprintln!("{}", ignored_graph_api_url_note(&origin));
    }
    Ok(settings)
}

/// Returns the note that the demo ignores the Graph API URL that `origin`
/// set.
fn ignored_graph_api_url_note(origin: &ValueOrigin) -> String {
    ignored_setting_note(
        "Graph API URL",
        origin,
        "PONS_GRAPH_API_URL",
        "sends to its built-in sandbox",
    )
}

/// Returns the note that the demo ignores the configured key file
/// `configured` and uses `own`, or `None` when no other key file is
/// configured.
fn ignored_key_file_note(configured: Option<&SettingPath>, own: &Path) -> Option<String> {
    let configured = configured.filter(|configured| configured.value != own)?;
    Some(format!(
        "note: pons demo ignores the encryption key file {} (set by {}) and uses its own key {} \
         in its data directory",
        configured.display(),
        configured.origin.setting_name("PONS_ENCRYPTION_KEY_FILE"),
        own.display()
    ))
}

/// Returns the note that the demo ignores the database URL that `origin`
/// set.
fn ignored_database_note(origin: &ValueOrigin) -> String {
    ignored_setting_note(
        "database URL",
        origin,
        "PONS_DATABASE_URL",
        "uses SQLite in its data directory",
    )
}

/// Returns the note that the demo ignores the `setting` (named by its
/// `variable`) that `origin` set, and describes what it does `instead`.
fn ignored_setting_note(
    setting: &str,
    origin: &ValueOrigin,
    variable: &str,
    instead: &str,
) -> String {
    format!(
        "note: pons demo ignores the {setting} that {} sets and {instead}",
        origin.setting_name(variable)
    )
}

/// Rejects a data directory that is not the demo's own, and locks it for
/// as long as the returned lock lives. The lock fails while a `pons serve`
/// or another demo uses the directory. A second demo would revoke the first
/// one's key and receive the sandbox's webhooks in its place, and a server
/// would run its accounts' jobs next to the sandbox's. Unless the directory
/// already has a lock file, the checks run before the demo creates one, so
/// a rejected directory stays unchanged.
fn claim_data_dir(data_dir: &Path, sim: &MetaSimConfig) -> anyhow::Result<DataDirLock> {
    // A directory that a server or demo ever used has a lock file. Locking
    // it first reports a running one as such, whatever the directory contains.
    if let Some(lock) = data_dir_lock::lock_existing_for_demo(data_dir)? {
        reject_server_directory(data_dir, sim)?;
        return Ok(lock);
    }
    reject_server_directory(data_dir, sim)?;
    let lock = data_dir_lock::lock_for_demo(data_dir)?;
    // A server may have started and stopped between the checks and the lock.
    reject_server_directory(data_dir, sim)?;
    Ok(lock)
}

/// Rejects a data directory that belongs to a Pons server.
fn reject_server_directory(data_dir: &Path, sim: &MetaSimConfig) -> anyhow::Result<()> {
    reject_key_without_database(data_dir)?;
    reject_media_without_database(data_dir)?;
    seed::reject_foreign_database(data_dir, sim)
}

/// Tells whether `data_dir` contains a database file with content.
fn has_database(data_dir: &Path) -> bool {
    let database = data_dir.join(DATABASE_FILE_NAME);
    std::fs::metadata(&database).is_ok_and(|metadata| metadata.len() > 0)
}

/// Rejects a data directory whose media folder contains a file, at any
/// depth, while the directory has no database or an empty one. The demo creates its
/// database before it stores any media, so such a directory belongs to a
/// server whose database is elsewhere (PostgreSQL) or was lost.
fn reject_media_without_database(data_dir: &Path) -> anyhow::Result<()> {
    let media = data_dir.join(crate::media_files::MEDIA_DIR);
    let has_files = contains_file(&media).with_context(|| {
        format!(
            "cannot read the media folder {} to check that the data directory belongs to pons \
             demo",
            media.display()
        )
    })?;
    if !has_files || has_database(data_dir) {
        return Ok(());
    }
    bail!(
        "data directory {} contains the media folder {} with files but {}, so it is the data \
         directory of a Pons server whose database is elsewhere (PONS_DATABASE_URL) or was \
         lost. The demo never uses a server's data; give the demo its own directory with \
         --data-dir or PONS_DATA_DIR",
        data_dir.display(),
        media.display(),
        describe_missing_database(data_dir)
    )
}

/// Describes the database of `data_dir` that [`has_database`] did not
/// find, for an error: a missing file, or an empty one that a server or an
/// admin command may have left when it stopped before it wrote the tables.
fn describe_missing_database(data_dir: &Path) -> String {
    let database = data_dir.join(DATABASE_FILE_NAME);
    if database.exists() {
        format!("an empty database file {} (0 bytes)", database.display())
    } else {
        format!("no database {DATABASE_FILE_NAME}")
    }
}

/// Rejects a data directory that contains an encryption key file but no
/// database, or an empty one. The demo writes its database before its key,
/// so such a directory belongs to a server whose database is elsewhere
/// (PostgreSQL) or was lost, and the demo would store its sandbox
/// secrets under that server's key.
fn reject_key_without_database(data_dir: &Path) -> anyhow::Result<()> {
    let key_file = data_dir.join(crate::crypto::KEY_FILE_NAME);
    if std::fs::symlink_metadata(&key_file).is_err() {
        return Ok(());
    }
    if has_database(data_dir) {
        return Ok(());
    }
    bail!(
        "data directory {} contains the encryption key file {} but {}, so it is the data \
         directory of a Pons server whose database is elsewhere (PONS_DATABASE_URL) or was \
         lost. The demo never uses a server's key; give the demo its own directory with \
         --data-dir or PONS_DATA_DIR",
        data_dir.display(),
        key_file.display(),
        describe_missing_database(data_dir)
    )
}

/// Tells whether the folder `dir` or a folder below it contains anything
/// but folders. A missing folder contains nothing.
fn contains_file(dir: &Path) -> std::io::Result<bool> {
    let mut pending = vec![dir.to_owned()];
    while let Some(folder) = pending.pop() {
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error),
        };
        for entry in entries {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                pending.push(entry.path());
            } else {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Runs the demo until SIGINT or SIGTERM.
pub async fn run(mut settings: Settings, args: DemoArgs) -> anyhow::Result<()> {
    let sim_config = MetaSimConfig::demo();
    let listener = server::listen(&settings).await?;
    let _lock = claim_data_dir(&settings.data_dir, &sim_config)?;
    let shutdown = CancellationToken::new();
    server::cancel_on_signal(shutdown.clone());

    let sim = MetaSim::start(sim_config)
        .await
        .context("cannot start the WhatsApp sandbox")?;
    settings.server.graph_api_url = sim.base_url();
    seed::mark_database(&settings.database_url).await?;
    let server = Server::with_listener(&settings, listener).await?;
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
    use crate::config::SettingValue;
    use crate::config::sources_named;

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
                webhook_max_body_bytes: Some(SettingValue::new(4096_usize, ValueOrigin::Flag)),
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
    fn graph_url_in_file_is_replaced() {
        let data_dir = tempfile::tempdir().expect("temporary directory");
        let config = data_dir.path().join("pons.toml");
        std::fs::write(&config, "graph_api_url = \"http://127.0.0.1:9/v25.0\"\n").unwrap();
        let common = CommonArgs {
            config: Some(config),
            data_dir: Some(data_dir.path().to_owned()),
            ..CommonArgs::default()
        };
        let settings = settings(common, &DemoArgs::default()).expect("valid settings");
        assert_eq!(
            settings.server.graph_api_url_origin, None,
            "the note about the file's URL took its origin"
        );
    }

    #[test]
    fn ignored_key_file_is_noted() {
        let own = Path::new("pons-demo-data/encryption.key");
        let configured = SettingPath::new("/etc/pons/encryption.key", ValueOrigin::Environment);
        let note =
            ignored_key_file_note(Some(&configured), own).expect("a note for another key file");
        assert!(note.contains("ignores"), "{note}");
        assert!(note.contains("/etc/pons/encryption.key"), "{note}");
        assert!(note.contains("PONS_ENCRYPTION_KEY_FILE"), "{note}");
        assert!(note.contains("pons-demo-data/encryption.key"), "{note}");

        assert_eq!(ignored_key_file_note(None, own), None);
        let own_configured = SettingPath::new(own, ValueOrigin::Flag);
        assert_eq!(ignored_key_file_note(Some(&own_configured), own), None);
    }

    #[test]
    fn ignored_settings_name_their_source() {
        let own = Path::new("pons-demo-data/encryption.key");
        let config = PathBuf::from("/etc/pons.toml");
        let cases = [
            (ValueOrigin::Flag, "--encryption-key-file", "--database-url"),
            (
                ValueOrigin::Environment,
                "the environment variable PONS_ENCRYPTION_KEY_FILE",
                "the environment variable PONS_DATABASE_URL",
            ),
            (
                ValueOrigin::File(config),
                "`encryption_key_file` in the configuration file /etc/pons.toml",
                "`database_url` in the configuration file /etc/pons.toml",
            ),
        ];
        for (origin, key_file_setting, database_setting) in cases {
            let configured = SettingPath::new("/etc/pons/encryption.key", origin.clone());
            let note = ignored_key_file_note(Some(&configured), own).expect("a note");
            let named = format!("(set by {key_file_setting})");
            assert!(note.contains(&named), "{note}");
            assert_eq!(
                sources_named(&note, "PONS_ENCRYPTION_KEY_FILE"),
                1,
                "{note}"
            );

            let note = ignored_database_note(&origin);
            let named = format!("ignores the database URL that {database_setting} sets");
            assert!(note.contains(&named), "{note}");
            assert_eq!(sources_named(&note, "PONS_DATABASE_URL"), 1, "{note}");
        }
    }

    #[test]
    fn ignored_graph_url_names_source() {
        let file = ValueOrigin::File(PathBuf::from("/etc/pons.toml"));
        for (origin, source) in [
            (ValueOrigin::Flag, "--graph-api-url"),
            (ValueOrigin::Environment, "PONS_GRAPH_API_URL"),
            (
                file,
                "`graph_api_url` in the configuration file /etc/pons.toml",
            ),
        ] {
            let note = ignored_graph_api_url_note(&origin);
            assert!(note.contains("ignores the Graph API URL that"), "{note}");
            assert!(note.contains(source), "{note}");
            assert_eq!(sources_named(&note, "PONS_GRAPH_API_URL"), 1, "{note}");
        }
    }

    #[test]
    fn key_without_database_is_rejected() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let key_file = dir.path().join(crate::crypto::KEY_FILE_NAME);
        std::fs::write(&key_file, "key").unwrap();

        let missing = format!("{:#}", reject_key_without_database(dir.path()).unwrap_err());
        std::fs::write(dir.path().join(DATABASE_FILE_NAME), "").unwrap();
        let empty = format!("{:#}", reject_key_without_database(dir.path()).unwrap_err());

        let database = dir.path().join(DATABASE_FILE_NAME);
        let no_database = format!("but no database {DATABASE_FILE_NAME}");
        assert!(missing.contains(&no_database), "{missing}");
        let empty_database = format!(
            "but an empty database file {} (0 bytes)",
            database.display()
        );
        assert!(empty.contains(&empty_database), "{empty}");
        assert!(!empty.contains("no database"), "{empty}");
        for message in [missing, empty] {
            let directory = format!("data directory {}", dir.path().display());
            assert!(message.contains(&directory), "{message}");
            let key = format!("key file {}", key_file.display());
            assert!(message.contains(&key), "{message}");
            assert!(message.contains("--data-dir or PONS_DATA_DIR"), "{message}");
        }
    }

    #[test]
    fn key_with_database_or_no_key_passes() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let data_dir = dir.path().join("data");

        assert!(
            reject_key_without_database(&data_dir).is_ok(),
            "missing directory"
        );
        std::fs::create_dir(&data_dir).unwrap();
        assert!(
            reject_key_without_database(&data_dir).is_ok(),
            "empty directory"
        );
        std::fs::write(data_dir.join(DATABASE_FILE_NAME), "SQLite format 3").unwrap();
        assert!(
            reject_key_without_database(&data_dir).is_ok(),
            "database only"
        );
        std::fs::write(data_dir.join(crate::crypto::KEY_FILE_NAME), "key").unwrap();
        assert!(
            reject_key_without_database(&data_dir).is_ok(),
            "database and key"
        );
    }

    #[tokio::test]
    async fn key_beside_unmarked_database_is_rejected() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let database = dir.path().join(DATABASE_FILE_NAME);
        let url = format!("sqlite://{}", database.display());
        drop(crate::store::connect(&url).await.expect("create database"));
        let key_file = dir.path().join(crate::crypto::KEY_FILE_NAME);
        std::fs::write(&key_file, "key").unwrap();
        let sim = MetaSimConfig::demo();

        let message = format!(
            "{:#}",
            reject_server_directory(dir.path(), &sim).unwrap_err()
        );

        let directory = format!("data directory {}", dir.path().display());
        assert!(message.contains(&directory), "{message}");
        let key = format!("key file {}", key_file.display());
        assert!(message.contains(&key), "{message}");
        assert!(message.contains("no account and no demo user"), "{message}");
        assert!(message.contains("--data-dir or PONS_DATA_DIR"), "{message}");

        seed::mark_database(&url)
            .await
            .expect("store the demo user");
        assert!(
            reject_server_directory(dir.path(), &sim).is_ok(),
            "a database with the demo user belongs to the demo"
        );
    }

    #[test]
    fn directory_as_database_is_rejected() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let database = dir.path().join(DATABASE_FILE_NAME);
        std::fs::create_dir(&database).unwrap();
        let sim = MetaSimConfig::demo();

        let message = format!(
            "{:#}",
            reject_server_directory(dir.path(), &sim).unwrap_err()
        );

        let expected = format!("SQLite database {} is a directory", database.display());
        assert!(message.contains(&expected), "{message}");
        assert!(message.contains("move it away"), "{message}");
        assert!(!message.contains("disk I/O error"), "{message}");
    }

    #[test]
    fn media_without_database_is_rejected() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let stored = dir.path().join("media").join("ab");
        std::fs::create_dir_all(&stored).unwrap();
        std::fs::write(stored.join("ab12"), "photo").unwrap();

        let missing = format!(
            "{:#}",
            reject_media_without_database(dir.path()).unwrap_err()
        );
        std::fs::write(dir.path().join(DATABASE_FILE_NAME), "").unwrap();
        let empty = format!(
            "{:#}",
            reject_media_without_database(dir.path()).unwrap_err()
        );

        let database = dir.path().join(DATABASE_FILE_NAME);
        let no_database = format!("but no database {DATABASE_FILE_NAME}");
        assert!(missing.contains(&no_database), "{missing}");
        let empty_database = format!(
            "but an empty database file {} (0 bytes)",
            database.display()
        );
        assert!(empty.contains(&empty_database), "{empty}");
        for message in [missing, empty] {
            let directory = format!("data directory {}", dir.path().display());
            assert!(message.contains(&directory), "{message}");
            let media = format!("media folder {}", dir.path().join("media").display());
            assert!(message.contains(&media), "{message}");
            assert!(message.contains("--data-dir or PONS_DATA_DIR"), "{message}");
        }
    }

    #[test]
    fn media_folders_or_database_pass() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let data_dir = dir.path();

        assert!(
            reject_media_without_database(data_dir).is_ok(),
            "no media folder"
        );
        std::fs::create_dir_all(data_dir.join("media").join("partial")).unwrap();
        assert!(
            reject_media_without_database(data_dir).is_ok(),
            "empty folders only"
        );
        std::fs::write(data_dir.join("media").join("partial").join("x"), "").unwrap();
        std::fs::write(data_dir.join(DATABASE_FILE_NAME), "SQLite format 3").unwrap();
        assert!(
            reject_media_without_database(data_dir).is_ok(),
            "media and database"
        );
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
