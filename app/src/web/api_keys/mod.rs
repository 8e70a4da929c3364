//! The account's API keys, for owners and admins: list, create (shown once), delete.
pub mod actions;
pub mod page;

/// The keys page, where its forms' actions send the browser back to.
pub const PATH: &str = crate::paths::API_KEYS;
