//! Signing in: the email step, the password step (and the one-step form for owners and admins),
//! the second step for a person with a second factor, starting single sign-on from the email
//! step, and signing out.
pub mod actions;
pub mod page;
pub mod second_factor;
