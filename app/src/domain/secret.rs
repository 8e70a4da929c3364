//! A wrapper for secrets (passwords, raw tokens) that never prints and cannot be serialised.
use std::fmt;

/// Holds a secret string. `Debug` redacts it and there is deliberately no `Serialize`,
/// so a secret cannot end up in a log line or a rendered page by accident.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The only way to read the secret: the name makes every use easy to find.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Best effort, without unsafe code: clearing keeps the allocation, so writing
        // zeros over the same length overwrites the secret before it is freed.
        let len = self.0.len();
        self.0.clear();
        self.0.extend(std::iter::repeat_n('\0', len));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_redacts() {
        let s = super::Secret::new("hunter2hunter2");
        assert_eq!(format!("{s:?}"), "Secret([redacted])");
        assert_eq!(s.expose(), "hunter2hunter2");
    }
}
