//! Starting and stopping the server: open the store, bind, serve until a
//! shutdown signal, then let open requests finish.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::{KeyFile, Settings};
use crate::crypto::{CryptoError, SecretBox};
use crate::http::{AppState, Rejections, WriteFailures, router};
use crate::ingest_gate::ParseGate;
use crate::jobs::{JobContext, JobQueue, JobReport, JobRuntime};
use crate::key_check::KeyCheck;
use crate::media_files::MediaFiles;
use crate::store::{Account, AccountId, DynStore, MetaError, UnixTime};
use crate::whatsapp::graph::GraphClient;

/// Bound on one Graph API call of a background job, from connecting to the
/// last body byte, unless PONS_GRAPH_TIMEOUT_SECONDS is longer. Media
/// downloads of up to 100 MiB need more time than the calls of the tools.
const JOB_GRAPH_TIMEOUT: Duration = Duration::from_secs(300);

/// Time added to the Graph API timeout before a `pending` send counts as
/// abandoned at start-up. A send stores its message as `pending` before it
/// calls Meta and records the outcome right after the call. A message still
/// `pending` without a wamid after the timeout plus this margin therefore
/// belongs to a process that stopped in between. The margin also covers
/// other instances on the same database that are still sending.
const UNCONFIRMED_SEND_MARGIN: Duration = Duration::from_secs(300);

/// Builds the error stored on a send that Pons stopped before Meta confirmed.
fn unconfirmed_send_error() -> MetaError {
    MetaError {
        code: None,
        title: Some("Send not confirmed".to_owned()),
        message: Some(
            "Pons stopped before Meta confirmed this send, so the customer may or may not \
             have received the message. Check the conversation before sending it again."
                .to_owned(),
        ),
        details: None,
    }
}

/// How often a running server looks for sends that another instance left
/// `pending` when it stopped during them.
const UNCONFIRMED_SEND_SWEEP: Duration = Duration::from_secs(60);

/// Runs [`fail_unconfirmed_sends`] every [`UNCONFIRMED_SEND_SWEEP`] until
/// `shutdown`, because an instance on the same database may stop during a
/// send while this one keeps running.
async fn sweep_unconfirmed_sends(
    store: DynStore,
    graph_timeout: Duration,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(UNCONFIRMED_SEND_SWEEP) => {}
        }
        fail_unconfirmed_sends(&store, graph_timeout, chrono::Utc::now().timestamp()).await;
    }
}

/// Marks outbound messages left `pending` by a process that stopped during
/// the send as `failed`, so that they do not stay `pending` forever. A store
/// error is logged and the server goes on.
async fn fail_unconfirmed_sends(store: &DynStore, graph_timeout: Duration, now: UnixTime) {
    let grace = graph_timeout + UNCONFIRMED_SEND_MARGIN;
    let sent_before = now - i64::try_from(grace.as_secs()).unwrap_or(i64::MAX);
    match store
        .fail_unconfirmed_sends(sent_before, unconfirmed_send_error(), now)
        .await
    {
        Ok(ids) if ids.is_empty() => {}
        Ok(ids) => tracing::warn!(
            count = ids.len(),
            message_ids = %ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
            "marked sends that Meta never confirmed as failed; the process stopped during them"
        ),
        Err(error) => tracing::error!(%error, "failed to mark unconfirmed sends as failed"),
    }
}

/// Opens the database (applying migrations) and the encryption key, and
/// rejects a key that cannot decrypt every account's stored secrets or the
/// database's key verifier. The first time a key is used with a database,
/// it stores the verifier (see [`crate::key_check`]).
pub async fn open(settings: &Settings) -> anyhow::Result<(DynStore, SecretBox)> {
    let key_file = &settings.encryption_key_file.path;
    let mut attempt = 1;
    loop {
        let key_existed = key_file.exists();
        match open_with_key(settings).await {
            // Another instance started on the same data directory at the
            // same time and created the key file meanwhile: its key is the
            // one to use, once it is written.
            Err(error) if !key_existed && key_file.exists() && attempt < KEY_RACE_ATTEMPTS => {
                log_key_race(key_file, &error);
                attempt += 1;
                tokio::time::sleep(KEY_RACE_PAUSE).await;
            }
            result => return result,
        }
    }
}

