//! Single sign-on rules that need no I/O: which domains an account may claim, and what the
//! email step does with a claimed domain. (The OIDC flow itself lives in the process crate.)
use super::email::EmailAddress;

/// Public mail providers: nobody may claim them, or one account would capture everyone.
pub const PUBLIC_MAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "hotmail.co.uk",
    "live.com",
    "msn.com",
    "yahoo.com",
    "yahoo.co.uk",
    "yahoo.fr",
    "ymail.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "pm.me",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "mail.com",
    "zoho.com",
    "yandex.com",
    "yandex.ru",
    "mail.ru",
    "qq.com",
    "163.com",
    "126.com",
    "fastmail.com",
    "hey.com",
    "tutanota.com",
    "tuta.io",
    "free.fr",
    "orange.fr",
    "laposte.net",
    "t-online.de",
    "libero.it",
    "seznam.cz",
    "wp.pl",
    "o2.pl",
    "rediffmail.com",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainClaimError {
    #[error("Enter a domain like example.com.")]
    Malformed,
    #[error("{0} is a public mail provider and cannot be claimed.")]
    PublicProvider(String),
    #[error("You can only claim {0} if your own confirmed email address is on it.")]
    NotYourDomain(String),
}

/// A domain as claimed: lower-cased, without a trailing dot. Subdomains are separate domains.
pub fn normalise_domain(input: &str) -> Result<String, DomainClaimError> {
    let d = input.trim().trim_end_matches('.').to_lowercase();
    let labels_ok = d.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    if d.len() > 253 || !d.contains('.') || !labels_ok {
        return Err(DomainClaimError::Malformed);
    }
    Ok(d)
}

/// Whether the owner whose email is `owner_email` (confirmed) may claim `domain`.
pub fn check_claim(
    domain: &str,
    owner_email: &EmailAddress,
    owner_confirmed: bool,
) -> Result<String, DomainClaimError> {
    let domain = normalise_domain(domain)?;
    if PUBLIC_MAIL_DOMAINS.contains(&domain.as_str()) {
        return Err(DomainClaimError::PublicProvider(domain));
    }
    if !owner_confirmed || owner_email.domain() != domain {
        return Err(DomainClaimError::NotYourDomain(domain));
    }
    Ok(domain)
}

/// How a claimed domain changes the email step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainPolicy {
    /// Not claimed: the password step.
    Unclaimed,
    /// Claimed, not enforced: the password step with a "Continue with SSO" button.
    Offered,
    /// Claimed and enforced: straight to the identity provider.
    Enforced,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn email(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }

    #[test]
    fn domains_are_normalised_and_validated() {
        assert_eq!(
            normalise_domain(" Corp.Example.COM. "),
            Ok("corp.example.com".into())
        );
        for bad in [
            "",
            "localhost",
            "-a.com",
            "a..com",
            "exa mple.com",
            "a_b.com",
        ] {
            assert_eq!(
                normalise_domain(bad),
                Err(DomainClaimError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn only_an_owner_on_the_domain_may_claim_it() {
        let owner = email("boss@corp.test");
        assert_eq!(
            check_claim("CORP.test", &owner, true),
            Ok("corp.test".into())
        );
        assert_eq!(
            check_claim("corp.test", &owner, false),
            Err(DomainClaimError::NotYourDomain("corp.test".into()))
        );
        assert_eq!(
            check_claim("eu.corp.test", &owner, true),
            Err(DomainClaimError::NotYourDomain("eu.corp.test".into())),
            "subdomains are separate"
        );
        let gmail = email("someone@gmail.com");
        assert_eq!(
            check_claim("gmail.com", &gmail, true),
            Err(DomainClaimError::PublicProvider("gmail.com".into()))
        );
    }
}
