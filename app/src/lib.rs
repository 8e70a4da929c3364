//! Terminus Hub's application core: domain rules, the ports it needs, the use cases
//! (sign-up, sign-in, lockout, reset …) and the server-rendered Leptos pages.
//!
//! Nothing here knows which database or SMTP server is in use: the process crate
//! (`terminus-hub`) plugs adapters into the [`ports`].
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

pub mod auth;
pub mod domain;
pub mod flows;
pub mod hashing;
pub mod mails;
pub mod paths;
pub mod plans;
pub mod ports;
pub mod sealing;
pub mod session;
pub mod state;
#[cfg(test)]
pub mod testing;
pub mod web;

pub use state::{AppParts, AppState, SignUpPolicy, WebConfig};
