//! The command line: `pons serve`, the administration commands and the
//! benchmark. Every setting can also come from a `PONS_*` environment
//! variable or the TOML file; flags win over the environment, which wins
//! over the file.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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

/// Settings every command needs to reach the database.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// TOML configuration file. Its keys are the settings' names in
    /// snake_case (bind, public_url, data_dir, database_url, …). [default: none]
    #[arg(long, env = "PONS_CONFIG", global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Directory for the SQLite database, the encryption key and stored
    /// media. [default: ./pons-data]
    #[arg(long, env = "PONS_DATA_DIR", global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: `sqlite://PATH` or `postgres://USER@HOST/DB`.
    /// [default: sqlite://<data_dir>/pons.db]
    #[arg(long, env = "PONS_DATABASE_URL", global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// File holding the base64 AES-256 key that encrypts Meta tokens and app
    /// secrets at rest. [default: <data_dir>/encryption.key, created on first start]
    #[arg(
        long,
        env = "PONS_ENCRYPTION_KEY_FILE",
        global = true,
        value_name = "PATH"
    )]
    pub encryption_key_file: Option<PathBuf>,
    /// Address and port to listen on. [default: 127.0.0.1:3000]
    #[arg(long, env = "PONS_BIND", global = true, value_name = "ADDR:PORT")]
    pub bind: Option<String>,
    /// Public base URL of this server, as Meta and MCP clients reach it (no
    /// trailing slash). Used in the webhook URL and OAuth metadata.
    /// [default: http://<bind>]
    #[arg(long, env = "PONS_PUBLIC_URL", global = true, value_name = "URL")]
    pub public_url: Option<String>,
    /// Log format: `text` or `json`. [default: text]
    #[arg(long, env = "PONS_LOG_FORMAT", global = true, value_name = "FORMAT")]
    pub log_format: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server: webhook, MCP endpoint, health checks.
    Serve(ServeArgs),
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
    /// Measure a running server.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// Base URL of Meta's Graph API, version included.
    /// [default: https://graph.facebook.com/v25.0]
    #[arg(long, env = "PONS_GRAPH_API_URL", value_name = "URL")]
    pub graph_api_url: Option<String>,
    /// Extra Host header values accepted on /api/mcp, comma-separated. The
    /// public URL's host and loopback names are always accepted. [default: none]
    #[arg(
        long,
        env = "PONS_ALLOWED_HOSTS",
        value_name = "HOSTS",
        value_delimiter = ','
    )]
    pub allowed_hosts: Option<Vec<String>>,
    /// Browser origins allowed to call /api/mcp, comma-separated, e.g.
    /// `https://app.example.com`. A request from any other Origin gets 403.
    /// [default: none, which accepts requests without an Origin header only
    /// from non-browser clients and any Origin]
    #[arg(
        long,
        env = "PONS_ALLOWED_ORIGINS",
        value_name = "ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Option<Vec<String>>,
    /// Largest webhook body accepted, in bytes; larger bodies get 413.
    /// [default: 1048576]
    #[arg(long, env = "PONS_WEBHOOK_MAX_BODY_BYTES", value_name = "BYTES")]
    pub webhook_max_body_bytes: Option<usize>,
    /// Seconds to wait for open requests to finish after SIGINT or SIGTERM.
    /// [default: 10]
    #[arg(long, env = "PONS_SHUTDOWN_GRACE_SECONDS", value_name = "SECONDS")]
    pub shutdown_grace_seconds: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user.
    Add {
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
    Add {
        /// The account's phone number or id.
        #[arg(long, value_name = "PHONE|ID")]
        account: String,
        #[arg(long, value_name = "EMAIL")]
        user: String,
        /// owner, admin or member.
        #[arg(long, value_name = "ROLE")]
        role: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create an API key. The key is printed once, alone on its own line.
    Create {
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
    /// Revoke a key by its display prefix or id; it stops working at once.
    Revoke {
        #[arg(value_name = "PREFIX|ID")]
        key: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Post signed single-message webhooks to a running server and report
    /// acknowledged webhooks per second and latency percentiles.
    Ingest(crate::bench::IngestArgs),
    /// Fill the configured database with a synthetic corpus for `bench
    /// tools`: a user, an account, a new key with every scope, and
    /// messages. Prints the key (or writes it to --key-file).
    Seed(crate::bench::SeedArgs),
    /// Call one MCP tool over N keep-alive connections and report calls
    /// per second, latency percentiles and errors.
    Tools(crate::bench::ToolsArgs),
}
