//! Email addresses as people type them: trimmed, lower-cased, and checked for a plausible shape.
use std::fmt;

/// The longest address SMTP can carry (RFC 5321 path limit minus the brackets).
pub const MAX_EMAIL_LEN: usize = 254;

/// A normalised email address: trimmed and lower-cased, so uniqueness is case-insensitive.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct EmailAddress(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("Enter your email address.")]
    Empty,
    #[error("This email address is too long.")]
    TooLong,
    #[error("Enter a valid email address, like name@example.com.")]
    Malformed,
}

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.len() > MAX_EMAIL_LEN {
            return Err(EmailError::TooLong);
        }
        let lowered = trimmed.to_lowercase();
        let (local, domain) = lowered.rsplit_once('@').ok_or(EmailError::Malformed)?;
        let shape_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && domain.len() >= 3
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.')
            && !lowered.chars().any(|c| {
                c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ',' | ';')
            });
        if !shape_ok {
            return Err(EmailError::Malformed);
        }
        Ok(Self(lowered))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the `@`: what single sign-on decisions are keyed on.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }

    /// The part before the `@`, used to name a new account.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map(|(l, _)| l).unwrap_or_default()
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_space() {
        let e = EmailAddress::parse("  Alice@Example.COM ").map(|e| e.to_string());
        assert_eq!(e.as_deref(), Ok("alice@example.com"));
    }

    #[test]
    fn splits_domain_and_local_part() {
        let e = EmailAddress::parse("bob.smith@corp.example.org");
        assert_eq!(e.as_ref().map(|e| e.domain()), Ok("corp.example.org"));
        assert_eq!(e.as_ref().map(|e| e.local_part()), Ok("bob.smith"));
    }

    #[test]
    fn refuses_bad_shapes() {
        for bad in [
            "",
            "   ",
            "no-at-sign",
            "@example.com",
            "a@b",
            "a@.com",
            "a@example.",
            "a b@example.com",
            "a@exa mple.com",
            "a@example..com",
            "<a>@example.com",
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn refuses_overlong() {
        let long = format!("{}@example.com", "a".repeat(10_000));
        assert_eq!(EmailAddress::parse(&long), Err(EmailError::TooLong));
    }
}
