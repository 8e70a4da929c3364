//! The accounts a person belongs to: the picker, switching,
//! and creating another account.
pub mod actions;
pub mod picker;
