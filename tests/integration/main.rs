//! The one integration-test binary: every test spawns the real server on 127.0.0.1:0 with
//! its own fresh database and talks HTTP to it; mail goes over SMTP to a real sink process.
// Tests unwrap, panic and index: a failure there is a failed test, which is the point.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod dns;
mod files;
mod helpers;
mod world;

mod activity;
mod api;
mod api_conventions;
mod bad_input;
mod coming_back;
mod ended_sessions;
mod error_shapes;
mod faults;
mod floods;
mod instances;
mod key_leaks;
mod lockout;
mod logging;
mod look_alikes;
mod members;
mod notices;
mod observing;
mod operating;
mod operator_kit;
mod outage;
mod passkeys;
mod policy;
mod reauthentication;
mod reset;
mod schemathesis;
mod scopes;
mod second_factors;
mod security_page;
mod sessions;
mod shared_limits;
mod sign_in;
mod sign_up;
mod sso_doors;
mod sso_login;
mod sso_settings;
mod sso_sign_up_policy;
mod sso_trust;
mod storage_limits;
mod timing;
mod workspaces;
