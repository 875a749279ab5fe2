//! `pons metasim`: the stand-in as its own process with its control API,
//! so tests outside Rust can point a real `pons serve` at it.

use std::io::Write;
use std::net::SocketAddr;

use anyhow::Context;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{MetaSim, MetaSimConfig, control};
use crate::cli::MetasimArgs;

/// Address `pons metasim` binds unless `--bind` names another: a free
/// loopback port.
pub const STANDALONE_BIND: &str = "127.0.0.1:0";

/// Builds the stand-in's settings from the command line. Flags left out
/// keep the test values of [`MetaSimConfig::default`].
pub fn standalone_config(args: &MetasimArgs) -> anyhow::Result<MetaSimConfig> {
    let mut config = if args.demo_templates {
        MetaSimConfig::demo()
    } else {
        MetaSimConfig::default()
    };
    config.enforce_service_window = args.enforce_service_window;
    if let Some(url) = &args.webhook_url {
        control::check_webhook_url(url).map_err(anyhow::Error::msg)?;
        config.webhook_url = Some(url.clone());
    }
    let overrides = [
        (&args.access_token, &mut config.access_token),
        (&args.app_secret, &mut config.app_secret),
        (&args.waba_id, &mut config.waba_id),
        (&args.phone_number_id, &mut config.phone_number_id),
        (&args.display_phone_number, &mut config.display_phone_number),
    ];
    for (flag, setting) in overrides {
        if let Some(value) = flag {
            setting.clone_from(value);
        }
    }
    Ok(config)
}

/// Runs the stand-in on `bind` until SIGINT or SIGTERM. Prints one JSON
/// line with its URLs to standard output once it is listening.
pub async fn run_standalone(bind: &str, args: &MetasimArgs) -> anyhow::Result<()> {
    let addr: SocketAddr = bind.parse().with_context(|| {
        format!("invalid --bind {bind:?}: use ADDRESS:PORT, such as 127.0.0.1:0")
    })?;
    let config = standalone_config(args)?;
    let shutdown = CancellationToken::new();
    crate::server::cancel_on_signal(shutdown.clone());
    let sim = MetaSim::start_with_control(config, addr)
        .await
        .with_context(|| format!("cannot start the Meta stand-in on {addr}"))?;
    let ready = json!({
        "graph_api_url": sim.base_url(),
        "origin": sim.origin(),
        "control_url": format!("{}{}", sim.origin(), control::PREFIX),
    });
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{ready}").context("cannot write the stand-in's URLs to standard output")?;
    stdout.flush().context("cannot flush standard output")?;
    drop(stdout);
    shutdown.cancelled().await;
    sim.stop().await;
    Ok(())
}
