//! The use cases behind the sign-in pages, as plain async functions over [`AppState`]:
//! each decides with the domain rules and does its I/O through the ports.
use crate::hashing::HashError;
use crate::ports::StoreError;

pub mod accounts;
pub mod actor;
pub mod admin;
pub mod api_keys;
pub mod domains;
pub mod mail;
pub mod members;
pub mod recovery;
pub mod sign_in;
pub mod sign_up;
pub mod sso;
pub mod sso_login;
pub mod tokens;

/// An infrastructure failure inside a flow. Users see a generic message with a request id.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] HashError),
}
