//! A person's signed-in sessions as their Security page lists them: where (the device, from
//! its user agent, and the IP), how the session started, and when.
use super::clock::Timestamp;

/// How long a session lives without a request (DESIGN §5: idle timeout 24 h). The store keeps
/// each session's expiry, renewed by every request, so "last seen" is the expiry minus this.
pub const IDLE_TIMEOUT_MILLIS: i64 = 24 * 60 * 60 * 1000;

/// The longest user agent kept with a session; the rest is cut (it is shown, never parsed for
/// anything that decides).
pub const MAX_USER_AGENT_CHARS: usize = 300;

/// One live session of a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The session's key in the store: a SHA-256 of the cookie's id, so it can be shown to its
    /// owner and posted back ("sign out this session") without being a usable cookie.
    pub handle: String,
    /// "password" or "sso".
    pub method: Option<String>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub started_at: Option<Timestamp>,
    pub expires_at: Timestamp,
}

impl SessionInfo {
    /// When the session last served a request (its expiry is renewed by each).
    pub fn last_seen(&self) -> Timestamp {
        Timestamp(self.expires_at.millis() - IDLE_TIMEOUT_MILLIS)
    }

    /// "Password" or "Single sign-on" (or "—" for a session from before this was kept).
    pub fn method_label(&self) -> &'static str {
        match self.method.as_deref() {
            Some("password") => "Password",
            Some("sso") => "Single sign-on",
            Some("passkey") => "Passkey",
            _ => "—",
        }
    }

    /// "Firefox on Linux", from the user agent; "Unknown device" when there is none.
    pub fn device(&self) -> String {
        self.user_agent
            .as_deref()
            .map(device_label)
            .unwrap_or_else(|| "Unknown device".into())
    }
}

/// A user agent as kept with a session: control characters dropped, at most
/// [`MAX_USER_AGENT_CHARS`] characters; `None` when nothing is left.
pub fn kept_user_agent(raw: &str) -> Option<String> {
    let kept: String = raw
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_USER_AGENT_CHARS)
        .collect();
    let kept = kept.trim();
    (!kept.is_empty()).then(|| kept.to_owned())
}

/// A short name for the browser and system a user agent describes ("Chrome on macOS"). Only
/// for people to recognise their devices: user agents are easy to forge and decide nothing.
pub fn device_label(user_agent: &str) -> String {
    let ua = user_agent;
    // Order matters: Edge and Opera say "Chrome", Chrome says "Safari".
    let browser = if ua.contains("Edg/") {
        Some("Edge")
    } else if ua.contains("OPR/") {
        Some("Opera")
    } else if ua.contains("Firefox/") {
        Some("Firefox")
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") || ua.contains("CriOS/") {
        Some("Chrome")
    } else if ua.contains("Safari/") {
        Some("Safari")
    } else if ua.starts_with("curl/") {
        Some("curl")
    } else {
        None
    };
    let system = if ua.contains("iPhone") || ua.contains("iPad") {
        Some("iOS")
    } else if ua.contains("Android") {
        Some("Android")
    } else if ua.contains("Windows") {
        Some("Windows")
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        Some("macOS")
    } else if ua.contains("CrOS") {
        Some("ChromeOS")
    } else if ua.contains("Linux") {
        Some("Linux")
    } else {
        None
    };
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(s)) => format!("A browser on {s}"),
        (None, None) => "Unknown device".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_browsers_are_named_with_their_system() {
        let cases = [
            ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox on Linux"),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome on macOS"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "Edge on Windows"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "Safari on iOS"),
            ("Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome on Android"),
            ("curl/8.5.0", "curl"),
            ("something else", "Unknown device"),
        ];
        for (ua, label) in cases {
            assert_eq!(device_label(ua), label, "{ua}");
        }
    }

    #[test]
    fn a_kept_user_agent_has_no_control_characters_and_a_bounded_length() {
        assert_eq!(kept_user_agent("  "), None);
        assert_eq!(kept_user_agent("a\u{7}b\r\nc").as_deref(), Some("abc"));
        let long = "x".repeat(MAX_USER_AGENT_CHARS + 50);
        assert_eq!(
            kept_user_agent(&long).map(|s| s.chars().count()),
            Some(MAX_USER_AGENT_CHARS)
        );
    }

    #[test]
    fn last_seen_is_the_renewed_expiry_less_the_idle_timeout() {
        let info = SessionInfo {
            handle: "h".into(),
            method: Some("sso".into()),
            user_agent: None,
            ip: None,
            started_at: None,
            expires_at: Timestamp(IDLE_TIMEOUT_MILLIS + 5),
        };
        assert_eq!(info.last_seen(), Timestamp(5));
        assert_eq!(info.method_label(), "Single sign-on");
        assert_eq!(info.device(), "Unknown device");
    }
}
