//! Passkeys: WebAuthn credentials a person registers to sign in with (directly, or as the
//! second step after their password). The ceremonies themselves (challenges, signatures,
//! counters) are the `webauthn-rs` crate's; this module holds the records and the rules.
use std::time::Duration;

use crate::domain::clock::Timestamp;
use crate::domain::ids::{PasskeyId, UserId};
use crate::domain::text::{clean_name, NameError};

/// A ceremony (registration or sign-in) must finish within this long of its start.
pub const CEREMONY_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// How many passkeys one person may register.
pub const MAX_PER_PERSON: usize = 20;
/// A passkey's name: 1 to 60 clean characters.
pub const NAME_MAX_CHARS: usize = 60;

/// A passkey's name as stored (trimmed, NFC, 1–60 characters, no control or invisible ones).
pub fn name(input: &str) -> Result<String, NameError> {
    clean_name(input, NAME_MAX_CHARS)
}

/// A registered passkey. `credential` is the credential as `webauthn-rs` serialises it (its
/// public key and signature counter; nothing secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPasskey {
    pub id: PasskeyId,
    pub user_id: UserId,
    /// The credential id, base64url without padding, as browsers send it.
    pub credential_id: String,
    pub name: String,
    pub credential: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

/// What a ceremony is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyPurpose {
    /// Registering a new passkey for a signed-in person.
    Register,
    /// Signing in with a passkey directly (the browser picks it: discoverable).
    SignIn,
    /// The second step after a correct password.
    SecondStep,
    /// A signed-in person confirming it's them before a sensitive change.
    Reauthenticate,
}

impl CeremonyPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            CeremonyPurpose::Register => "register",
            CeremonyPurpose::SignIn => "sign_in",
            CeremonyPurpose::SecondStep => "second_step",
            CeremonyPurpose::Reauthenticate => "reauthenticate",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "register" => Some(CeremonyPurpose::Register),
            "sign_in" => Some(CeremonyPurpose::SignIn),
            "second_step" => Some(CeremonyPurpose::SecondStep),
            "reauthenticate" => Some(CeremonyPurpose::Reauthenticate),
            _ => None,
        }
    }
}

/// A ceremony between its two requests, kept server-side (found by the hash of the handle the
/// browser holds), single use.
#[derive(Clone, PartialEq, Eq)]
pub struct Ceremony {
    pub purpose: CeremonyPurpose,
    /// The person it is for (`None`: a direct sign-in, where the passkey says who).
    pub user_id: Option<UserId>,
    /// The name of the passkey being registered.
    pub name: Option<String>,
    /// The `webauthn-rs` state (the challenge and what checking the answer needs), as JSON.
    pub state: String,
    pub expires_at: Timestamp,
}

impl std::fmt::Debug for Ceremony {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ceremony")
            .field("purpose", &self.purpose)
            .field("user_id", &self.user_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_to_sixty_clean_characters() {
        assert_eq!(name("  Laptop  ").unwrap(), "Laptop");
        assert_eq!(name("").unwrap_err(), NameError::Empty);
        assert_eq!(name(&"x".repeat(61)).unwrap_err(), NameError::TooLong(60));
        assert_eq!(name(&"x".repeat(60)).unwrap().chars().count(), 60);
        assert_eq!(
            name("a\u{202e}b").unwrap_err(),
            NameError::ForbiddenCharacter
        );
    }

    #[test]
    fn purposes_round_trip() {
        for p in [
            CeremonyPurpose::Register,
            CeremonyPurpose::SignIn,
            CeremonyPurpose::SecondStep,
            CeremonyPurpose::Reauthenticate,
        ] {
            assert_eq!(CeremonyPurpose::parse(p.as_str()), Some(p));
        }
        assert_eq!(CeremonyPurpose::parse("other"), None);
    }
}
