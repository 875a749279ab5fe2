//! The command line: `pons serve`, `pons demo`, `pons metasim`, the
//! administration commands and the benchmark. Every setting can also come
//! from a `PONS_*` environment variable or the TOML file; flags win over
//! the environment, which wins over the file.

use std::path::PathBuf;

use clap::{Arg, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

mod setting_number;
mod setting_value;

use crate::config::SettingValue;
use setting_number::SettingNumber;
pub use setting_value::{
    NonEmptyPath, OUTER_WHITESPACE_FIX, SettingPath, SettingText, SettingValueParser,
    has_outer_whitespace,
};

#[derive(Debug, Parser)]
#[command(
    name = "pons",
    version,
    about = "Bridge between the WhatsApp Business Cloud API and MCP clients"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses the process's arguments with [`command`], like
    /// [`Parser::parse`]. Prints help, the version or an error and exits
    /// when the arguments request help or the version, or are invalid.
    pub fn parse_args() -> Cli {
        let mut command = command();
        let mut matches = command.get_matches_mut();
        Cli::from_arg_matches_mut(&mut matches)
            .unwrap_or_else(|error| error.format(&mut command).exit())
    }
}

/// Global options that `pons metasim` ignores. It logs in the format
/// that --log-format sets and keeps no data.
const IGNORED_BY_METASIM: [&str; 4] = ["config", "data_dir", "database_url", "encryption_key_file"];

/// Builds the command line of [`Cli`]. `metasim` gets hidden copies of
/// the global options it ignores. Clap adds a global option only to
/// subcommands without an option of that id, so its help lists only the
/// options it uses, while the copies still accept what scripts pass.
pub fn command() -> clap::Command {
    let command = Cli::command();
    let hidden: Vec<Arg> = command
        .get_arguments()
        .filter(|arg| IGNORED_BY_METASIM.contains(&arg.get_id().as_str()))
        .map(|arg| arg.clone().global(false).hide(true))
        .collect();
    command.mut_subcommand("metasim", |metasim| metasim.args(hidden))
}

/// Settings every command needs to reach the database and to log.
#[derive(Debug, Args, Default)]
pub struct CommonArgs {
    /// TOML configuration file. Its keys are the settings' names in
    /// snake_case (bind, public_url, data_dir, database_url, …). Relative
    /// paths in it are resolved against the file's folder, and those of
    /// flags and variables against the working directory. [default: none]
    #[arg(long, env = "PONS_CONFIG", global = true, value_name = "PATH",
        value_parser = NonEmptyPath
    )]
    pub config: Option<PathBuf>,
    /// Directory for the SQLite database, the encryption key and stored
    /// media. [default: ./pons-data, and ./pons-demo-data for `pons demo`]
    #[arg(long, env = "PONS_DATA_DIR", global = true, value_name = "DIR",
        value_parser = NonEmptyPath
    )]
    pub data_dir: Option<PathBuf>,
    /// Database URL: `sqlite://PATH` or `postgres://USER@HOST/DB`.
    /// `pons demo` ignores it. [default: sqlite://<data_dir>/pons.db]
    #[arg(long, env = "PONS_DATABASE_URL", global = true, value_name = "URL",
        value_parser = SettingValueParser::text()
    )]
    pub database_url: Option<SettingText>,
    /// File holding the base64 AES-256 key that encrypts Meta tokens and app
    /// secrets at rest. `pons demo` ignores it and uses its own key in its
    /// data directory. [default: <data_dir>/encryption.key, created on first start]
    #[arg(
        long,
        env = "PONS_ENCRYPTION_KEY_FILE",
        global = true,
        value_name = "PATH",
        value_parser = SettingValueParser::path()
    )]
    pub encryption_key_file: Option<SettingPath>,
    /// Log format: `text` or `json`. The PONS_LOG variable filters what is
    /// logged, e.g. `pons=debug` (debug logs message text, phone numbers and tool arguments).
    /// [default: text, filter info,rmcp=warn,sqlx::postgres::notice=warn]
    #[arg(long, env = "PONS_LOG_FORMAT", global = true, value_name = "FORMAT",
        value_parser = SettingValueParser::text()
    )]
    pub log_format: Option<SettingText>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server: webhook, MCP endpoint, health checks, workers.
    Serve(ServeArgs),
    /// Run the server against a built-in WhatsApp sandbox and print an API key.
    ///
    /// No Meta app is needed, because a simulated number with demo customers
    /// replaces Meta. Data goes to ./pons-demo-data unless --data-dir or
    /// PONS_DATA_DIR names another directory. The database and the
    /// encryption key are always files in that directory. The demo rejects a
    /// directory that a running `pons serve` uses or that contains a
    /// server's data.
    #[command(mut_arg("graph_api_url", |arg| arg.hide(true)))]
    Demo(DemoArgs),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage WhatsApp business numbers.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage who may use an account.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Manage API keys for MCP clients.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Manage the key that encrypts Meta access tokens and app secrets.
    #[command(subcommand)]
    EncryptionKey(EncryptionKeyCommand),
    /// Measure a running server.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Run only the Meta stand-in, for tests: a fake Graph API and webhook
    /// sender with a JSON control API under /_metasim.
    ///
    /// It listens on --bind [default: 127.0.0.1:0, a free loopback port]
    /// and, once listening, prints one JSON line to standard
    /// output: {"graph_api_url": ..., "origin": ..., "control_url": ...}.
    /// Point PONS_GRAPH_API_URL of `pons serve` at graph_api_url. Webhooks
    /// go only to --webhook-url or the URL set through the control API.
    /// SIGINT or SIGTERM stops it. The credentials are test values that the
    /// stand-in compares against, not Meta's.
    Metasim(MetasimArgs),
}

