//! Members and invitations, for owners and admins; and accepting an invitation.
pub mod actions;
pub mod activity;
pub mod invite;
pub mod page;