/// Logs that another instance created the key file while this one opened
/// the key, so this one reads the key again. `error` is why this attempt
/// failed. When it is the [`KeyFileCreatedMeanwhile`] error of a command,
/// whose advice to run the command again does not apply to a server that
/// retries by itself, it is left out.
fn log_key_race(key_file: &std::path::Path, error: &anyhow::Error) {
    let key_file = key_file.display();
    if error.is::<KeyFileCreatedMeanwhile>() {
        tracing::info!(%key_file, "another instance created the encryption key file while this \
            one started; reading its key");
    } else {
        tracing::info!(%key_file, %error, "another instance created the encryption key file \
            while this one started; reading its key");
    }
}

/// The error of a command that found the key file missing when another
/// command created it, before this one could.
#[derive(Debug, thiserror::Error)]
#[error(
    "another command created the encryption key file {key_file} while this one ran, so this \
     one stored nothing; run it again, and it uses that key"
)]
pub struct KeyFileCreatedMeanwhile {
    key_file: String,
}

/// Attempts at opening the key when instances start together and one of
/// them creates the key file, and the pause between them.
const KEY_RACE_ATTEMPTS: u32 = 5;
const KEY_RACE_PAUSE: Duration = Duration::from_millis(200);

async fn open_with_key(settings: &Settings) -> anyhow::Result<(DynStore, SecretBox)> {
    let (store, key) = open_for(settings, KeyUse::Secrets).await?;
    let secrets = match key {
        CommandKey::Checked(secrets) => *secrets,
        CommandKey::Missing(new_key) => new_key.create(&store).await?,
        CommandKey::Absent => unreachable!("KeyUse::Secrets always loads or may create a key"),
    };
    Ok((store, secrets))
}

/// The use a command makes of the encryption key, which decides how
/// [`open_for`] loads and checks it.
#[derive(Clone, Copy, Debug)]
pub enum KeyUse<'a> {
    /// The command encrypts or decrypts secrets and may store the first
    /// data (`serve`, `account add`). It creates the database when it is
    /// missing. The key file may be created when it is missing and the
    /// database contains no account and no key verifier, and the verifier
    /// is stored when none is stored yet.
    Secrets,
    /// `pons account set-credentials` with one secret: like
    /// [`KeyUse::Secrets`], but the account must exist, so it never
    /// creates the database.
    UpdatingSecret,
    /// The command stores no secret (the list commands, users, members and
    /// API keys). It creates no key file, stores no verifier, and runs
    /// without a key when the database contains no account and no verifier.
    /// It creates the database only with `creates_database`, which `pons
    /// user add` sets because a new install starts with it.
    NoSecrets { creates_database: bool },
    /// `pons account set-credentials` with both secrets of `account`
    /// (phone number or id). The key check leaves out that account, and
    /// with `key_lost` also the key verifier and the other accounts under
    /// another key. The key file may be created when it is missing only
    /// with `key_lost`, and the database never. The caller then runs
    /// [`crate::key_check::adopt_key`] once no account is left under
    /// another key.
    /// NOTE: with `key_lost` and a wrong key it moves that account to the
    /// wrong key, and when no other account exists, the verifier too.
    /// [`open`] then rejects the right key until the account is stored
    /// again with it.
    ReplacingSecrets { account: &'a str, key_lost: bool },
    /// `pons encryption-key adopt`: it creates the database when it is
    /// missing, the key file may be created when it is missing and no
    /// account exists, and the caller checks the key with
    /// [`crate::key_check::adopt_key`].
    Adopting,
}

impl KeyUse<'_> {
    /// Tells whether the command may create a missing database. Only the
    /// commands that can store the first data do, so that a command run
    /// with a wrong data directory or database URL creates nothing there.
    pub fn creates_database(self) -> bool {
        matches!(
            self,
            KeyUse::Secrets
                | KeyUse::Adopting
                | KeyUse::NoSecrets {
                    creates_database: true
                }
        )
    }
}

