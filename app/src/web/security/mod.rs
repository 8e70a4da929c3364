//! The signed-in person's own security settings (their password, their sessions, their second
//! factors, the API keys they created), reached from the user menu on every signed-in page.
pub mod actions;
pub mod email;
pub mod page;
pub mod reauth;
pub mod two_factor;
