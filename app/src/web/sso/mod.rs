//! Single sign-on, for owners: connections, the test sign-in, enforcement; and the callback
//! the identity provider sends people back to.
pub mod actions;
pub mod callback;
pub mod page;
