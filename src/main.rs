use tokio_util::sync::CancellationToken;

use pons::admin::Admin;
use pons::cli::{
    AccountCommand, BenchCommand, Cli, Command, EncryptionKeyCommand, ServeArgs, SettingText,
    UserCommand,
};
use pons::config::{LogFormat, Settings, ValueOrigin};
use pons::server::{self, KeyUse, Server};
use pons::store::postgres::instance_lock::ServerLock;

/// mimalloc instead of the system allocator: a tool call allocates and frees
/// thousands of small strings and JSON nodes, and glibc's malloc took about
/// a fifth of the server's CPU time on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse_args();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Demo(args) = cli.command {
        let settings = pons::demo::settings(cli.common, &args)?;
        init_tracing(settings.log_format);
        return pons::demo::run(settings, args).await;
    }
    if let Command::Metasim(args) = &cli.command {
        init_tracing(pons::config::log_format(&cli.common)?);
        let bind = args
            .bind
            .as_deref()
            .unwrap_or(pons::metasim::STANDALONE_BIND);
        return pons::metasim::run_standalone(bind, args).await;
    }
    // The admin commands take no server flags, but `account add` prints the
    // webhook URL, which PONS_PUBLIC_URL (or PONS_BIND) sets.
    let from_environment = |variable: &str| {
        let value = std::env::var(variable).ok()?;
        Some(SettingText::new(value, ValueOrigin::Environment))
    };
    let admin_args = ServeArgs {
        bind: from_environment("PONS_BIND"),
        public_url: from_environment("PONS_PUBLIC_URL"),
        ..ServeArgs::default()
    };
    let serve_args = match &cli.command {
        Command::Serve(args) => args,
        _ => &admin_args,
    };
    let settings = Settings::load(&cli.common, serve_args)?;
    init_tracing(settings.log_format);

    match cli.command {
        Command::Serve(_) => {
            // Held until the server stops. `pons demo` takes the exclusive
            // lock and starts its server without this one. A lock file that
            // cannot be opened or locked stops the server here.
            let listener = server::listen(&settings).await?;
            let lock = pons::data_dir_lock::lock_for_server(&settings.data_dir)?;
            let shutdown = CancellationToken::new();
            server::cancel_on_signal(shutdown.clone());
            let new_database = new_database(&settings.database_url).await;
            let (server, _database_lock) = match start_server(&settings, listener).await {
                Ok(started) => started,
                Err(error) => {
                    lock.release_after_failure();
                    return Err(error);
                }
            };
            let _lock = lock;
            log_database(&settings, new_database.as_ref());
            server.run(shutdown).await
        }
        Command::Bench(BenchCommand::Ingest(args)) => pons::bench::ingest(args).await,
        Command::Bench(BenchCommand::Tools(args)) => pons::bench::tools(args).await,
        Command::Bench(BenchCommand::Seed(args)) => {
            pons::bench::reject_foreign_database(&settings.data_dir, &settings.database_url, &args)
                .await?;
            let (store, secrets) = server::open(&settings).await?;
            pons::bench::seed(store, secrets, args).await
        }
        command => {
            // Held until the command ends, so no `pons serve` or `pons demo`
            // runs with the old key meanwhile.
            let key_change_lock = match &command {
                Command::EncryptionKey(EncryptionKeyCommand::Adopt) => Some(
                    pons::data_dir_lock::lock_key_change(
                        &settings.data_dir,
                        &settings.database_url,
                        "pons encryption-key adopt",
                    )
                    .await?,
                ),
                _ => None,
            };
            let new_database = new_database(&settings.database_url).await;
            let new_file = new_database.as_ref().and_then(NewDatabase::file);
            let existed = new_file.is_some_and(|path| path.exists());
            let new_folders = pons::private_fs::topmost_missing(&settings.data_dir);
            let data_dir = settings.data_dir.clone();
            let setting_hint = existing_installation_hint(&settings);
            match until_interrupted(run_admin(command, settings)).await {
                Ok(()) => {
                    if let Some(database) = &new_database {
                        eprintln!(
                            "note: {}, so a new one was created; to manage an existing \
                             installation, {setting_hint}",
                            database.was_missing()
                        );
                    }
                    Ok(())
                }
                Err(error) => {
                    let created = new_file.filter(|_| !existed);
                    let removed_database = remove_created(created);
                    let removed_folders = new_folders.is_some_and(|topmost| {
                        pons::private_fs::remove_empty_folders(&data_dir, &topmost)
                    });
                    if let Some(lock) = key_change_lock {
                        lock.release_after_failure();
                    }
                    if error.is::<Interrupted>() {
                        // The command may still be blocked reading standard
                        // input, which would keep the runtime from stopping.
                        eprintln!(
                            "error: {error}{}",
                            removal_note(created, removed_database, removed_folders, &data_dir)
                        );
                        std::process::exit(130);
                    }
                    Err(error)
                }
            }
        }
    }
}

