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
    /// An SSO client secret could not be sealed or opened (a wrong `TERMINUS_SECRET_KEY`).
    #[error("sealing: {0}")]
    Sealing(#[from] crate::sealing::SealError),
}

/// Why a flow did not do what was asked, in terms every surface can map: the REST API to one
/// error envelope (`ApiError::from`), the web app to one flash (`Flash::refused`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The actor's role does not allow this (`code` is the API's stable code).
    NotAllowed { code: &'static str, message: String },
    /// The API key lacks this scope.
    MissingScope(crate::domain::api_keys::Scope),
    /// No such thing in the actor's account (another account's ids look the same).
    NotFound(&'static str),
    /// The change conflicts with the current state (`code`: the API's stable code), perhaps
    /// because of what was typed in `field`.
    Conflict {
        code: &'static str,
        message: String,
        field: Option<&'static str>,
    },
    /// Not now: a limit on how often this may be done (`retry_after_secs` until it may).
    TooSoon {
        code: &'static str,
        message: String,
        retry_after_secs: u64,
        field: Option<&'static str>,
    },
    /// An input was refused: which field, and what to say next to it.
    Invalid {
        field: &'static str,
        code: &'static str,
        message: String,
    },
}

impl Refusal {
    pub fn not_allowed(code: &'static str, message: impl Into<String>) -> Self {
        Self::NotAllowed {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            code: "parameter_invalid",
            message: message.into(),
        }
    }

    /// The input field the refusal is about, if one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::Invalid { field, .. } => Some(field),
            Self::Conflict { field, .. } | Self::TooSoon { field, .. } => *field,
            Self::NotAllowed { .. } | Self::MissingScope(_) | Self::NotFound(_) => None,
        }
    }

    /// The sentence a person reads.
    pub fn message(&self) -> String {
        match self {
            Self::NotAllowed { message, .. }
            | Self::Conflict { message, .. }
            | Self::TooSoon { message, .. }
            | Self::Invalid { message, .. } => message.clone(),
            Self::MissingScope(scope) => {
                format!("This API key lacks the {} scope", scope.as_str())
            }
            Self::NotFound(what) => format!("No such {what}"),
        }
    }
}

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
