//! The account's API keys, for owners and admins: list, create (shown once), delete.
pub mod actions;
pub mod page;
