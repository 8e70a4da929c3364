//! Domain types and rules, free of I/O: easy to unit-test. The records the store reads and
//! writes live here too, one module per aggregate (`users`, `accounts`, `members`,
//! `workspaces`, `api_keys`, `domains`, `sso`, `audit`); the store's traits are in `ports`.
pub mod accounts;
pub mod api_keys;
pub mod audit;
pub mod clock;
pub mod devices;
pub mod domains;
pub mod email;
pub mod floods;
pub mod idempotency;
pub mod ids;
pub mod lockout;
pub mod members;
pub mod operator;
pub mod paging;
pub mod passkeys;
pub mod password;
pub mod policy;
pub mod reauth;
pub mod refusal;
pub mod roles;
pub mod second_factors;
pub mod secret;
pub mod sessions;
pub mod sso;
pub mod sso_sign_in;
pub mod text;
pub mod tokens;
pub mod users;
pub mod workspaces;