/// The encryption key of a command, as [`open_for`] leaves it.
#[derive(Debug)]
pub enum CommandKey {
    /// Loaded from the key file and checked against the database. Boxed
    /// because the cipher's key schedule is about a kilobyte.
    Checked(Box<SecretBox>),
    /// The key file is missing and the command may create it. The command
    /// runs its own checks first, so that a command that fails leaves no
    /// new key file behind.
    Missing(NewKey),
    /// The key file is missing, and the command stores no secret.
    Absent,
}

/// A key file that a command may create, and the check the new key gets.
#[derive(Debug)]
pub struct NewKey {
    key_file: KeyFile,
    check: NewKeyCheck,
}

/// The [`KeyCheck`] that a new key gets, owning the replaced account's id.
#[derive(Debug)]
enum NewKeyCheck {
    Full,
    Replacing {
        account: AccountId,
        key_lost: bool,
    },
    /// `pons encryption-key adopt` checks the key itself.
    Adopting,
}

impl NewKey {
    /// Creates the key file with a new random key and checks the key
    /// against the database. When the check fails, it removes the key file
    /// again, because nothing was stored under the key yet.
    pub async fn create(self, store: &DynStore) -> anyhow::Result<SecretBox> {
        let key_file = &self.key_file;
        let secrets = SecretBox::create(&key_file.path).map_err(|error| match &error {
            CryptoError::KeyFile { error: io, .. }
                if io.kind() == std::io::ErrorKind::AlreadyExists =>
            {
                anyhow::Error::new(KeyFileCreatedMeanwhile {
                    key_file: key_file.display().to_string(),
                })
            }
            _ => anyhow::anyhow!("{error}. {}", key_file.chosen_by_note()),
        })?;
        tracing::info!(key_file = %key_file.display(), "created a new encryption key file");
        let check = match &self.check {
            NewKeyCheck::Full => KeyCheck::Full,
            NewKeyCheck::Replacing { account, key_lost } => KeyCheck::Replacing {
                account,
                key_lost: *key_lost,
            },
            NewKeyCheck::Adopting => return Ok(secrets),
        };
        if let Err(error) = crate::key_check::check_key(store, &secrets, key_file, check).await {
            if let Err(removal) = std::fs::remove_file(key_file) {
                tracing::warn!(key_file = %key_file.display(), error = %removal,
                    "removing the new encryption key file after a failed key check failed");
            }
            return Err(error);
        }
        Ok(secrets)
    }
}