/// Settings of the server, which `pons demo` shares.
#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// Address and port to listen on. [default: 127.0.0.1:3000]
    #[arg(long, env = "PONS_BIND", value_name = "ADDR:PORT",
        value_parser = SettingValueParser::text()
    )]
    pub bind: Option<SettingText>,
    /// Public base URL of this server, as Meta and MCP clients reach it; a
    /// trailing slash is removed. It may end in a path that a proxy removes
    /// before passing requests on. Used in the webhook URL and OAuth
    /// metadata.
    /// [default: http://<bind>]
    #[arg(long, env = "PONS_PUBLIC_URL", value_name = "URL",
        value_parser = SettingValueParser::text()
    )]
    pub public_url: Option<SettingText>,
    /// Base URL of Meta's Graph API, version included.
    /// [default: https://graph.facebook.com/v25.0]
    #[arg(long, env = "PONS_GRAPH_API_URL", value_name = "URL",
        value_parser = SettingValueParser::text()
    )]
    pub graph_api_url: Option<SettingText>,
    /// Seconds one Graph API request may take, from connecting to the last
    /// byte of the response, before it counts as timed out. [default: 15]
    #[arg(long, env = "PONS_GRAPH_TIMEOUT_SECONDS", value_name = "SECONDS",
        allow_negative_numbers = true,
        value_parser = SettingNumber::<u64>::new()
    )]
    pub graph_timeout_seconds: Option<u64>,
    /// Seconds a client may take to send its request headers, to send each
    /// part of a request body, or to read the next part of a response.
    /// Pons closes slower connections.
    /// [default: 30]
    #[arg(long, env = "PONS_READ_TIMEOUT_SECONDS", value_name = "SECONDS",
        allow_negative_numbers = true,
        value_parser = SettingNumber::<u64>::new()
    )]
    pub read_timeout_seconds: Option<u64>,
    /// MCP tool calls each API key may make per minute on one instance;
    /// further calls get a tool error saying when to retry. 0 disables the
    /// limit. [default: 120]
    #[arg(long, env = "PONS_TOOL_RATE_PER_MINUTE", value_name = "CALLS",
        allow_negative_numbers = true,
        value_parser = SettingNumber::<u32>::new()
    )]
    pub tool_rate_per_minute: Option<u32>,
    /// Extra Host header values accepted on /api/mcp, comma-separated: host
    /// names or IP addresses, each optionally with :PORT, such as
    /// proxy.internal:8443 or [2001:db8::1]:3000. The public URL's host and
    /// loopback names are always accepted. [default: none]
    #[arg(
        long,
        env = "PONS_ALLOWED_HOSTS",
        value_name = "HOSTS",
        value_delimiter = ',',
        value_parser = SettingValueParser::text()
    )]
    pub allowed_hosts: Option<Vec<SettingText>>,
    /// Browser origins allowed to call /api/mcp, comma-separated, e.g.
    /// `https://app.example.com`. Once set, a request from any other Origin
    /// gets 403. [default: none, which accepts every Origin]
    #[arg(
        long,
        env = "PONS_ALLOWED_ORIGINS",
        value_name = "ORIGINS",
        value_delimiter = ',',
        value_parser = SettingValueParser::text()
    )]
    pub allowed_origins: Option<Vec<SettingText>>,
    /// Largest webhook body accepted, in bytes; larger bodies get 413.
    /// Meta sends bodies of up to 3 MB. [default: 4194304]
    #[arg(long, env = "PONS_WEBHOOK_MAX_BODY_BYTES", value_name = "BYTES",
        allow_negative_numbers = true,
        value_parser = SettingValueParser::new(SettingNumber::<usize>::new())
    )]
    pub webhook_max_body_bytes: Option<SettingValue<usize>>,
    /// Webhook body bytes that all requests together may be sending or
    /// having processed at once. A body that would go over it gets 503
    /// with Retry-After and is not read, and Meta sends it again later.
    /// Must be at least --webhook-max-body-bytes. [default: 67108864 (64 MiB)]
    #[arg(long, env = "PONS_WEBHOOK_MAX_IN_FLIGHT_BYTES", value_name = "BYTES",
        allow_negative_numbers = true,
        value_parser = SettingValueParser::new(SettingNumber::<usize>::new())
    )]
    pub webhook_max_in_flight_bytes: Option<SettingValue<usize>>,
    /// Seconds to wait for open requests to finish after SIGINT or SIGTERM.
    /// [default: 20, the Graph API timeout's default and 5 seconds]
    #[arg(long, env = "PONS_SHUTDOWN_GRACE_SECONDS", value_name = "SECONDS",
        allow_negative_numbers = true,
        value_parser = SettingNumber::<u64>::new()
    )]
    pub shutdown_grace_seconds: Option<u64>,
    #[command(flatten)]
    pub jobs: JobArgs,
}

