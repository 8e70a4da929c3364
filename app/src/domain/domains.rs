//! Account domains: which names an account may add, the DNS TXT record that proves control of
//! one, and how a published record is recognised. A mailbox on a domain proves nothing about
//! the domain; only the TXT record does (as Zitadel, Slack and Google Workspace do).
use std::collections::HashSet;
use std::sync::LazyLock;

use rand::RngCore as _;

use super::clock::Timestamp;
use super::email::ascii_domain;
use super::ids::{AccountId, DomainId};

/// The label the challenge record lives under: `_terminus-hub-challenge.<domain>`.
pub const CHALLENGE_LABEL: &str = "_terminus-hub-challenge";
/// The record's value is this prefix followed by the domain's token.
pub const VALUE_PREFIX: &str = "terminus-hub-verification=";

/// Bundled list of free and public mail providers (see the file's header for its source and
/// the command that updates it).
static FREE_MAIL: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("free_mail_domains.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
});

/// Whether `domain` (ASCII, lower-case) is a public mail provider: nobody may verify it, or
/// one account would capture everyone who uses that provider.
pub fn is_free_mail(domain: &str) -> bool {
    FREE_MAIL.contains(domain)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("Enter a domain like example.com.")]
    Malformed,
    #[error("{0} is a public mail provider: it cannot be added to an account.")]
    PublicProvider(String),
}

impl DomainError {
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::Malformed => "parameter_invalid",
            DomainError::PublicProvider(_) => "public_mail_domain",
        }
    }
}

/// A domain as stored and compared: UTS-46 ASCII, lower-case, without a trailing dot, so
/// `ACME.test.`, `acme.test` and `ａｃｍｅ.test` are one domain. Subdomains are separate.
pub fn normalise(input: &str) -> Result<String, DomainError> {
    ascii_domain(input).ok_or(DomainError::Malformed)
}

/// A domain an account may add: well formed and not a public mail provider.
pub fn check_new(input: &str) -> Result<String, DomainError> {
    let domain = normalise(input)?;
    if is_free_mail(&domain) {
        return Err(DomainError::PublicProvider(domain));
    }
    Ok(domain)
}

/// A fresh verification token: 128 bits from the OS, hex. Different for every account that
/// adds the domain, so one account's record never verifies another's claim.
pub fn new_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The TXT record to publish for `domain` with `token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeRecord {
    pub name: String,
    pub value: String,
}

pub fn challenge(domain: &str, token: &str) -> ChallengeRecord {
    ChallengeRecord {
        name: format!("{CHALLENGE_LABEL}.{domain}"),
        value: format!("{VALUE_PREFIX}{token}"),
    }
}

/// Whether one of the TXT strings found at the challenge name carries `token`.
pub fn record_matches(found: &[String], token: &str) -> bool {
    let expected = format!("{VALUE_PREFIX}{token}");
    found.iter().any(|txt| txt.trim() == expected)
}

/// A domain an account has added, and whether DNS has proven it yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountDomain {
    pub id: DomainId,
    pub account_id: AccountId,
    /// ASCII (UTS-46), lower-case, without a trailing dot.
    pub domain: String,
    /// The TXT record's value is `terminus-hub-verification=<token>` (see [`challenge`]).
    pub token: String,
    pub verified_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddDomainOutcome {
    Added(AccountDomain),
    /// This account has added the domain already (that one is returned).
    AlreadyAdded(AccountDomain),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyDomainOutcome {
    Verified,
    /// Another account holds this domain verified: nothing was written.
    HeldByAnotherAccount,
    NotFound,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_domain_are_one_domain() {
        for spelling in ["ACME.test.", "acme.test", " Acme.Test ", "ａｃｍｅ.test"] {
            assert_eq!(normalise(spelling), Ok("acme.test".into()), "{spelling:?}");
        }
        assert_eq!(normalise("höli.test"), Ok("xn--hli-sna.test".into()));
        assert_eq!(normalise("xn--hli-sna.test"), Ok("xn--hli-sna.test".into()));
        assert_eq!(normalise("eu.acme.test"), Ok("eu.acme.test".into()));
    }

    #[test]
    fn malformed_domains_are_refused() {
        for bad in [
            "",
            "localhost",
            "-a.com",
            "a..com",
            "exa mple.com",
            "a_b.com",
            "http://acme.test",
            "bob@acme.test",
            "10.0.0.1",
            "acme\u{200b}.test",
        ] {
            assert_eq!(normalise(bad), Err(DomainError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn public_mail_providers_are_refused_in_every_spelling() {
        for free in [
            "gmail.com",
            "outlook.de",
            "yahoo.co.jp",
            "GMX.net.",
            "web.de",
        ] {
            assert!(
                matches!(check_new(free), Err(DomainError::PublicProvider(_))),
                "{free}"
            );
        }
        assert_eq!(check_new("acme.test"), Ok("acme.test".into()));
        assert!(FREE_MAIL.len() > 10_000, "the bundled list is loaded");
    }

    #[test]
    fn the_record_and_its_match() {
        let token = new_token();
        assert_eq!(token.len(), 32);
        assert_ne!(token, new_token());
        let r = challenge("acme.test", &token);
        assert_eq!(r.name, "_terminus-hub-challenge.acme.test");
        assert_eq!(r.value, format!("terminus-hub-verification={token}"));
        assert!(record_matches(
            &["v=spf1 -all".into(), r.value.clone()],
            &token
        ));
        assert!(!record_matches(
            std::slice::from_ref(&r.value),
            &new_token()
        ));
        assert!(!record_matches(&[], &token));
    }
}