/// Opens the database and the encryption key for a command that uses the
/// key as `key_use` describes. A command that does not create the database
/// fails when the SQLite database file is missing or empty, and creates no
/// file or folder. The key is [`CommandKey::Absent`] only for
/// [`KeyUse::NoSecrets`] when the key file is missing and the database
/// contains no account and no key verifier.
pub async fn open_for(
    settings: &Settings,
    key_use: KeyUse<'_>,
) -> anyhow::Result<(DynStore, CommandKey)> {
    // A command that stores no secret needs the data directory only for a
    // SQLite database in it.
    let needs_data_dir = !matches!(key_use, KeyUse::NoSecrets { .. })
        || !crate::store::is_postgres_url(&settings.database_url);
    if needs_data_dir {
        crate::data_dir_lock::reject_non_directory(&settings.data_dir)?;
    }
    if key_use.creates_database() && needs_data_dir {
        crate::private_fs::create_dir_all(&settings.data_dir).with_context(|| {
            format!(
                "cannot create data directory {}",
                settings.data_dir.display()
            )
        })?;
    } else if !key_use.creates_database() {
        reject_missing_database(&settings.database_url).await?;
    }
    // The key file is read before the database is opened, so that a key
    // file that cannot be read (a folder on its path, an empty file) stops
    // a first start before it creates a database.
    let key_file = &settings.encryption_key_file;
    let loaded = SecretBox::load(&key_file.path)
        .map_err(|error| anyhow::anyhow!("{error}. {}", key_file.chosen_by_note()))?;
    let store = crate::store::connect(&settings.database_url)
        .await
        .with_context(|| {
            format!(
                "cannot open the database {} ({})",
                crate::echo::without_credentials(&settings.database_url),
                settings.database_url_source()
            )
        })?;
    let replaced = match key_use {
        KeyUse::ReplacingSecrets { account, .. } => {
            let found = crate::admin::find_account_by_ref(&store, account).await?;
            let found = found.ok_or_else(|| {
                anyhow::anyhow!(
                    "account \"{}\" not found; `pons account list` shows ids and numbers",
                    crate::echo::echoed(account)
                )
            })?;
            Some(found)
        }
        _ => None,
    };
    let check = match (key_use, &replaced) {
        (KeyUse::Secrets | KeyUse::UpdatingSecret, _) => NewKeyCheck::Full,
        (KeyUse::NoSecrets { .. }, _) => NewKeyCheck::Full,
        (KeyUse::ReplacingSecrets { key_lost, .. }, Some(account)) => NewKeyCheck::Replacing {
            account: account.id.clone(),
            key_lost,
        },
        (KeyUse::ReplacingSecrets { .. }, None) => unreachable!("the account was found above"),
        (KeyUse::Adopting, _) => NewKeyCheck::Adopting,
    };
    let Some(secrets) = loaded else {
        reject_missing_key_file(&store, key_file, key_use, replaced.as_ref()).await?;
        if matches!(key_use, KeyUse::NoSecrets { .. }) {
            return Ok((store, CommandKey::Absent));
        }
        let new_key = NewKey {
            key_file: key_file.clone(),
            check,
        };
        return Ok((store, CommandKey::Missing(new_key)));
    };
    let check = match (key_use, &check) {
        (KeyUse::NoSecrets { .. }, _) => KeyCheck::NoSecrets,
        (_, NewKeyCheck::Full) => KeyCheck::Full,
        (_, NewKeyCheck::Replacing { account, key_lost }) => KeyCheck::Replacing {
            account,
            key_lost: *key_lost,
        },
        (_, NewKeyCheck::Adopting) => return Ok((store, CommandKey::Checked(Box::new(secrets)))),
    };
    crate::key_check::check_key(&store, &secrets, key_file, check).await?;
    Ok((store, CommandKey::Checked(Box::new(secrets))))
}

/// Rejects a SQLite database URL whose file is missing or empty, or a
/// PostgreSQL schema without Pons's tables, for a command that must not
/// create a database. Such a command run from
/// another folder, or with a mistyped setting, would otherwise create an
/// empty database there.
/// NOTE: the file is checked before it is opened, so a file removed in
/// between is still created.
async fn reject_missing_database(database_url: &str) -> anyhow::Result<()> {
    if crate::store::is_postgres_url(database_url) {
        return crate::store::postgres::reject_schema_without_pons(database_url).await;
    }
    let path = crate::store::sqlite::path_from_url(database_url)?;
    let has_content = std::fs::metadata(&path).is_ok_and(|metadata| metadata.len() > 0);
    if has_content {
        return Ok(());
    }
    anyhow::bail!(
        "no Pons database at {}, and this command does not create one. Point the command at \
         the installation's database with --data-dir (PONS_DATA_DIR), --database-url \
         (PONS_DATABASE_URL) or data_dir or database_url in the configuration file (--config). \
         A new installation gets its database from `pons serve`",
        path.display()
    )
}

