//! The web app people use: server-rendered Leptos pages (plain HTML, no hydration) and the
//! server functions their forms post to, each answering with a post/redirect/get.
//!
//! One folder per feature holds its pages and the server functions its forms post to
//! (`actions.rs`); the rules they apply live in `crate::flows`.
pub mod accounts;
pub mod api_keys;
pub mod device;
pub mod domains;
pub mod errors;
pub mod forms;
pub mod guards;
pub mod members;
pub mod passkeys;
pub mod recovery;
pub mod request;
pub mod respond;
pub mod routes;
pub mod security;
pub mod shell;
pub mod sign_in;
pub mod sign_up;
pub mod signed;
pub mod sso;
pub mod workspaces;
