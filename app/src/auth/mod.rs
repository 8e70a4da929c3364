//! Who is acting, and what they may do: the authorized actors every flow takes, and the one
//! place that makes them (a session checked against the store, a bearer key checked by its
//! hash, the role read this request). Pages, server functions and the REST API all ask here.
//!
//! The actor types cannot be built anywhere else (each holds a private seal), so a flow that
//! takes an [`AdminOf`] cannot be called for a member: the role rules in `domain::roles` are
//! applied once, in the constructors below.
mod actors;
mod resolve;
mod start;

pub use actors::{AdminOf, DataAccess, KeyOf, MemberOf, OwnerOf, SecondStepDue, Signed};
pub use resolve::{
    current_member, key_holder, member_of, second_factor_due, second_factor_due_in,
    second_step_due, signed_in, AuthError,
};
pub use start::{landing, start_session, Device, Landing, NewSession, Notice, SignInMethod};