/// Rejects a missing key file, before a new key is created in its place,
/// when the database stores secrets or a key verifier made with a key,
/// with an error that names the way out. `pons account set-credentials`
/// with both secrets may replace a lost key for `replaced` when no other
/// account exists, or for one account at a time with `--key-lost`. `pons
/// encryption-key adopt` may replace a lost key while no account exists.
async fn reject_missing_key_file(
    store: &DynStore,
    key_file: &KeyFile,
    key_use: KeyUse<'_>,
    replaced: Option<&Account>,
) -> anyhow::Result<()> {
    let accounts = store.list_accounts().await?;
    if let (KeyUse::ReplacingSecrets { key_lost, .. }, Some(replaced)) = (key_use, replaced) {
        if key_lost {
            return Ok(());
        }
        let others: Vec<&Account> = accounts.iter().filter(|a| a.id != replaced.id).collect();
        if others.is_empty() {
            // A missing key file may as well be a wrong data directory.
            anyhow::bail!(
                "encryption key file {} is missing, and the secrets of +{} were encrypted with a \
                 key. Every command must use the key file of the server, so {}. If that key \
                 is lost, add --key-lost to this command, which creates a new key file, stores \
                 the credentials under it and makes it the database's key",
                key_file.display(),
                replaced.phone_number,
                key_file.point_at_it()
            );
        }
        anyhow::bail!(
            "encryption key file {} is missing, and besides +{} the database holds {} \
             account(s) whose secrets were encrypted with a key: {}. Restore that file or {} \
             and run this command again. If that key is lost, \
             add --key-lost to this command, which creates a new key file and stores the \
             credentials of +{} under it, then store the credentials of the other accounts \
             again the same way, one command per account: `pons account set-credentials \
             --account PHONE --key-lost --access-token-file PATH --app-secret-file PATH` with \
             PHONE {}",
            key_file.display(),
            replaced.phone_number,
            others.len(),
            crate::key_check::describe_all(others.iter().copied()),
            key_file.point_at_it(),
            replaced.phone_number,
            others
                .iter()
                .map(|account| format!("+{}", account.phone_number))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !accounts.is_empty() {
        let listed: Vec<&Account> = accounts.iter().collect();
        anyhow::bail!(
            "encryption key file {} is missing, but the database holds {} account(s) whose \
             secrets were encrypted with a key: {}; restore that file or {} (a new key cannot \
             decrypt them). If that key is lost, {}",
            key_file.display(),
            accounts.len(),
            crate::key_check::describe_all(listed.iter().copied()),
            key_file.point_at_it(),
            crate::key_check::recovery_steps(&listed)
        );
    }
    if !matches!(key_use, KeyUse::Adopting) && store.key_verifier().await?.is_some() {
        anyhow::bail!(
            "encryption key file {} is missing, but the database stores a key verifier, so a key \
             was used with it before; restore that file or {}. If that key is lost, `pons \
             encryption-key adopt` creates a new key file and makes it the database's key; every \
             Pons instance on this database must then use the new key file",
            key_file.display(),
            key_file.point_at_it()
        );
    }
    Ok(())
}

/// A server bound to its listener, ready to run.
pub struct Server {
    listener: TcpListener,
    state: AppState,
    jobs: JobRuntime,
    grace: Duration,
}

/// Binds the configured address (port 0 picks a free one). Commands bind
/// before they lock, open or create anything, so an address in use leaves
/// the data directory and the database as they were. Connections wait in
/// the listener's backlog until the server runs.
pub async fn listen(settings: &Settings) -> anyhow::Result<TcpListener> {
    TcpListener::bind(settings.server.bind)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}, {}",
                settings.server.bind,
                settings.server.bind_source()
            )
        })
}

impl Server {
    /// Binds the configured address, then opens everything.
    pub async fn bind(settings: &Settings) -> anyhow::Result<Server> {
        let listener = listen(settings).await?;
        Self::with_listener(settings, listener).await
    }

