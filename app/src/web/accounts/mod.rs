//! The accounts a person belongs to: the home page of the current one, the picker, switching,
//! and creating another account.
pub mod actions;
pub mod home;
pub mod picker;
