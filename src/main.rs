//! `terminus-hub [serve|migrate]`: the server binary.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use app::domain::clock::SystemClock;
use terminus_hub::db::Database;
use terminus_hub::{telemetry, Application, Config};

const USAGE: &str = "usage: terminus-hub [serve|migrate]

  serve    run the web app and API (default)
  migrate  create or upgrade the database named by DATABASE_URL, then exit

Configuration: terminus.toml (or TERMINUS_CONFIG), then environment variables
(DATABASE_URL, TERMINUS_ADDR, TERMINUS_PUBLIC_URL, SMTP_URL, TERMINUS_MAIL_FROM, ...).";

#[tokio::main]
async fn main() -> ExitCode {
    // Everything the server creates (database, WAL, outbox, key) is for its own user only.
    #[cfg(target_os = "linux")]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    // Kept to the end: dropping it writes the lines still queued.
    let _log = telemetry::init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let command = std::env::args().nth(1).unwrap_or_else(|| "serve".into());
    match command.as_str() {
        "serve" => serve().await,
        "migrate" => {
            let config = Config::load()?;
            let db = Database::connect(&config).await?;
            db.migrate().await?;
            db.close().await;
            tracing::info!("database is up to date");
            Ok(())
        }
        "help" | "-h" | "--help" => {
            // Not `println!`: it panics when stdout cannot be written.
            let _ = writeln!(std::io::stdout(), "{USAGE}");
            Ok(())
        }
        other => anyhow::bail!("unknown command {other:?}\n\n{USAGE}"),
    }
}

async fn serve() -> anyhow::Result<()> {
    let config = Config::load()?;
    tracing::info!(?config, "starting");
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("binding {}", config.addr))?;
    let app = Application::build(config, listener, Arc::new(SystemClock)).await?;
    tracing::info!("Terminus Hub is listening on {}", app.public_url());
    app.serve(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
