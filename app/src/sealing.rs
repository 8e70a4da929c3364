//! Sealing secrets that must be read back (SSO client secrets) with AES-256-GCM under the
//! server's key, so a copy of the database alone reveals nothing.
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rand::RngCore as _;

use crate::domain::secret::Secret;

const VERSION: &str = "v1:";
const NONCE_BYTES: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the sealing key must be 32 bytes, base64-encoded")]
    BadKey,
    #[error("this sealed value is damaged or was sealed with another key")]
    Unreadable,
}

/// The server's sealing key. `Debug` never shows it.
pub struct SealingKey(Aes256Gcm);

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey([redacted])")
    }
}

impl SealingKey {
    /// A new random key, base64-encoded (what `TERMINUS_SECRET_KEY` holds).
    pub fn generate_base64() -> String {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        STANDARD.encode(key)
    }

    pub fn from_base64(encoded: &str) -> Result<Self, SealError> {
        let bytes = STANDARD
            .decode(encoded.trim())
            .map_err(|_| SealError::BadKey)?;
        if bytes.len() != 32 {
            return Err(SealError::BadKey);
        }
        Aes256Gcm::new_from_slice(&bytes)
            .map(SealingKey)
            .map_err(|_| SealError::BadKey)
    }

    pub fn seal(&self, plaintext: &Secret) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .0
            .encrypt(Nonce::from_slice(&nonce), plaintext.expose().as_bytes())
            .map_err(|_| SealError::Unreadable)?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(format!("{VERSION}{}", STANDARD.encode(out)))
    }

    pub fn open(&self, sealed: &str) -> Result<Secret, SealError> {
        let body = sealed.strip_prefix(VERSION).ok_or(SealError::Unreadable)?;
        let bytes = STANDARD.decode(body).map_err(|_| SealError::Unreadable)?;
        if bytes.len() <= NONCE_BYTES {
            return Err(SealError::Unreadable);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let plain = self
            .0
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| SealError::Unreadable)?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| SealError::Unreadable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_then_open_and_tampering_fails() {
        let key = SealingKey::from_base64(&SealingKey::generate_base64()).unwrap();
        let sealed = key.seal(&Secret::new("client-secret-123")).unwrap();
        assert!(!sealed.contains("client-secret-123"));
        assert_eq!(key.open(&sealed).unwrap().expose(), "client-secret-123");
        let other = SealingKey::from_base64(&SealingKey::generate_base64()).unwrap();
        assert!(other.open(&sealed).is_err(), "another key cannot read it");
        // Change the last character (to a different one: pushing a fixed 'A' left the text
        // unchanged whenever it already ended in 'A', one run in 64).
        let mut tampered = sealed.clone();
        let last = tampered.pop();
        tampered.push(if last == Some('A') { 'B' } else { 'A' });
        assert!(key.open(&tampered).is_err());
        assert!(SealingKey::from_base64("c2hvcnQ=").is_err());
        assert_eq!(format!("{key:?}"), "SealingKey([redacted])");
    }
}