/// Settings of the background workers (media downloads, template syncs).
#[derive(Clone, Debug, Args, Default)]
pub struct JobArgs {
    /// Background workers in this instance; 0 runs none, leaving jobs to
    /// other instances on the same database. [default: 2]
    #[arg(long, env = "PONS_JOB_WORKERS", value_name = "COUNT",
        allow_negative_numbers = true,
        value_parser = SettingNumber::<usize>::new()
    )]
    pub job_workers: Option<usize>,
    /// Seconds an idle worker waits before looking for due jobs again; jobs
    /// enqueued by this instance wake it at once. [default: 5]
    #[arg(long, env = "PONS_JOB_POLL_INTERVAL_SECONDS", value_name = "SECONDS",
        allow_negative_numbers = true,
        value_parser = SettingNumber::<u64>::new()
    )]
    pub job_poll_interval_seconds: Option<u64>,
    /// Seconds a worker keeps a claimed job without renewing the lease.
    /// While a job runs, its worker renews the lease every third of this
    /// time, so another worker claims the job only after its worker
    /// crashed. [default: 600]
    #[arg(long, env = "PONS_JOB_LEASE_SECONDS", value_name = "SECONDS",
        allow_negative_numbers = true,
        value_parser = SettingNumber::<u64>::new()
    )]
    pub job_lease_seconds: Option<u64>,
    /// Largest media file downloaded from Meta, in bytes; larger files are
    /// marked failed. [default: 104857600 (100 MiB)]
    #[arg(long, env = "PONS_MEDIA_MAX_BYTES", value_name = "BYTES",
        allow_negative_numbers = true,
        value_parser = SettingNumber::<u64>::new()
    )]
    pub media_max_bytes: Option<u64>,
    /// Seconds between template syncs of every account; 0 disables the
    /// periodic sync (the sync at start-up and the syncs triggered by
    /// template status webhooks still run). [default: 3600]
    #[arg(
        long,
        env = "PONS_TEMPLATE_SYNC_INTERVAL_SECONDS",
        value_name = "SECONDS",
        allow_negative_numbers = true,
        value_parser = SettingNumber::<u64>::new()
    )]
    pub template_sync_interval_seconds: Option<u64>,
}

#[derive(Debug, Args, Default)]
pub struct DemoArgs {
    /// Seconds between messages from demo customers, as MIN-MAX (a random
    /// pause in that range each time), or 0 for no new messages.
    /// [default: 30-90]
    #[arg(
        long,
        env = "PONS_DEMO_CUSTOMER_INTERVAL_SECONDS",
        value_name = "MIN-MAX",
        value_parser = crate::demo::parse_interval
    )]
    pub customer_interval_seconds: Option<crate::demo::CustomerInterval>,
    /// The settings of `pons serve`, except the Graph API URL, which is the
    /// sandbox's.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Args)]
