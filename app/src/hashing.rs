//! Password hashing with argon2id (OWASP: m=19456 KiB, t=2, p=1), off the async runtime
//! and behind a semaphore so a flood of sign-ins cannot exhaust memory or starve other work.
use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::domain::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("argon2: {0}")]
    Argon2(String),
    #[error("hashing task failed: {0}")]
    Task(String),
}

/// The outcome of checking a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    Match {
        /// A new hash with today's parameters, when the stored one used older ones.
        rehash: Option<String>,
    },
    Mismatch,
}

/// Hashes and verifies passwords. Cheap to clone.
#[derive(Clone)]
pub struct Passwords {
    params: Params,
    permits: Arc<Semaphore>,
    /// Verified when the email is unknown, so the answer takes as long as for a real user.
    dummy_hash: Arc<String>,
}

pub const OWASP_MEMORY_KIB: u32 = 19_456;
pub const OWASP_ITERATIONS: u32 = 2;
pub const OWASP_PARALLELISM: u32 = 1;

impl Passwords {
    /// `permits` hashes may run at once (the CPU count is the natural choice).
    pub fn new(permits: usize) -> Result<Self, HashError> {
        let params = Params::new(OWASP_MEMORY_KIB, OWASP_ITERATIONS, OWASP_PARALLELISM, None)
            .map_err(|e| HashError::Argon2(e.to_string()))?;
        let dummy = hash_blocking(&params, crate::domain::tokens::generate_token().expose())?;
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(permits.max(1))),
            dummy_hash: Arc::new(dummy),
        })
    }

    pub fn permits(&self) -> usize {
        self.permits.available_permits()
    }

    pub async fn hash(&self, password: &Secret) -> Result<String, HashError> {
        let params = self.params.clone();
        let password = password.clone();
        self.run(move || hash_blocking(&params, password.expose()))
            .await?
    }

    /// Verifies against `stored`, or against the dummy hash when there is none, so that
    /// "no such user" costs the same as "wrong password". A missing hash never matches.
    pub async fn verify(
        &self,
        password: &Secret,
        stored: Option<&str>,
    ) -> Result<Verification, HashError> {
        let params = self.params.clone();
        let password = password.clone();
        let real = stored.map(str::to_owned);
        let target = real
            .clone()
            .unwrap_or_else(|| self.dummy_hash.as_str().to_owned());
        self.run(move || {
            let parsed =
                PasswordHash::new(&target).map_err(|e| HashError::Argon2(e.to_string()))?;
            let ok = Argon2::default()
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok();
            if !ok || real.is_none() {
                return Ok(Verification::Mismatch);
            }
            let rehash = if is_current(&parsed, &params) {
                None
            } else {
                Some(hash_blocking(&params, password.expose())?)
            };
            Ok(Verification::Match { rehash })
        })
        .await?
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| HashError::Task(e.to_string()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| HashError::Task(e.to_string()))
    }
}

fn hasher(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn hash_blocking(params: &Params, password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    hasher(params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError::Argon2(e.to_string()))
}

/// True when a stored hash already uses argon2id, v19 and today's parameters.
fn is_current(hash: &PasswordHash<'_>, params: &Params) -> bool {
    if hash.algorithm != Algorithm::Argon2id.ident() || hash.version != Some(Version::V0x13 as u32)
    {
        return false;
    }
    match Params::try_from(hash) {
        Ok(p) => {
            p.m_cost() == params.m_cost()
                && p.t_cost() == params.t_cost()
                && p.p_cost() == params.p_cost()
        }
        Err(_) => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let p = Passwords::new(2).unwrap();
        let pw = Secret::new("plumtreeviolinsunset");
        let h = p.hash(&pw).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(
            p.verify(&pw, Some(&h)).await.unwrap(),
            Verification::Match { rehash: None }
        );
        assert_eq!(
            p.verify(&Secret::new("wrong"), Some(&h)).await.unwrap(),
            Verification::Mismatch
        );
    }

    #[tokio::test]
    async fn unknown_user_never_matches_even_the_dummy_password() {
        let p = Passwords::new(1).unwrap();
        assert_eq!(
            p.verify(&Secret::new("anything"), None).await.unwrap(),
            Verification::Mismatch
        );
    }

    #[tokio::test]
    async fn old_parameters_are_upgraded() {
        let p = Passwords::new(1).unwrap();
        let weak = Params::new(4096, 1, 1, None).unwrap();
        let pw = Secret::new("plumtreeviolinsunset");
        let old = hash_blocking(&weak, pw.expose()).unwrap();
        match p.verify(&pw, Some(&old)).await.unwrap() {
            Verification::Match { rehash: Some(new) } => {
                assert!(new.contains("m=19456,t=2,p=1"));
            }
            other => panic!("expected an upgrade, got {other:?}"),
        }
    }
}
