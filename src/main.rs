use clap::Parser;
use tokio_util::sync::CancellationToken;

use pons::admin::Admin;
use pons::cli::{BenchCommand, Cli, Command, ServeArgs};
use pons::config::{LogFormat, Settings};
use pons::server::{self, Server};

/// mimalloc instead of the system allocator: a tool call allocates and frees
/// thousands of small strings and JSON nodes, and glibc's malloc took about
/// a fifth of the server's CPU time on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
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
        let settings = Settings::load(&cli.common, &ServeArgs::default())?;
        init_tracing(settings.log_format);
        let bind = args
            .bind
            .as_deref()
            .unwrap_or(pons::metasim::STANDALONE_BIND);
        return pons::metasim::run_standalone(bind, args).await;
    }
    let serve_args = match &cli.command {
        Command::Serve(args) => args,
        _ => &ServeArgs::default(),
    };
    let settings = Settings::load(&cli.common, serve_args)?;
    init_tracing(settings.log_format);

    match cli.command {
        Command::Serve(_) => {
            let shutdown = CancellationToken::new();
            server::cancel_on_signal(shutdown.clone());
            Server::bind(&settings).await?.run(shutdown).await
        }
        Command::Bench(BenchCommand::Ingest(args)) => pons::bench::ingest(args).await,
        Command::Bench(BenchCommand::Tools(args)) => pons::bench::tools(args).await,
        Command::Bench(BenchCommand::Seed(args)) => {
            let (store, secrets) = server::open(&settings).await?;
            pons::bench::seed(store, secrets, args).await
        }
        command => {
            let (store, secrets) = server::open(&settings).await?;
            let admin = Admin {
                store,
                secrets,
                settings,
            };
            match command {
                Command::User(c) => admin.user(c).await,
                Command::Account(c) => admin.account(c).await,
                Command::Member(c) => admin.member(c).await,
                Command::Key(c) => admin.key(c).await,
                Command::Serve(_) | Command::Bench(_) | Command::Demo(_) | Command::Metasim(_) => {
                    unreachable!("handled above")
                }
            }
        }
    }
}

/// The log filter when PONS_LOG is unset. PostgreSQL's notices (such as
/// "relation already exists, skipping" at every migration check) are kept
/// out unless they are warnings or errors.
const DEFAULT_LOG_FILTER: &str = "info,rmcp=warn,sqlx::postgres::notice=warn";

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PONS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
