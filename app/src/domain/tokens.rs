//! One-time tokens for emailed links (confirm, reset, unlock): random, single use, short-lived,
//! and stored only as a SHA-256 hash so a database leak yields no usable link.
use std::time::Duration;

use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

use super::secret::Secret;

/// What a token may be used for; each purpose has its own lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    Confirm,
    Reset,
    Unlock,
    /// Invitation links live in the invitations table, not with the other tokens.
    Invite,
    /// A link to a new email address confirming that its owner's account may change to it
    /// (kept in the email changes table with the address, not with the other tokens).
    EmailChange,
    /// The "This wasn't me" link of a new-device notice (kept in the sign-in notices table,
    /// not with the other tokens).
    SignInNotice,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::Confirm => "confirm",
            TokenPurpose::Reset => "reset",
            TokenPurpose::Unlock => "unlock",
            TokenPurpose::Invite => "invite",
            TokenPurpose::EmailChange => "email_change",
            TokenPurpose::SignInNotice => "sign_in_notice",
        }
    }

    /// Confirmation, unlock and email change links live 24 h; a reset link 1 h.
    pub fn lifetime(self) -> Duration {
        match self {
            TokenPurpose::Confirm | TokenPurpose::Unlock | TokenPurpose::EmailChange => {
                Duration::from_secs(24 * 3600)
            }
            TokenPurpose::Reset => Duration::from_secs(3600),
            TokenPurpose::Invite => INVITATION_LIFETIME,
            TokenPurpose::SignInNotice => super::devices::NOT_ME_LIFETIME,
        }
    }
}

/// An invitation link lives 7 days.
pub const INVITATION_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// Raw tokens are 32 random bytes, base64url without padding: 43 characters.
const TOKEN_BYTES: usize = 32;
const TOKEN_CHARS: usize = 43;

/// A fresh token from the OS CSPRNG. The raw value goes into the email only.
pub fn generate_token() -> Secret {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    Secret::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// A fresh token and the hash that is stored for it (a generated token is well formed, so
/// its hash needs no check).
pub fn new_link_token() -> (Secret, String) {
    let raw = generate_token();
    let hash = sha256_hex(raw.expose().as_bytes());
    (raw, hash)
}

/// The lookup key stored in the database, or `None` when the input cannot be a token
/// (so garbage never reaches the database).
pub fn token_hash(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let well_formed = raw.len() == TOKEN_CHARS
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return None;
    }
    Some(sha256_hex(raw.as_bytes()))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    // Two digits a byte, without the formatting machinery: every API request hashes its key.
    for b in digest {
        for nibble in [b >> 4, b & 0x0f] {
            out.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_link_token_hashes_like_a_pasted_one() {
        let (raw, hash) = new_link_token();
        assert_eq!(token_hash(raw.expose()), Some(hash));
    }

    #[test]
    fn generated_tokens_hash_and_differ() {
        let a = generate_token();
        let b = generate_token();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), TOKEN_CHARS);
        let h = token_hash(a.expose());
        assert_eq!(h.as_ref().map(String::len), Some(64));
        assert_ne!(h, token_hash(b.expose()));
    }

    #[test]
    fn garbage_is_not_a_token() {
        for g in [
            "",
            "abc",
            "'; drop table users; --",
            &"x".repeat(10_000),
            &"é".repeat(43),
        ] {
            assert_eq!(token_hash(g), None, "{g:?}");
        }
    }

    #[test]
    fn sha256_hex_is_lowercase_hex_of_the_digest() {
        // FIPS 180-2's "abc" example.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn lifetimes() {
        assert_eq!(TokenPurpose::Reset.lifetime(), Duration::from_secs(3600));
        assert_eq!(
            TokenPurpose::Confirm.lifetime(),
            Duration::from_secs(86_400)
        );
    }
}
