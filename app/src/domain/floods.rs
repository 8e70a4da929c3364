//! The flood rules: how often one client network may ask for work that costs someone else
//! something (a mail in a stranger's mailbox, a page of work), how many confirmation mails
//! one domain receives an hour, and how many invitations and accounts one person makes a day.
//! Each is a fixed-window counter the store keeps for every instance; this module names the
//! counters and holds the numbers.
use std::time::Duration;

use super::clock::Timestamp;
use crate::domain::ids::UserId;

/// The requests limited per client network before any work is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    SignUp,
    ResendConfirmation,
    ForgotPassword,
    Unlock,
    /// Starting a passkey sign-in (each start keeps a ceremony row: cheap, but not free).
    PasskeySignIn,
    /// Reports of leaked API keys (`POST /credentials/revoke`).
    CredentialReport,
}

impl Door {
    pub fn as_str(self) -> &'static str {
        match self {
            Door::SignUp => "sign-up",
            Door::ResendConfirmation => "resend",
            Door::ForgotPassword => "forgot",
            Door::Unlock => "unlock",
            Door::PasskeySignIn => "passkey",
            Door::CredentialReport => "credential-report",
        }
    }
}

/// One hour: the window of the per-client and per-domain limits.
pub const HOUR: Duration = Duration::from_secs(3600);
/// One day: the window of the per-person limits.
pub const DAY: Duration = Duration::from_secs(24 * 3600);

/// The numbers (each a setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloodPolicy {
    /// Requests of one [`Door`] that sends mail from one client network (IPv4 address, IPv6
    /// /64) an hour.
    pub requests_per_ip_per_hour: u32,
    /// Passkey sign-ins started from one client network an hour (every visit to the
    /// sign-in page with JavaScript starts one, so many more than mail requests).
    pub passkey_sign_ins_per_ip_per_hour: u32,
    /// Confirmation mails to addresses of one domain an hour.
    pub confirm_mails_per_domain_per_hour: u32,
    /// Invitations one person sends a day, across every account they administer.
    pub invitations_per_person_per_day: u32,
    /// Accounts one person creates a day.
    pub accounts_per_person_per_day: u32,
}

impl Default for FloodPolicy {
    fn default() -> Self {
        Self {
            requests_per_ip_per_hour: 30,
            passkey_sign_ins_per_ip_per_hour: 300,
            confirm_mails_per_domain_per_hour: 100,
            invitations_per_person_per_day: 50,
            accounts_per_person_per_day: 10,
        }
    }
}

impl FloodPolicy {
    /// The hourly budget of one client network at `door`.
    pub fn per_ip_per_hour(&self, door: Door) -> u32 {
        match door {
            Door::PasskeySignIn => self.passkey_sign_ins_per_ip_per_hour,
            Door::SignUp
            | Door::ResendConfirmation
            | Door::ForgotPassword
            | Door::Unlock
            | Door::CredentialReport => self.requests_per_ip_per_hour,
        }
    }

    /// How long a refused client waits: until the window that started at `window_start`
    /// ends, and at least a second.
    pub fn retry_after(window: Duration, window_start: Timestamp, now: Timestamp) -> Duration {
        now.until(window_start.plus(window))
            .max(Duration::from_secs(1))
    }
}

/// The network a client is counted as: the IPv4 address (an IPv4-mapped IPv6 address is its
/// IPv4 address), or the /64 of an IPv6 address (one subscriber usually holds a whole /64,
/// and could rotate through it).
pub fn client_network(client_ip: &str) -> String {
    match client_ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => v4.to_string(),
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
            }
        },
        Err(_) => client_ip.to_owned(),
    }
}

/// The counter of `door` requests from `client_ip`'s network.
pub fn door_key(door: Door, client_ip: &str) -> String {
    format!("{}-ip:{}", door.as_str(), client_network(client_ip))
}

/// The counter of confirmation mails to one domain.
pub fn confirm_domain_key(domain: &str) -> String {
    format!("confirm-domain:{domain}")
}

/// The counter of invitations a person sent.
pub fn invitations_by_key(user_id: &UserId) -> String {
    format!("invitations-by:{user_id}")
}

/// The counter of accounts a person created.
pub fn accounts_by_key(user_id: &UserId) -> String {
    format!("accounts-by:{user_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_counted_per_ipv4_address_and_ipv6_64() {
        assert_eq!(client_network("203.0.113.9"), "203.0.113.9");
        assert_eq!(client_network("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(
            client_network("2001:db8:1:2:aaaa::1"),
            client_network("2001:db8:1:2:bbbb::2")
        );
        assert_eq!(client_network("2001:db8:1:2::9"), "2001:db8:1:2::/64");
        assert_ne!(
            client_network("2001:db8:1:2::1"),
            client_network("2001:db8:1:3::1")
        );
    }

    #[test]
    fn each_door_has_its_own_counter() {
        assert_eq!(
            door_key(Door::SignUp, "198.51.100.7"),
            "sign-up-ip:198.51.100.7"
        );
        assert_ne!(
            door_key(Door::SignUp, "198.51.100.7"),
            door_key(Door::ForgotPassword, "198.51.100.7")
        );
    }

    #[test]
    fn a_refused_client_waits_until_the_window_ends() {
        let start = Timestamp(1_000_000);
        let now = start.plus(Duration::from_secs(600));
        assert_eq!(
            FloodPolicy::retry_after(HOUR, start, now),
            Duration::from_secs(3000)
        );
        assert_eq!(
            FloodPolicy::retry_after(HOUR, start, start.plus(HOUR)),
            Duration::from_secs(1)
        );
    }
}
