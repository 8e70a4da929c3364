//! Why a use case did not do what was asked, in terms every surface maps in one place: the
//! REST API to its error envelope, the web app to a flash or a message next to a field. Flows
//! and the actors of `auth` both refuse with it.
/// Why a flow did not do what was asked, in terms every surface can map: the REST API to one
/// error envelope (`ApiError::from`), the web app to one flash (`Flash::refused`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The actor's role does not allow this (`code` is the API's stable code).
    NotAllowed { code: &'static str, message: String },
    /// The API key lacks this scope.
    MissingScope(super::api_keys::Scope),
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
    /// The request was understood but cannot be carried out as things are, through no single
    /// field (a DNS record not published yet).
    Unmet { code: &'static str, message: String },
    /// Something this server depends on (DNS, an identity provider) did not answer; nothing
    /// changed, and the same request may work in a moment.
    Unavailable { code: &'static str, message: String },
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

    /// The one refusal of something only owners of the account may do.
    pub fn owners_only() -> Self {
        Self::not_allowed("owner_only", "Only owners of this account can do that.")
    }

    /// The one refusal of something only owners and admins of the account may do.
    pub fn admins_only() -> Self {
        Self::not_allowed(
            "admin_only",
            "Only owners and admins of this account can do that.",
        )
    }

    pub fn unmet(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unmet {
            code,
            message: message.into(),
        }
    }

    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unavailable {
            code,
            message: message.into(),
        }
    }

    /// A conflict caused by what was typed in `field`.
    pub fn conflict_at(
        field: &'static str,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
            field: Some(field),
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
            Self::NotAllowed { .. }
            | Self::MissingScope(_)
            | Self::NotFound(_)
            | Self::Unmet { .. }
            | Self::Unavailable { .. } => None,
        }
    }

    /// The sentence a person reads.
    pub fn message(&self) -> String {
        match self {
            Self::NotAllowed { message, .. }
            | Self::Conflict { message, .. }
            | Self::TooSoon { message, .. }
            | Self::Invalid { message, .. }
            | Self::Unmet { message, .. }
            | Self::Unavailable { message, .. } => message.clone(),
            Self::MissingScope(scope) => {
                format!("This API key lacks the {} scope", scope.as_str())
            }
            Self::NotFound(what) => format!("No such {what}"),
        }
    }
}