/// Returns how an administration command uses the encryption key. Only the
/// commands that store secrets may create a key file or store the key
/// verifier, so that a command that stores no secret, run with the wrong
/// data directory, does not bind a new database to a stray key.
fn key_use(command: &Command) -> KeyUse<'_> {
    match command {
        // Replacing both secrets is how an account whose key is lost is
        // recovered, so that account and the key verifier are left out of
        // the key check.
        Command::Account(AccountCommand::SetCredentials {
            account,
            access_token_file: Some(_),
            app_secret_file: Some(_),
            key_lost,
        }) => KeyUse::ReplacingSecrets {
            account,
            key_lost: *key_lost,
        },
        Command::Account(AccountCommand::Add(_)) => KeyUse::Secrets,
        Command::Account(AccountCommand::SetCredentials { .. }) => KeyUse::UpdatingSecret,
        Command::EncryptionKey(EncryptionKeyCommand::Adopt) => KeyUse::Adopting,
        // The first command of a new install creates its database.
        Command::User(UserCommand::Add { .. }) => KeyUse::NoSecrets {
            creates_database: true,
        },
        Command::Account(AccountCommand::List) | Command::Member(_) | Command::Key(_) => {
            KeyUse::NoSecrets {
                creates_database: false,
            }
        }
        Command::Serve(_) | Command::Bench(_) | Command::Demo(_) | Command::Metasim(_) => {
            KeyUse::Secrets
        }
    }
}

/// Opens the database and key for an admin command and runs it. The store
/// is closed when this returns.
async fn run_admin(command: Command, settings: Settings) -> anyhow::Result<()> {
    let (store, key) = server::open_for(&settings, key_use(&command)).await?;
    let mut admin = Admin {
        store,
        key,
        settings,
    };
    match command {
        Command::User(c) => admin.user(c).await,
        Command::Account(c) => admin.account(c).await,
        Command::Member(c) => admin.member(c).await,
        Command::Key(c) => admin.key(c).await,
        Command::EncryptionKey(c) => admin.encryption_key(c).await,
        Command::Serve(_) | Command::Bench(_) | Command::Demo(_) | Command::Metasim(_) => {
            unreachable!("handled above")
        }
    }
}

/// Removes the SQLite database (with its WAL and shared-memory files) and
/// the data directory that a failed command created, so that it leaves the
/// folder as it found it. The directory goes only when nothing else is in
/// it. Removal is best effort: the command's own error is the one reported.
/// Opens the store of `pons serve` and, on PostgreSQL, takes the
/// database's shared lock. The caller holds that lock until the server
/// stops, so no command on any machine changes the database's encryption key
/// meanwhile.
async fn start_server(
    settings: &Settings,
    listener: tokio::net::TcpListener,
) -> anyhow::Result<(Server, Option<ServerLock>)> {
    let server = Server::with_listener(settings, listener).await?;
    let database_lock = if pons::store::is_postgres_url(&settings.database_url) {
        Some(pons::store::postgres::instance_lock::lock_for_server(&settings.database_url).await?)
    } else {
        None
    };
    Ok((server, database_lock))
}

/// The error of an admin command that the user stopped with Ctrl-C.
#[derive(Debug, thiserror::Error)]
#[error("interrupted by Ctrl-C")]
struct Interrupted;

/// Runs an admin command until it ends or the user presses Ctrl-C, which
/// ends it with [`Interrupted`], so that the caller removes what it created.
/// Such a command may be waiting for a secret on standard input.
async fn until_interrupted(
    command: impl std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    // The listener is registered before the command starts, so no Ctrl-C is missed.
    let mut interrupt = signal(SignalKind::interrupt())?;
    let task = tokio::spawn(command);
    tokio::select! {
        joined = task => joined.unwrap_or_else(|error| Err(anyhow::anyhow!("the command failed: {error}"))),
        _ = interrupt.recv() => Err(anyhow::Error::new(Interrupted)),
    }
}

/// Removes the SQLite database `database` and its `-wal` and `-shm` files,
/// which a failed command created. Returns whether the database file was
/// there and was removed.
fn remove_created(database: Option<&std::path::Path>) -> bool {
    let Some(database) = database else {
        return false;
    };
    let removed = std::fs::remove_file(database).is_ok();
    for suffix in ["-wal", "-shm"] {
        let mut path = database.as_os_str().to_owned();
        path.push(suffix);
        std::fs::remove_file(path).ok();
    }
    removed
}

/// Describes what a failed command removed, for the end of its error
/// message, or returns an empty text when it removed nothing.
fn removal_note(
    database: Option<&std::path::Path>,
    removed_database: bool,
    removed_folders: bool,
    data_dir: &std::path::Path,
) -> String {
    let database = database.filter(|_| removed_database);
    match (database, removed_folders) {
        (Some(database), true) => format!(
            "; the new database {} and data directory {} that this command created were \
             removed again",
            database.display(),
            data_dir.display()
        ),
        (Some(database), false) => format!(
            "; the new database {} that this command created was removed again",
            database.display()
        ),
        (None, true) => format!(
            "; the data directory {} that this command created was removed again",
            data_dir.display()
        ),
        (None, false) => String::new(),
    }
}

/// A database that opening the store creates, because it is missing or
/// empty.
enum NewDatabase {
    /// A SQLite file that does not exist yet or is empty.
    File(std::path::PathBuf),
    /// A PostgreSQL database without Pons's tables, shown without
    /// passwords.
    Postgres(String),
}

