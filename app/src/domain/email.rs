//! Email addresses as people type them: trimmed, normalised (domain to ASCII by UTS-46, the
//! local part to NFC, case-folded) and checked for a plausible shape, so that one mailbox has
//! one spelling and look-alike characters cannot slip past a rule keyed on the domain. A
//! local part that mixes scripts (`оwn@` with a Cyrillic о among Latin letters) is refused:
//! it exists only to look like another address.
use std::fmt;

use unicode_normalization::UnicodeNormalization as _;
use unicode_security::MixedScript as _;

use super::text::is_invisible_or_bidi;

/// The longest address SMTP can carry (RFC 5321 path limit minus the brackets).
pub const MAX_EMAIL_LEN: usize = 254;

/// A normalised email address: `local@domain` with the local part NFC and lower-cased and
/// the domain in its ASCII (A-label) form, so uniqueness is case- and spelling-insensitive.
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
    #[error("This email address contains invisible or direction-changing characters.")]
    HiddenCharacters,
    #[error("The part before the @ mixes letters from different scripts (such as Latin and Cyrillic), so it looks like another address. Type it in one script.")]
    MixedScript,
}

/// A domain name in its ASCII form (UTS-46: case-folded, NFC, IDNA to A-labels), without a
/// trailing dot; `None` when it is not a valid host name of at least two labels.
pub fn ascii_domain(input: &str) -> Option<String> {
    let trimmed = input.trim();
    let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
    if trimmed.is_empty() || trimmed.chars().any(is_invisible_or_bidi) {
        return None;
    }
    let ascii = idna::domain_to_ascii(trimmed).ok()?;
    let labels_ok = ascii.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    // The top-level label is never all digits: that would be an IP address.
    let tld_ok = ascii
        .rsplit('.')
        .next()
        .is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()));
    (ascii.len() <= 253 && ascii.contains('.') && labels_ok && tld_ok).then_some(ascii)
}

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.len() > MAX_EMAIL_LEN * 4 {
            return Err(EmailError::TooLong);
        }
        if trimmed.chars().any(is_invisible_or_bidi) {
            return Err(EmailError::HiddenCharacters);
        }
        let (local, domain) = trimmed.rsplit_once('@').ok_or(EmailError::Malformed)?;
        let local: String = local.nfc().collect::<String>().to_lowercase();
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && !local.chars().any(|c| {
                c.is_whitespace()
                    || c.is_control()
                    || matches!(
                        c,
                        '@' | '<' | '>' | '"' | ',' | ';' | '(' | ')' | '[' | ']' | '\\'
                    )
            });
        let domain = ascii_domain(domain).ok_or(EmailError::Malformed)?;
        if !local_ok {
            return Err(EmailError::Malformed);
        }
        // UTS 39 mixed-script detection: digits and punctuation (script Common) go with any
        // script, and Han with Hiragana, Katakana or Hangul counts as one (Japanese, Korean).
        if !local.as_str().is_single_script() {
            return Err(EmailError::MixedScript);
        }
        let address = format!("{local}@{domain}");
        if address.len() > MAX_EMAIL_LEN {
            return Err(EmailError::TooLong);
        }
        Ok(Self(address))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the `@`, in ASCII: what single sign-on decisions are keyed on.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }

    /// The part before the `@`, used to name a new account.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map(|(l, _)| l).unwrap_or_default()
    }

    /// The mailbox this address delivers to, for counting mails only (never for identity):
    /// sub-addressing folded (`a+tag@d` is `a@d`), and the dots of providers that ignore them
    /// (`a.b@gmail.com` is `ab@gmail.com`), so spelling one mailbox many ways floods nothing.
    pub fn mailbox_key(&self) -> String {
        let local = self.local_part();
        let local = local.split_once('+').map_or(local, |(base, _)| base);
        let domain = self.domain();
        let local = if DOTLESS_DOMAINS.contains(&domain) {
            local.replace('.', "")
        } else {
            local.to_owned()
        };
        format!("{local}@{domain}")
    }
}

