//! Getting back in: forgot password, the reset link, and the unlock link a lockout emails.
pub mod actions;
pub mod links;
pub mod page;