    /// Opens the store, the key and the jobs for a server on `listener`.
    pub async fn with_listener(
        settings: &Settings,
        listener: TcpListener,
    ) -> anyhow::Result<Server> {
        let (store, secrets) = open(settings).await?;
        let mut server_settings = settings.server.clone();
        if server_settings.bind.port() == 0 {
            // The public URL defaulted to the unbound address; point it at the real port.
            let actual = listener.local_addr()?;
            let unbound = format!("http://{}", settings.server.bind);
            if server_settings.public_url == unbound {
                server_settings.public_url = format!("http://{actual}");
            }
        }
        let timeout = Duration::from_secs(settings.server.graph_timeout_seconds);
        fail_unconfirmed_sends(&store, timeout, chrono::Utc::now().timestamp()).await;
        let graph = graph_client(settings, timeout)?;
        let queue = JobQueue::new(store.clone());
        let media = MediaFiles::new(&settings.data_dir);
        remove_stale_partials(&media).await;
        let jobs = JobRuntime::new(
            JobContext {
                store: store.clone(),
                secrets: secrets.clone(),
                graph: graph_client(settings, JOB_GRAPH_TIMEOUT.max(timeout))?,
                media: media.clone(),
                settings: settings.server.jobs.clone(),
            },
            queue.clone(),
        );
        let state = AppState {
            store,
            secrets,
            graph,
            settings: Arc::new(server_settings),
            jobs: queue,
            media,
            write_failures: WriteFailures::default(),
            rejections: Rejections::default(),
            parse_gate: ParseGate::default(),
        };
        let grace = Duration::from_secs(settings.server.shutdown_grace_seconds);
        Ok(Server {
            listener,
            state,
            jobs,
            grace,
        })
    }

    /// Returns the store the server uses.
    pub fn store(&self) -> &DynStore {
        &self.state.store
    }

    /// Returns the cipher of account secrets.
    pub fn secrets(&self) -> &SecretBox {
        &self.state.secrets
    }

    /// Returns the queue that enqueues jobs and wakes this server's workers.
    pub fn job_queue(&self) -> &JobQueue {
        &self.state.jobs
    }

    /// Subscribes to the report of every job attempt once the server runs.
    pub fn job_events(&self) -> tokio::sync::broadcast::Receiver<JobReport> {
        self.jobs.subscribe()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    pub fn public_url(&self) -> &str {
        &self.state.settings.public_url
    }

    /// Starts the job workers and serves until `shutdown` is cancelled, then
    /// waits up to the grace period for open requests and running jobs.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let addr = self.local_addr();
        tracing::info!(
            %addr,
            public_url = %self.state.settings.public_url,
            version = env!("CARGO_PKG_VERSION"),
            "pons listening"
        );
        if self.state.settings.public_url_is_unspecified_address() {
            tracing::warn!(
                public_url = %self.state.settings.public_url,
                "the public URL defaults to the bind address, which names no host that clients \
                 or Meta can reach, so the OAuth metadata names it too; set PONS_PUBLIC_URL \
                 (--public-url) to the URL clients use"
            );
        }
        let workers = self.jobs.start(shutdown.clone());
        let graph_timeout = Duration::from_secs(self.state.settings.graph_timeout_seconds);
        tokio::spawn(sweep_unconfirmed_sends(
            self.state.store.clone(),
            graph_timeout,
            shutdown.clone(),
        ));
        let read_timeout = Duration::from_secs(self.state.settings.read_timeout_seconds);
        let app = router(self.state);
        let serve = crate::http::serve(self.listener, app, read_timeout, shutdown.clone());
        let grace = self.grace;
        tokio::select! {
            () = serve => {}
            _ = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
                tracing::warn!(
                    grace_seconds = grace.as_secs(),
                    "closed the connections still open after the grace period: a request \
                     still running, or a client that stopped sending its request; \
                     PONS_SHUTDOWN_GRACE_SECONDS sets the wait"
                );
            }
        }
        if tokio::time::timeout(grace, workers).await.is_err() {
            tracing::warn!("job workers did not stop within the grace period");
        }
        tracing::info!("pons stopped");
        Ok(())
    }
}

/// Deletes the temporary files of media downloads that a crashed or killed
/// process left behind. A failure is logged and start-up goes on.
async fn remove_stale_partials(media: &MediaFiles) {
    match media.remove_stale_partials().await {
        Ok(0) => {}
        Ok(count) => tracing::info!(
            count,
            "deleted temporary files of interrupted media downloads"
        ),
        Err(error) => tracing::warn!(%error,
            "deleting temporary files of interrupted media downloads failed"),
    }
    if let Err(error) = media.check_writable().await {
        tracing::warn!(folder = %media.media_dir().display(), %error,
            "cannot write to the media folder, so inbound photos, videos, audio and documents \
             cannot be downloaded; give the user that runs Pons write access to it. Each \
             download is retried with backoff and fails for good after its last attempt");
    }
}

