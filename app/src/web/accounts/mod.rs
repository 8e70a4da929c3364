//! The accounts a person belongs to: the picker, switching, the current one's settings,
//! and creating another account.
pub mod actions;
pub mod picker;
pub mod settings;
