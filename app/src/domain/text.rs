//! Hygiene for text people give us (names of accounts, workspaces, keys; client ids): no
//! control characters, no invisible or direction-changing characters that make one name look
//! like another or forge a line in a log or an email header; NFC so one name has one spelling.
use unicode_normalization::UnicodeNormalization as _;

/// Bidi controls (which reorder what is shown) and zero-width characters (which hide).
pub fn is_invisible_or_bidi(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'              // Arabic letter mark
        | '\u{200B}'..='\u{200F}' // zero-width space/non-joiner/joiner, LRM, RLM
        | '\u{202A}'..='\u{202E}' // LRE, RLE, PDF, LRO, RLO
        | '\u{2060}'..='\u{2064}' // word joiner and invisible operators
        | '\u{2066}'..='\u{2069}' // LRI, RLI, FSI, PDI
        | '\u{FEFF}'              // zero-width no-break space (BOM)
        | '\u{180E}'              // Mongolian vowel separator
    )
}

/// Whether `c` may not appear in a name: controls (C0, DEL, C1, including CR, LF, NUL, TAB),
/// line and paragraph separators, and invisible or bidi characters.
pub fn is_forbidden_in_name(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') || is_invisible_or_bidi(c)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("Enter a name.")]
    Empty,
    #[error("Use at most {0} characters.")]
    TooLong(usize),
    #[error("Names cannot contain line breaks, control characters, or invisible or direction-changing characters.")]
    ForbiddenCharacter,
}

impl NameError {
    /// A stable snake_case code for the REST API.
    pub fn code(self) -> &'static str {
        match self {
            NameError::Empty => "parameter_invalid_empty",
            NameError::TooLong(_) => "parameter_invalid_string_too_long",
            NameError::ForbiddenCharacter => "parameter_invalid_characters",
        }
    }
}

/// A name as stored: trimmed, NFC, 1 to `max_chars` characters, none of them forbidden.
pub fn clean_name(input: &str, max_chars: usize) -> Result<String, NameError> {
    if input.chars().any(is_forbidden_in_name) {
        return Err(NameError::ForbiddenCharacter);
    }
    let name: String = input.trim().nfc().collect();
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.chars().count() > max_chars {
        return Err(NameError::TooLong(max_chars));
    }
    Ok(name)
}

/// Text from outside for a log line: control and bidi characters escaped, so a value can
/// never end the line it is in or disguise what follows.
pub fn for_log(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        if is_forbidden_in_name(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_normalised() {
        assert_eq!(clean_name("  Acme  ", 10), Ok("Acme".into()));
        assert_eq!(clean_name("Cafe\u{301}", 10), Ok("Caf\u{e9}".into()), "NFC");
    }

    #[test]
    fn control_bidi_and_invisible_characters_are_refused() {
        for bad in [
            "Acme\r\nINFO forged line",
            "Acme\0",
            "Acme\t",
            "\u{202e}emcA",
            "Ac\u{200b}me",
            "Acme\u{2028}",
            "Acme\u{1b}[31m",
            "Acme\u{85}",
        ] {
            assert_eq!(
                clean_name(bad, 100),
                Err(NameError::ForbiddenCharacter),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn empty_and_long_names_are_refused() {
        assert_eq!(clean_name("   ", 10), Err(NameError::Empty));
        assert_eq!(clean_name(&"é".repeat(11), 10), Err(NameError::TooLong(10)));
        assert_eq!(clean_name(&"é".repeat(10), 10), Ok("é".repeat(10)));
    }

    #[test]
    fn log_text_cannot_break_lines() {
        assert_eq!(for_log("a\r\nb"), "a\\u{d}\\u{a}b");
        assert_eq!(for_log("ok ünïcode"), "ok ünïcode");
    }
}