/// Mail providers that deliver `a.b@` to `ab@`.
const DOTLESS_DOMAINS: &[&str] = &["gmail.com", "googlemail.com"];

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mailbox_key_folds_sub_addresses_and_ignored_dots() {
        let key = |s: &str| EmailAddress::parse(s).map(|e| e.mailbox_key());
        assert_eq!(key("Victim+1@Example.com"), Ok("victim@example.com".into()));
        assert_eq!(
            key("victim+a+b@example.com"),
            Ok("victim@example.com".into())
        );
        assert_eq!(key("vic.tim@example.com"), Ok("vic.tim@example.com".into()));
        assert_eq!(key("v.ic.tim+x@gmail.com"), Ok("victim@gmail.com".into()));
        assert_eq!(
            key("victim@googlemail.com"),
            Ok("victim@googlemail.com".into())
        );
        // Identity is untouched: the address itself keeps its tag.
        assert_eq!(
            EmailAddress::parse("victim+1@example.com").map(|e| e.as_str().to_owned()),
            Ok("victim+1@example.com".into())
        );
    }

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
    fn international_domains_become_their_ascii_form() {
        let e = EmailAddress::parse("Bob@Höli.test").map(|e| e.to_string());
        assert_eq!(e.as_deref(), Ok("bob@xn--hli-sna.test"));
        assert_eq!(
            EmailAddress::parse("bob@xn--hli-sna.test"),
            EmailAddress::parse("bob@höli.test")
        );
        // Full-width letters fold to ASCII under UTS-46.
        assert_eq!(
            EmailAddress::parse("bob@ｅｘａｍｐｌｅ.com").map(|e| e.to_string()),
            Ok("bob@example.com".to_owned())
        );
        assert_eq!(
            EmailAddress::parse("bob@example.com.").map(|e| e.to_string()),
            Ok("bob@example.com".to_owned())
        );
    }

    #[test]
    fn local_parts_are_nfc() {
        // "é" as e + combining acute, and as one code point: one address.
        assert_eq!(
            EmailAddress::parse("re\u{301}my@example.com"),
            EmailAddress::parse("r\u{e9}my@example.com")
        );
    }

    #[test]
    fn refuses_invisible_and_bidi_characters() {
        for bad in [
            "bob\u{202e}@example.com",
            "bob\u{200b}@example.com",
            "bob@exa\u{200d}mple.com",
            "bob@example.com\u{feff}",
            "\u{2066}bob@example.com",
        ] {
            assert_eq!(
                EmailAddress::parse(bad),
                Err(EmailError::HiddenCharacters),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn refuses_local_parts_that_mix_scripts() {
        for look_alike in [
            "\u{43e}wn@example.com",    // Cyrillic о, then Latin "wn"
            "p\u{430}ypal@example.com", // Cyrillic а
            "\u{3bf}wn@example.com",    // Greek ο
            "admin\u{5d0}@example.com", // a Hebrew letter at the end
        ] {
            assert_eq!(
                EmailAddress::parse(look_alike),
                Err(EmailError::MixedScript),
                "{look_alike:?}"
            );
        }
        assert!(EmailError::MixedScript
            .to_string()
            .contains("mixes letters from different scripts"));
    }

    #[test]
    fn one_script_with_digits_and_punctuation_is_fine() {
        for fine in [
            "own.name+tag-2@example.com",
            "\u{43e}\u{43b}\u{44f}.2024@example.com", // Cyrillic with digits
            "\u{3b1}\u{3b8}\u{3b7}\u{3bd}\u{3ac}@example.com", // Greek
            "\u{5c71}\u{7530}\u{305f}\u{308d}\u{3046}@example.com", // Han + Hiragana (Japanese)
            "1234@example.com",
        ] {
            assert!(EmailAddress::parse(fine).is_ok(), "{fine:?}");
        }
        // The domain is checked by IDNA, not here: a Unicode domain is fine.
        assert!(EmailAddress::parse("own@h\u{f6}li.test").is_ok());
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
            "a@127.0.0.1",
            "a\r\nb@example.com",
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
        let long_domain = format!("a@{}.com", "b".repeat(300));
        assert!(EmailAddress::parse(&long_domain).is_err());
    }
}
