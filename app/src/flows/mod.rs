//! Every use case, one function each, over [`AppState`]: it takes an authorized actor from
//! [`crate::auth`] (so "who may do this" is settled before it runs), decides with the domain
//! rules, does its writes and their audit event in one store call, and returns a typed
//! outcome. Pages, server functions and REST handlers only parse, call and map.
use crate::hashing::HashError;
use crate::ports::StoreError;

pub mod accounts;
pub mod admin;
pub mod api_keys;
pub mod data;
pub mod domains;
pub mod floods;
pub mod mail;
pub mod members;
pub mod notices;
pub mod passkeys;
pub mod policy;
pub mod recovery;
pub mod second_factors;
pub mod security;
pub mod sign_in;
pub mod sign_in_log;
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
    /// An SSO client secret could not be sealed or opened (a wrong `TERMINUS_SECRET_KEY`).
    #[error("sealing: {0}")]
    Sealing(#[from] crate::sealing::SealError),
    /// A passkey or a ceremony kept by this server could not be written or read back.
    #[error("passkey state: {0}")]
    PasskeyState(String),
}

pub use crate::domain::refusal::Refusal;

/// Why a flow stopped short: refused by a rule (shown to the person), or broken (a failure
/// of the database or the hasher: logged, and a generic message with the request id).
#[derive(Debug, thiserror::Error)]
pub enum Stopped {
    #[error("refused: {0:?}")]
    Refused(Refusal),
    #[error(transparent)]
    Broken(#[from] FlowError),
}

impl From<Refusal> for Stopped {
    fn from(refusal: Refusal) -> Self {
        Self::Refused(refusal)
    }
}

impl From<StoreError> for Stopped {
    fn from(err: StoreError) -> Self {
        Self::Broken(FlowError::Store(err))
    }
}

impl From<HashError> for Stopped {
    fn from(err: HashError) -> Self {
        Self::Broken(FlowError::Hash(err))
    }
}

/// What a flow answers: done (with its result), or stopped (refused, or broken).
pub type Outcome<T> = Result<T, Stopped>;
