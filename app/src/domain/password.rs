//! The password policy (OWASP ASVS 6.2): length 8–128 characters, no composition rules,
//! and refused when it is a common or easily guessed password (zxcvbn's dictionaries).
use super::secret::Secret;

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("Enter a password.")]
    Empty,
    #[error("Use at least 8 characters.")]
    TooShort,
    #[error("Use at most 128 characters.")]
    TooLong,
    /// With zxcvbn's reason, when it gives one ("This is a top-10 common password.").
    #[error(
        "This password is too common or too easy to guess.{} Try a longer phrase of unrelated words.",
        .0.as_deref().map(|why| format!(" {why}")).unwrap_or_default()
    )]
    TooGuessable(Option<String>),
}

/// Length only: cheap, and done before anything expensive (hashing, zxcvbn) sees the input.
pub fn check_length(password: &str) -> Result<(), PasswordError> {
    if password.is_empty() {
        return Err(PasswordError::Empty);
    }
    // Count at most MAX+1 characters so a megabyte of input costs nothing.
    let chars = password.chars().take(MAX_PASSWORD_CHARS + 1).count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(PasswordError::TooLong);
    }
    Ok(())
}

/// The whole policy for a new password. `context` holds words a guesser would try first
/// (the email's parts, the product name).
pub fn check_new_password(password: &Secret, context: &[&str]) -> Result<(), PasswordError> {
    check_length(password.expose())?;
    let estimate = zxcvbn::zxcvbn(password.expose(), context);
    // Score 0–1 means "guessable in under 10^6 guesses": every common-password list entry
    // lands there, as do keyboard walks and repeats.
    if (estimate.score() as u8) < 2 {
        let why = estimate
            .feedback()
            .and_then(|f| f.warning())
            .map(|w| w.to_string());
        return Err(PasswordError::TooGuessable(why));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(p: &str) -> Result<(), PasswordError> {
        check_new_password(&Secret::new(p), &["alice", "example.com", "terminus"])
    }

    #[test]
    fn refuses_common_passwords() {
        for p in [
            "password",
            "password1",
            "12345678",
            "qwertyuiop",
            "iloveyou",
            "letmein123",
            "aaaaaaaaaaaa",
        ] {
            assert!(
                matches!(check(p), Err(PasswordError::TooGuessable(_))),
                "{p}"
            );
        }
    }

    #[test]
    fn refuses_context_words() {
        assert!(matches!(
            check("alice123"),
            Err(PasswordError::TooGuessable(_))
        ));
    }

    #[test]
    fn a_guessable_password_says_why() {
        let message = check("password1").map_err(|e| e.to_string());
        assert_eq!(
            message,
            Err("This password is too common or too easy to guess. This is a very common password. Try a longer phrase of unrelated words.".into())
        );
    }

    #[test]
    fn accepts_a_passphrase_without_composition_rules() {
        assert_eq!(check("correct horse battery staple"), Ok(()));
        assert_eq!(check("plumtreeviolinsunset"), Ok(()));
    }

    #[test]
    fn length_bounds_count_characters() {
        assert_eq!(check_length(""), Err(PasswordError::Empty));
        assert_eq!(check_length("seven77"), Err(PasswordError::TooShort));
        assert_eq!(check_length(&"é".repeat(128)), Ok(()));
        assert_eq!(check_length(&"x".repeat(129)), Err(PasswordError::TooLong));
        assert_eq!(
            check_length(&"x".repeat(1 << 20)),
            Err(PasswordError::TooLong)
        );
    }
}
