//! Knowing the devices a person signs in from, for the new-device notice: a long-lived
//! device cookie (a random id; only its SHA-256 is stored, per person) plus the network the
//! sign-in came from (the IPv4 /24, the IPv6 /48). A sign-in whose (device, network) pair was
//! never seen for this person mails them a notice with a one-click "This wasn't me" link.
use std::net::IpAddr;
use std::time::Duration;

use super::secret::Secret;
use super::tokens::{generate_token, token_hash};

/// The device cookie's name on plain-http localhost; `__Host-thub_device` otherwise (like the
/// session cookie).
pub const COOKIE_NAME: &str = "thub_device";
pub const SECURE_COOKIE_NAME: &str = "__Host-thub_device";

/// The device cookie lives a year (renewed at every sign-in).
pub const COOKIE_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// A "This wasn't me" link works once, for 7 days.
pub const NOT_ME_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// The cookie's name, secure or not.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_COOKIE_NAME
    } else {
        COOKIE_NAME
    }
}

/// A fresh device id (32 random bytes from the OS CSPRNG, base64url): it goes into the
/// cookie only.
pub fn new_device_id() -> Secret {
    generate_token()
}

/// What is stored for a device id: its SHA-256, or `None` when the value cannot be one of
/// ours (a forged or mangled cookie is treated as no cookie).
pub fn device_hash(raw: &str) -> Option<String> {
    token_hash(raw)
}

/// The network a client IP belongs to for "seen before": the IPv4 /24 (`203.0.113.0/24`),
/// the IPv6 /48 (`2001:db8:1::/48`); an IPv4-mapped IPv6 address counts as IPv4. Anything
/// that is not an address is one network, `unknown`.
pub fn network(ip: &str) -> String {
    let Ok(addr) = ip.trim().parse::<IpAddr>() else {
        return "unknown".into();
    };
    let addr = match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    };
    match addr {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_the_ipv4_24_and_the_ipv6_48() {
        assert_eq!(network("203.0.113.7"), "203.0.113.0/24");
        assert_eq!(network("203.0.113.250"), "203.0.113.0/24");
        assert_ne!(network("203.0.114.7"), network("203.0.113.7"));
        assert_eq!(network("2001:db8:1:2::1"), "2001:db8:1::/48");
        assert_eq!(network("2001:db8:1:ffff::9"), "2001:db8:1::/48");
        assert_ne!(network("2001:db8:2::1"), network("2001:db8:1::1"));
        assert_eq!(network("::ffff:203.0.113.9"), "203.0.113.0/24");
        assert_eq!(network("unknown"), "unknown");
        assert_eq!(network(""), "unknown");
    }

    #[test]
    fn a_device_id_hashes_and_junk_is_no_device() {
        let id = new_device_id();
        let hash = device_hash(id.expose());
        assert_eq!(hash.as_ref().map(String::len), Some(64));
        assert_ne!(hash, device_hash(new_device_id().expose()));
        for junk in ["", "x", "a;b=c", &"é".repeat(43)] {
            assert_eq!(device_hash(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn the_cookie_is_host_prefixed_when_secure() {
        assert_eq!(cookie_name(true), "__Host-thub_device");
        assert_eq!(cookie_name(false), "thub_device");
    }
}