impl NewDatabase {
    /// Returns the SQLite file, which a failed command removes again.
    fn file(&self) -> Option<&std::path::Path> {
        match self {
            NewDatabase::File(path) => Some(path),
            NewDatabase::Postgres(_) => None,
        }
    }

    /// Describes what was missing, for a note that starts with it.
    fn was_missing(&self) -> String {
        match self {
            NewDatabase::File(path) => format!(
                "no database was at {} (or the file was empty)",
                path.display()
            ),
            NewDatabase::Postgres(database) => {
                format!("the PostgreSQL database {database} had no Pons tables")
            }
        }
    }

    /// Returns the database for a log field.
    fn shown(&self) -> String {
        match self {
            NewDatabase::File(path) => path.display().to_string(),
            NewDatabase::Postgres(database) => database.clone(),
        }
    }
}

/// Returns the database that opening the store at `database_url` creates:
/// a SQLite file that does not exist yet or is empty, or a PostgreSQL
/// database that can be reached and has no Pons tables. `None` when the
/// database has content or cannot be reached, which opening it reports.
async fn new_database(database_url: &str) -> Option<NewDatabase> {
    if pons::store::is_postgres_url(database_url) {
        let lacks_pons = pons::store::postgres::lacks_pons_schema(database_url).await;
        let shown = pons::echo::without_credentials(database_url);
        return lacks_pons.then_some(NewDatabase::Postgres(shown));
    }
    let path = pons::store::sqlite::path_from_url(database_url).ok()?;
    let empty = std::fs::metadata(&path).map_or(true, |metadata| metadata.len() == 0);
    empty.then_some(NewDatabase::File(path))
}

/// Tells how to point Pons at the database of an existing installation,
/// with the setting that chose this database.
fn existing_installation_hint(settings: &Settings) -> String {
    match &settings.database_url_origin {
        Some(origin) => format!(
            "point {} at its database",
            origin.setting_name("PONS_DATABASE_URL")
        ),
        None => "set PONS_DATA_DIR (or --data-dir, or data_dir in the configuration file) to \
                 its data directory"
            .to_owned(),
    }
}

/// Logs the data directory and database the server uses, and warns when
/// it created the database `new_database` at this start. Otherwise a
/// server on a mistyped or unmounted data directory looks like a new one.
fn log_database(settings: &Settings, new_database: Option<&NewDatabase>) {
    let database = pons::echo::without_credentials(&settings.database_url);
    tracing::info!(data_dir = %settings.data_dir.display(), %database, "database opened");
    if let Some(new_database) = new_database {
        tracing::warn!(
            database = %new_database.shown(),
            "created a new, empty database; if this server has data, stop it and {}. Webhooks \
             get 503 until an account is added, so Meta sends them again.",
            existing_installation_hint(settings)
        );
    }
}

/// The log filter when PONS_LOG is unset. PostgreSQL's notices (such as
/// "relation already exists, skipping" at every migration check) are kept
/// out unless they are warnings or errors.
const DEFAULT_LOG_FILTER: &str = "info,rmcp=warn,sqlx::postgres::notice=warn";

fn init_tracing(format: LogFormat) {
    let (filter, invalid) = log_filter(std::env::var("PONS_LOG").ok().as_deref());
    // Colour codes only help a terminal; in journald or a log file they are
    // noise.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    for (name, setting) in pons::cli::mistyped_variables(
        std::env::vars_os().filter_map(|(name, _)| name.into_string().ok()),
    ) {
        tracing::warn!(
            variable = %name,
            "environment variable {name} is not a Pons setting and is ignored; did you mean \
             {setting}?"
        );
    }
    if let Some(warning) = invalid {
        tracing::warn!("{warning}");
    }
}

/// Parses PONS_LOG, falling back to [`DEFAULT_LOG_FILTER`] when it is unset
/// or invalid. An invalid value also returns the warning to log once the
/// subscriber runs.
fn log_filter(value: Option<&str>) -> (tracing_subscriber::EnvFilter, Option<String>) {
    let default = || tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER);
    let Some(value) = value else {
        return (default(), None);
    };
    match tracing_subscriber::EnvFilter::try_new(value) {
        Ok(filter) => (filter, None),
        Err(err) => {
            let warning = format!(
                "invalid PONS_LOG \"{}\" ignored ({err}); logging with the default filter \
                 {DEFAULT_LOG_FILTER}. Use directives such as info,pons=debug",
                pons::echo::echoed(value)
            );
            (default(), Some(warning))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_filter_reports_invalid_value() {
        let (_, warning) = log_filter(Some("info,pons=["));
        let warning = warning.expect("a warning for an invalid filter");
        assert!(warning.contains("\"info,pons=[\""), "{warning}");
        assert!(warning.contains(DEFAULT_LOG_FILTER), "{warning}");
    }

    #[test]
    fn log_filter_accepts_valid_or_unset() {
        assert!(log_filter(Some("info,pons=debug")).1.is_none());
        assert!(log_filter(None).1.is_none());
    }
}