/// Builds a client of the configured Graph API whose calls may each take
/// up to `timeout`.
fn graph_client(settings: &Settings, timeout: Duration) -> anyhow::Result<GraphClient> {
    GraphClient::new(&settings.server.graph_api_url, timeout)
        .context("cannot build the Graph API client (PONS_GRAPH_API_URL)")
}

/// Cancels the token on SIGINT or SIGTERM. SIGHUP is logged and ignored.
pub fn cancel_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        tokio::pin!(ctrl_c);
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut term =
                signal(SignalKind::terminate()).expect("SIGTERM handler can be installed");
            // Pons reads its configuration only at start. Without a handler,
            // SIGHUP, which many operators send to reload a service, would end
            // the process at once.
            let mut hangup = signal(SignalKind::hangup()).expect("SIGHUP handler can be installed");
            loop {
                tokio::select! {
                    _ = &mut ctrl_c => break,
                    _ = term.recv() => break,
                    _ = hangup.recv() => tracing::warn!(
                        "SIGHUP received and ignored: Pons reads its configuration only at \
                         start, so restart it to apply changes"
                    ),
                }
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutdown signal received");
        token.cancel();
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{MessageStatus, NewAccount, NewOutboundMessage, NewUser};

    /// Opens a new SQLite store in `dir` and returns it with the path of a
    /// key file that does not exist yet and a full first-start key check.
    async fn store_and_new_key(dir: &tempfile::TempDir) -> (DynStore, std::path::PathBuf, NewKey) {
        let store =
            crate::store::connect(&format!("sqlite://{}", dir.path().join("p.db").display()))
                .await
                .expect("open store");
        let path = dir.path().join("encryption.key");
        let new_key = NewKey {
            key_file: KeyFile::new(&path, crate::config::KeyFileChoice::Default),
            check: NewKeyCheck::Full,
        };
        (store, path, new_key)
    }

    #[tokio::test]
    async fn key_file_created_meanwhile_names_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let (store, path, new_key) = store_and_new_key(&dir).await;
        // Another command creates the key file after this one found it
        // missing.
        SecretBox::create(&path).unwrap();

        let error = new_key.create(&store).await.unwrap_err().to_string();

        assert!(
            error.contains("another command created the encryption key file"),
            "{error}"
        );
        assert!(error.contains("run it again"), "{error}");
    }

    /// A server that lost the race to create the key file retries by
    /// itself, so its log line leaves out the advice to run it again.
    #[tokio::test]
    async fn key_race_log_has_no_command_advice() {
        let dir = tempfile::tempdir().unwrap();
        let (store, path, new_key) = store_and_new_key(&dir).await;
        SecretBox::create(&path).unwrap();
        let error = new_key.create(&store).await.unwrap_err();

        let logged = crate::test_log::capture(|| log_key_race(&path, &error));

        assert!(logged.contains("another instance created"), "{logged}");
        assert!(logged.contains("reading its key"), "{logged}");
        assert!(!logged.contains("run it again"), "{logged}");
        assert!(!logged.contains("stored nothing"), "{logged}");
    }

    /// Opens a SQLite store in `dir` with one account and a `pending` send at
    /// each of `timestamps`, and returns the store and the sends' ids.
    async fn store_with_pending_sends(
        dir: &tempfile::TempDir,
        timestamps: &[UnixTime],
    ) -> (DynStore, Vec<crate::store::MessageId>) {
        let store =
            crate::store::connect(&format!("sqlite://{}", dir.path().join("p.db").display()))
                .await
                .expect("open store");
        let owner = store
            .create_user(NewUser {
                email: "owner@example.com".to_owned(),
                password_hash: None,
            })
            .await
            .expect("create user");
        let account = store
            .create_account(NewAccount {
                name: "Shop".to_owned(),
                waba_id: "waba-1".to_owned(),
                phone_number_id: "pnid-1".to_owned(),
                phone_number: "15550001111".to_owned(),
                display_name: None,
                access_token_encrypted: b"token".to_vec(),
                app_secret_encrypted: b"secret".to_vec(),
                verify_token: "verify".to_owned(),
                owner: owner.id.clone(),
            })
            .await
            .expect("create account");
        let mut ids = Vec::new();
        for &timestamp in timestamps {
            let message = store
                .insert_outbound(NewOutboundMessage {
                    account_id: account.id.clone(),
                    wa_id: "15557654321".to_owned(),
                    kind: "text".to_owned(),
                    text: Some("hello".to_owned()),
                    caption: None,
                    media: None,
                    context_wamid: None,
                    content_json: "{}".to_owned(),
                    timestamp,
                })
                .await
                .expect("insert outbound");
            ids.push(message.id);
        }
        (store, ids)
    }

    /// Servers started together on a new data directory all start, with
    /// the key file that one of them created.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_first_starts_share_key() {
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("temporary directory");
            let common = crate::cli::CommonArgs {
                data_dir: Some(dir.path().to_path_buf()),
                ..crate::cli::CommonArgs::default()
            };
            let settings =
                Settings::load(&common, &crate::cli::ServeArgs::default()).expect("settings");
            let (first, second) = tokio::join!(
                tokio::spawn({
                    let settings = settings.clone();
                    async move { open(&settings).await.map(|(_, key)| key) }
                }),
                tokio::spawn({
                    let settings = settings.clone();
                    async move { open(&settings).await.map(|(_, key)| key) }
                }),
            );
            let first = first.unwrap().expect("the first instance opens");
            let second = second.unwrap().expect("the second instance opens");
            let sealed = first.encrypt(b"token");
            assert_eq!(&second.decrypt(&sealed).unwrap()[..], b"token", "one key");
        }
    }

    #[tokio::test]
    async fn start_up_fails_unconfirmed_sends() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let now: UnixTime = 1_700_000_000;
        let timeout = Duration::from_secs(15);
        let grace = 15 + UNCONFIRMED_SEND_MARGIN.as_secs() as i64;
        let (store, ids) =
            store_with_pending_sends(&dir, &[now - grace - 1, now - grace + 1]).await;

        fail_unconfirmed_sends(&store, timeout, now).await;

        let (_, old) = store.find_message(&ids[0]).await.unwrap().unwrap();
        assert_eq!(old.status, MessageStatus::Failed);
        let error = old.error.expect("error stored");
        let text = error.message.unwrap_or_default();
        assert!(text.contains("may or may not have received"), "{text}");
        let (_, within_grace) = store.find_message(&ids[1]).await.unwrap().unwrap();
        assert_eq!(within_grace.status, MessageStatus::Pending);
    }

    /// Runs under tokio's paused clock, which skips the sweep's minute of
    /// waiting; the send's age is measured on the real clock.
    #[tokio::test(start_paused = true)]
    async fn running_server_fails_unconfirmed_sends() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let timeout = Duration::from_secs(15);
        let grace = 15 + UNCONFIRMED_SEND_MARGIN.as_secs() as i64;
        let old = chrono::Utc::now().timestamp() - grace - 60;
        let (store, ids) = store_with_pending_sends(&dir, &[old]).await;
        let shutdown = CancellationToken::new();
        let sweep = tokio::spawn(sweep_unconfirmed_sends(
            store.clone(),
            timeout,
            shutdown.clone(),
        ));

        let mut status = MessageStatus::Pending;
        for _ in 0..100 {
            tokio::time::sleep(UNCONFIRMED_SEND_SWEEP).await;
            status = store.find_message(&ids[0]).await.unwrap().unwrap().1.status;
            if status == MessageStatus::Failed {
                break;
            }
        }
        assert_eq!(status, MessageStatus::Failed);
        shutdown.cancel();
        sweep.await.expect("the sweep stops at shutdown");
    }
}