pub struct MetasimArgs {
    /// Address and port to listen on. [default: 127.0.0.1:0, a free
    /// loopback port]
    #[arg(long, value_name = "ADDR:PORT")]
    pub bind: Option<String>,
    /// Receiver of status and inbound webhooks, such as
    /// http://127.0.0.1:3000/api/webhook. [default: none, so no webhooks
    /// until the control API sets one]
    #[arg(long, value_name = "URL")]
    pub webhook_url: Option<String>,
    /// The only bearer token the stand-in accepts. [default: metasim-access-token]
    #[arg(long, value_name = "TOKEN")]
    pub access_token: Option<String>,
    /// Key of the X-Hub-Signature-256 HMAC on webhooks. [default: metasim-app-secret]
    #[arg(long, value_name = "SECRET")]
    pub app_secret: Option<String>,
    /// WhatsApp Business Account id whose templates are listed.
    /// [default: 100000000000001]
    #[arg(long, value_name = "ID")]
    pub waba_id: Option<String>,
    /// Phone number id that accepts sends. [default: 100000000000002]
    #[arg(long, value_name = "ID")]
    pub phone_number_id: Option<String>,
    /// The business number's digits, as webhooks carry it. [default: 15550001111]
    #[arg(long, value_name = "DIGITS")]
    pub display_phone_number: Option<String>,
    /// Start with the templates of `pons demo`: approved positional and
    /// named templates and a pending one.
    #[arg(long)]
    pub demo_templates: bool,
    /// Fail non-template sends with Meta's error 131047 unless the
    /// recipient wrote in the last 24 hours (through an inbound webhook or
    /// the control API's last-inbound).
    #[arg(long)]
    pub enforce_service_window: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user.
    Add {
        /// The user's email address, which names the user in other commands.
        email: String,
        /// Read a password from standard input (first line) for dashboard sign-in.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Connect a WhatsApp business number. Prints its id, the webhook URL and
    /// the verify token to paste into Meta's app dashboard.
    Add(Box<AccountAddArgs>),
    /// List connected numbers.
    List,
    /// Store a new access token and/or app secret for an account, for
    /// example after Meta rejected the old token.
    SetCredentials {
        /// The account's phone number or id.
        #[arg(long, value_name = "PHONE|ID")]
        account: String,
        /// File holding the new Meta access token; `-` reads standard input.
        #[arg(long, value_name = "PATH")]
        access_token_file: Option<PathBuf>,
        /// File holding the new Meta app secret; `-` reads standard input.
        #[arg(long, value_name = "PATH")]
        app_secret_file: Option<PathBuf>,
        /// The database's key is lost: store this account's credentials
        /// under the configured key file (created when missing), even while
        /// other accounts are still under the lost key. Needs both secret
        /// files. Run it once per account; the last one makes the
        /// configured key the database's key.
        #[arg(long, requires_all = ["access_token_file", "app_secret_file"])]
        key_lost: bool,
    },
}

#[derive(Debug, Args)]
pub struct AccountAddArgs {
    /// Email of the user who owns the account.
    #[arg(long, value_name = "EMAIL")]
    pub owner: String,
    /// A name for this number inside Pons.
    #[arg(long)]
    pub name: String,
    /// WhatsApp Business Account id from Meta.
    #[arg(long, value_name = "ID")]
    pub waba_id: String,
    /// Phone number id from Meta (not the phone number).
    #[arg(long, value_name = "ID")]
    pub phone_number_id: String,
    /// The business phone number in E.164, e.g. +15550001111.
    #[arg(long, value_name = "E164")]
    pub phone_number: String,
    /// Display name shown to customers.
    #[arg(long, value_name = "NAME")]
    pub display_name: Option<String>,
    /// File holding the Meta access token; `-` reads standard input.
    #[arg(long, value_name = "PATH")]
    pub access_token_file: PathBuf,
    /// File holding the Meta app secret; `-` reads standard input.
    #[arg(long, value_name = "PATH")]
    pub app_secret_file: PathBuf,
    /// Webhook verify token to type into Meta. [default: a random token]
    #[arg(long, value_name = "TOKEN")]
    pub verify_token: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Give a user access to an account, or change their role.
    ///
    /// Every role reaches the account through the user's API keys. The
    /// role records who runs the number: an account keeps at least one
    /// owner.
    Add {
        /// The account's phone number or id.
        #[arg(long, value_name = "PHONE|ID")]
        account: String,
        /// Email of the user (see `pons user add`).
        #[arg(long, value_name = "EMAIL")]
        user: String,
        /// owner, admin or member.
        #[arg(long, value_name = "ROLE")]
        role: String,
    },
    /// Take a user's access to an account away; their keys stop reaching
    /// it at the next request. The last owner cannot be removed.
    Remove {
        /// The account's phone number or id.
        #[arg(long, value_name = "PHONE|ID")]
        account: String,
        /// Email of the user.
        #[arg(long, value_name = "EMAIL")]
        user: String,
    },
    /// List the users who may use an account, with their roles.
    List {
        /// The account's phone number or id.
        #[arg(long, value_name = "PHONE|ID")]
        account: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create an API key. The key is printed once, alone on its own line.
    Create {
        /// Email of the user the key acts for (see `pons user add`); the
        /// key reaches only that user's accounts.
        #[arg(long, value_name = "EMAIL")]
        user: String,
        /// A name to recognise the key by, e.g. "Claude Desktop".
        #[arg(long)]
        name: String,
        /// Comma-separated scopes: read, write, send.
        #[arg(long, value_name = "SCOPES")]
        scopes: String,
        /// Days until the key stops working. [default: never]
        #[arg(long, value_name = "DAYS")]
        expires_in_days: Option<u32>,
        /// Limit the key to this account (phone number or id); repeat for
        /// several. [default: every account the user is a member of]
        #[arg(long = "account", value_name = "PHONE|ID")]
        accounts: Vec<String>,
    },
    /// List API keys without their secret part.
    List,
    /// Revoke a key by its display prefix, its id or its whole text; it stops working at once.
    Revoke {
        /// The key's prefix as `pons key list` shows it, its id, or the
        /// whole key.
        #[arg(value_name = "PREFIX|ID|KEY")]
        key: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum EncryptionKeyCommand {
    /// Make the configured key file the database's encryption key, in place
    /// of a lost key.
    ///
    /// The first time a key is used with a database, Pons stores a value
    /// encrypted with it, and from then on rejects every other key. This
    /// command makes the key in --encryption-key-file or
    /// PONS_ENCRYPTION_KEY_FILE [default: <data_dir>/encryption.key, created
    /// when missing] the database's key. It fails unless every account's
    /// access token and app secret decrypt with that key, so store the
    /// credentials of accounts under the lost key again first with `pons
    /// account set-credentials`. Every Pons instance and administration
    /// command on the database must use this key file afterwards.
    Adopt,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Post signed single-message webhooks to a running server and report
    /// acknowledged webhooks per second and latency percentiles.
    Ingest(crate::bench::IngestArgs),
    /// Fill the configured database with a synthetic corpus for `bench
    /// tools`: a user, an account, a new key with every scope, and
    /// messages. Prints the key (or writes it to --key-file). Rejects a
    /// database with accounts, users or keys that it did not create.
    Seed(crate::bench::SeedArgs),
    /// Call one MCP tool over N keep-alive connections and report calls
    /// per second, latency percentiles and errors.
    Tools(crate::bench::ToolsArgs),
}

/// Environment variables that Pons reads besides those of its options.
const OTHER_VARIABLES: [&str; 1] = ["PONS_LOG"];
/// Variables with the `PONS_` prefix that the test and benchmark scripts
/// and the printed MCP client configuration use. They are no settings.
const TOOL_VARIABLES: [&str; 4] = [
    "PONS_API_KEY",
    "PONS_BENCH_CORPUS",
    "PONS_BIN",
    "PONS_TEST_DATABASE_URL",
];

/// Returns, for each environment variable in `names` that starts with
/// `PONS_` but is no Pons setting, the setting whose name is one or two
/// typos away, or else the shortest setting whose name it begins, such as
/// `PONS_READ_TIMEOUT_SECONDS` for `PONS_READ_TIMEOUT` (a unit left out).
/// Pons ignores such a variable, which silently leaves the setting at its
/// default, such as a new data directory.
pub fn mistyped_variables(names: impl Iterator<Item = String>) -> Vec<(String, String)> {
    let known = known_variables();
    names
        .filter(|name| name.starts_with("PONS_") && !known.contains(name))
        .filter(|name| !TOOL_VARIABLES.contains(&name.as_str()))
        .filter_map(|name| {
            let (distance, closest) = known
                .iter()
                .map(|known| (strsim::levenshtein(&name, known), known))
                .min()?;
            if distance <= 2 {
                return Some((name, closest.clone()));
            }
            let prefix = format!("{name}_");
            let longer = known
                .iter()
                .filter(|known| known.starts_with(&prefix))
                .min_by_key(|known| known.len())?;
            Some((name, longer.clone()))
        })
        .collect()
}

/// Returns the names of every environment variable that Pons reads.
fn known_variables() -> Vec<String> {
    fn collect(command: &clap::Command, names: &mut Vec<String>) {
        for arg in command.get_arguments() {
            if let Some(name) = arg.get_env().and_then(|name| name.to_str()) {
                names.push(name.to_owned());
            }
        }
        for subcommand in command.get_subcommands() {
            collect(subcommand, names);
        }
    }
    let mut names: Vec<String> = OTHER_VARIABLES
        .iter()
        .map(|name| name.to_string())
        .collect();
    collect(&command(), &mut names);
    names.sort_unstable();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mistyped_variables_are_found() {
        let names = [
            "PONS_DATADIR",
            "PONS_DATA_DIR",
            "PONS_LOG",
            "PONS_API_KEY",
            "HOME",
            "PONS_READ_TIMEOUT",
            "PONS_UNRELATED_THING",
        ];
        let found = mistyped_variables(names.iter().map(|name| name.to_string()));

        assert_eq!(
            found,
            vec![
                ("PONS_DATADIR".to_owned(), "PONS_DATA_DIR".to_owned()),
                (
                    "PONS_READ_TIMEOUT".to_owned(),
                    "PONS_READ_TIMEOUT_SECONDS".to_owned()
                ),
            ]
        );
    }

    /// Returns the help text that `args` print.
    fn help(args: &[&str]) -> String {
        let error = command().try_get_matches_from(args).unwrap_err();
        assert_eq!(
            error.kind(),
            clap::error::ErrorKind::DisplayHelp,
            "{args:?}"
        );
        error.render().to_string()
    }

    /// Parses `args` as `pons` does.
    fn parse(args: &[&str]) -> Cli {
        let matches = command()
            .try_get_matches_from(args)
            .expect("valid arguments");
        Cli::from_arg_matches(&matches).expect("arguments match Cli")
    }

    const GLOBAL_OPTIONS: [&str; 5] = [
        "--config",
        "--data-dir",
        "--database-url",
        "--encryption-key-file",
        "--log-format",
    ];

    #[test]
    fn command_definition_is_valid() {
        command().debug_assert();
    }

    #[test]
    fn metasim_help_lists_only_its_options() {
        let text = help(&["pons", "metasim", "--help"]);
        for used in [
            "--log-format",
            "--bind",
            "--webhook-url",
            "--demo-templates",
        ] {
            assert!(text.contains(used), "{used} missing from:\n{text}");
        }
        for ignored in [
            "--config",
            "--data-dir",
            "--database-url",
            "--encryption-key-file",
        ] {
            assert!(!text.contains(ignored), "{ignored} listed in:\n{text}");
        }
    }

    #[test]
    fn other_help_keeps_global_options() {
        let commands: [&[&str]; 5] = [
            &["pons", "--help"],
            &["pons", "serve", "--help"],
            &["pons", "demo", "--help"],
            &["pons", "key", "create", "--help"],
            &["pons", "bench", "seed", "--help"],
        ];
        for args in commands {
            let text = help(args);
            for option in GLOBAL_OPTIONS {
                assert!(
                    text.contains(option),
                    "{option} missing from {args:?}:\n{text}"
                );
            }
        }
    }

    #[test]
    fn global_options_parse_before_and_after() {
        let cases: [&[&str]; 6] = [
            &["pons", "--data-dir", "d", "serve"],
            &["pons", "serve", "--data-dir", "d"],
            &["pons", "--data-dir", "d", "key", "list"],
            &["pons", "key", "list", "--data-dir", "d"],
            &["pons", "--data-dir", "d", "metasim"],
            &["pons", "metasim", "--data-dir", "d"],
        ];
        for args in cases {
            let cli = parse(args);
            assert_eq!(cli.common.data_dir, Some(PathBuf::from("d")), "{args:?}");
        }
    }

    #[test]
    fn metasim_takes_log_format() {
        let cli = parse(&[
            "pons",
            "metasim",
            "--log-format",
            "json",
            "--bind",
            "127.0.0.1:0",
        ]);
        assert_eq!(cli.common.log_format.as_deref(), Some("json"));
        let Command::Metasim(args) = cli.command else {
            panic!("parsed as another command: {:?}", cli.command);
        };
        assert_eq!(args.bind.as_deref(), Some("127.0.0.1:0"));
    }
}
