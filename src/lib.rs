//! Terminus Hub, the process: configuration, the database and mail adapters, the HTTP
//! router and the server's lifecycle. The rules live in the `app` crate.
// The lints are the workspace's (Cargo.toml `[workspace.lints]`); unit tests may unwrap,
// panic and index.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
#![recursion_limit = "256"]

pub mod api;
pub mod cli;
pub mod config;
pub mod db;
pub mod dns;
pub mod files;
pub mod http;
pub mod mailer;
pub mod metrics;
pub mod oidc;
pub mod serve;
pub mod startup;
pub mod store;
pub mod telemetry;

pub use config::Config;
pub use startup::Application;
