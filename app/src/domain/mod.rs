//! Domain types and rules, free of I/O: easy to unit-test.
pub mod api_keys;
pub mod clock;
pub mod domains;
pub mod email;
pub mod ids;
pub mod lockout;
pub mod password;
pub mod roles;
pub mod secret;
pub mod sso;
pub mod text;
pub mod tokens;
