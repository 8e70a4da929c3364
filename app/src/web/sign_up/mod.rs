//! Signing up: the form, "check your email", resending the confirmation, and using the
//! confirmation link (which creates the user, their account and its workspace).
pub mod actions;
pub mod page;
