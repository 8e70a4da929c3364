//! `terminus-hub`: the server binary and its command line (see `terminus_hub::cli`).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use app::domain::clock::SystemClock;
use clap::Parser as _;
use terminus_hub::cli::{self, Cli, Command};
use terminus_hub::config::LogFormat;
use terminus_hub::{telemetry, Application, Config};

#[tokio::main]
async fn main() -> ExitCode {
    // Everything the server creates (database, WAL, outbox, key) is for its own user only.
    #[cfg(target_os = "linux")]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    // `--help`, `--version` and usage errors end here (stdout, or stderr and status 2).
    let command = Cli::parse().command.unwrap_or(Command::Serve);
    let serving = matches!(command, Command::Serve | Command::Migrate);
    // The operator's commands log only warnings unless RUST_LOG says otherwise.
    let filter = if serving {
        telemetry::SERVER_FILTER
    } else {
        "warn"
    };
    let config = Config::load();
    let format = config.as_ref().map_or(LogFormat::Text, |c| c.log_format);
    // Kept to the end: dropping it writes the lines still queued.
    let _log = telemetry::init(format, filter);
    // Before anything writes a file (migrations, the database, the outbox).
    survive_file_size_limit();
    let result = match config {
        Ok(config) if matches!(command, Command::Serve) => {
            serve(config).await.map(|()| cli::Outcome::Done)
        }
        Ok(config) => cli::run(command, config).await,
        Err(err) => Err(err),
    };
    match result {
        Ok(outcome) => outcome.exit_code(),
        Err(err) => {
            // A multi-line error (a TOML parse error points at the line) as lines of its own.
            for line in format!("{err:#}").lines().filter(|l| !l.trim().is_empty()) {
                tracing::error!("{line}");
            }
            ExitCode::FAILURE
        }
    }
}

/// A write past the file-size limit (`ulimit -f`, `LimitFSIZE=`: RLIMIT_FSIZE) must fail like
/// any other failed write (the database's `EFBIG` becomes a 5xx and `/readyz` says 503), not
/// kill the process, which is what SIGXFSZ does by default: under a supervisor that is a
/// restart loop. Once the signal is caught the kernel fails the write instead; each time it
/// does, the log says so.
#[cfg(target_os = "linux")]
fn survive_file_size_limit() {
    use tokio::signal::unix::{signal, SignalKind};
    let xfsz = SignalKind::from_raw(rustix::process::Signal::XFSZ.as_raw());
    match signal(xfsz) {
        Ok(mut caught) => {
            tokio::spawn(async move {
                while caught.recv().await.is_some() {
                    tracing::warn!("a write went past the file-size limit (RLIMIT_FSIZE, `ulimit -f`) and failed");
                }
            });
        }
        Err(err) => {
            tracing::warn!(error = %err, "cannot catch SIGXFSZ: a write past the file-size limit would stop the process");
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn survive_file_size_limit() {}

async fn serve(config: Config) -> anyhow::Result<()> {
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        commit = cli::COMMIT,
        "starting"
    );
    // The effective configuration, a setting a line, secrets redacted (as `config check`).
    for (setting, value) in config.effective() {
        tracing::info!(setting, value = %value, "configuration");
    }
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
