//! Single sign-on rules that need no I/O: which issuer URLs and network addresses the hub may
//! talk to (so an owner cannot point it at the hub's own network), and what the email step
//! does with a domain; and the connections and sign-ins as the store keeps them. The OIDC flow
//! itself lives in the process crate.
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::audit::AuditEvent;
use super::clock::Timestamp;
use super::email::EmailAddress;
use super::ids::{AccountId, ConnectionId, InvitationId, UserId};
use super::roles::Role;
use super::users::UserRecord;

/// Where issuers may live, from the hub's own configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IssuerPolicy {
    /// The hub's own public URL is loopback (development and tests): loopback issuers, over
    /// plain http too, are allowed.
    pub allow_loopback: bool,
    /// `TERMINUS_SSO_ALLOW_PRIVATE_ISSUERS`: an in-house provider on a private network.
    pub allow_private: bool,
}

/// What kind of network an address is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    Public,
    Loopback,
    /// RFC 1918, carrier-grade NAT, IPv6 unique-local.
    Private,
    /// Never reachable on purpose: unspecified, link-local (cloud metadata lives there),
    /// multicast, broadcast, documentation and reserved ranges.
    Forbidden,
}

pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        AddressClass::Loopback
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        AddressClass::Private
    } else if a == 0
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || a >= 240
        || (a == 192 && b == 0 && (c == 0 || c == 2))
        || (a == 198 && (b == 18 || b == 19))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
    {
        AddressClass::Forbidden
    } else {
        AddressClass::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let s = ip.segments();
    if ip.is_loopback() {
        AddressClass::Loopback
    } else if (s[0] & 0xfe00) == 0xfc00 {
        AddressClass::Private
    } else if ip.is_unspecified()
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] & 0xff00) == 0xff00
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        // NAT64 and IPv4-compatible forms could smuggle any IPv4 address.
        || (s[0] == 0x0064 && s[1] == 0xff9b)
        || (s[0..6] == [0, 0, 0, 0, 0, 0])
    {
        AddressClass::Forbidden
    } else {
        AddressClass::Public
    }
}

impl IssuerPolicy {
    /// Whether the hub may connect to `ip` for single sign-on.
    pub fn allows_address(&self, ip: IpAddr) -> bool {
        match classify(ip) {
            AddressClass::Public => true,
            AddressClass::Loopback => self.allow_loopback,
            AddressClass::Private => self.allow_private,
            AddressClass::Forbidden => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssuerError {
    #[error("Enter the issuer URL, like https://login.example.com")]
    Malformed,
    #[error("The issuer URL must start with https://")]
    NotHttps,
    #[error("The issuer URL must not contain a user name or password.")]
    Userinfo,
    #[error("The issuer URL must not have a query or a fragment.")]
    QueryOrFragment,
    #[error("The issuer is on a loopback, private or reserved network address, which single sign-on may not use.")]
    ForbiddenAddress,
}

/// Whether a host name is one of loopback's names.
fn is_localhost(host: &str) -> bool {
    host == "localhost" || host.ends_with(".localhost")
}

/// A checked issuer URL: `https` (plain `http` only on loopback when loopback is allowed), no
/// user info, no query or fragment, and an IP literal host only where the policy allows it.
/// Host names are checked again on every address they resolve to, by the adapter that
/// connects. Returns the issuer without a trailing slash.
pub fn parse_issuer(input: &str, policy: IssuerPolicy) -> Result<String, IssuerError> {
    let input = input.trim();
    if input.len() > 512 || input.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(IssuerError::Malformed);
    }
    let url = url::Url::parse(input).map_err(|_| IssuerError::Malformed)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(IssuerError::Userinfo);
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(IssuerError::QueryOrFragment);
    }
    let loopback = match url.host() {
        None => return Err(IssuerError::Malformed),
        Some(url::Host::Ipv4(ip)) => check_literal(IpAddr::V4(ip), policy)?,
        Some(url::Host::Ipv6(ip)) => check_literal(IpAddr::V6(ip), policy)?,
        Some(url::Host::Domain(name)) => {
            if is_localhost(name) && !policy.allow_loopback {
                return Err(IssuerError::ForbiddenAddress);
            }
            if !is_localhost(name) && !name.contains('.') {
                // A bare name resolves through the local search path: an internal host.
                return Err(IssuerError::Malformed);
            }
            is_localhost(name)
        }
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback && policy.allow_loopback => {}
        "http" => return Err(IssuerError::NotHttps),
        _ => return Err(IssuerError::Malformed),
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// `Ok(true)` for an allowed loopback literal, `Ok(false)` for another allowed literal.
fn check_literal(ip: IpAddr, policy: IssuerPolicy) -> Result<bool, IssuerError> {
    if !policy.allows_address(ip) {
        return Err(IssuerError::ForbiddenAddress);
    }
    Ok(classify(ip) == AddressClass::Loopback)
}

/// How a domain changes the email step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainPolicy {
    /// Not served by a connection through a verified domain: the password step.
    Unclaimed,
    /// Served, not enforced: the password step with a "Continue with SSO" button.
    Offered,
    /// Served and enforced: straight to the identity provider.
    Enforced,
}

/// A domain a connection serves; only a verified one routes the email step or enforces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedDomain {
    pub domain: String,
    pub verified: bool,
}

/// A single sign-on connection to an OpenID provider, with the domains it serves.
/// The client secret stays sealed (see `sealing`); `Debug` leaves it out.
#[derive(Clone, PartialEq, Eq)]
pub struct SsoConnection {
    pub id: ConnectionId,
    pub account_id: AccountId,
    pub issuer: String,
    pub client_id: String,
    pub client_secret_sealed: String,
    pub enforced: bool,
    /// "Create users on first sign-in": on an invite-only server, whether a first sign-in
    /// creates a user for someone who was not invited (the owner's choice; off by default).
    pub create_users: bool,
    pub domains: Vec<ServedDomain>,
    /// When an owner last completed a sign-in through it ("Test sign-in").
    pub tested_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

impl SsoConnection {
    /// Whether it serves `domain` through a verified account domain.
    pub fn serves_verified(&self, domain: &str) -> bool {
        self.domains
            .iter()
            .any(|d| d.verified && d.domain == domain)
    }

    pub fn domain_names(&self) -> Vec<String> {
        self.domains.iter().map(|d| d.domain.clone()).collect()
    }
}

impl fmt::Debug for SsoConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SsoConnection")
            .field("id", &self.id)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("enforced", &self.enforced)
            .field("create_users", &self.create_users)
            .field("domains", &self.domains)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SsoCreated {
    Created,
    /// Another connection already serves this domain; nothing was written.
    DomainTaken(String),
}

/// Whether a first sign-in through `connection` may create a user for someone the hub does
/// not know yet, invitations aside: on an open server always (anyone could sign up); on an
/// invite-only one only where the connection's owner turned on "create users on first
/// sign-in". An invitation for the person lets them in either way (the store checks and
/// uses it in the sign-in's transaction).
pub fn first_sign_in_creates_users(open_sign_up: bool, connection: &SsoConnection) -> bool {
    open_sign_up || connection.create_users
}

/// An invitation a sign-in through the provider accepts, in its transaction.
#[derive(Debug, Clone)]
pub struct InvitationToAccept {
    pub id: InvitationId,
    pub account_id: AccountId,
    pub email: EmailAddress,
    pub role: Role,
    /// `member.joined` (the store fills in the user as the actor).
    pub audit: AuditEvent,
}

/// Which invitation a sign-in through the provider may accept.
#[derive(Debug, Clone)]
pub enum SsoInvitation {
    /// The person's pending invitation to the connection's account: accepted at the first
    /// sign-in of their identity (it also lets a new user be created on an invite-only server).
    Pending(InvitationToAccept),
    /// The invitation whose link the person opened (to any account): accepted at this
    /// sign-in when it names the user signing in.
    Link(InvitationToAccept),
}

/// After a verified ID token: who it names, by (connection, subject).
pub struct SsoSignIn {
    pub connection_id: ConnectionId,
    pub account_id: AccountId,
    pub subject: String,
    /// The verified email, on a domain the connection serves: links an existing user or
    /// names a new one at the first sign-in of this subject.
    pub email: EmailAddress,
    pub new_user_id: UserId,
    /// May a user be created without an invitation ([`first_sign_in_creates_users`])?
    pub may_create_user: bool,
    pub invitation: Option<SsoInvitation>,
    pub now: Timestamp,
}

#[derive(Debug, Clone)]
pub enum SsoSignInOutcome {
    /// The user this identity belongs to (found, linked now, or provisioned now), and the
    /// account whose invitation was accepted, if one was.
    SignedIn {
        user: UserRecord,
        new_identity: bool,
        joined: Option<AccountId>,
    },
    /// Nobody has this email, and the sign-up policy lets no user be created for them (no
    /// invitation, and the connection does not create users). Nothing was written.
    NotInvited,
    /// The connection no longer serves the domain of the user's email (the domain was removed
    /// while the sign-in was under way, or since the identity was linked). Nothing was written.
    DomainNotServed,
    /// The user with that email is already linked to another subject at this connection.
    UserLinkedElsewhere,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnforceOutcome {
    /// Enforced now; this many password sessions were ended.
    Enforced {
        sessions_ended: u64,
    },
    /// No test sign-in has completed through this connection yet.
    NotTested,
    NotFound,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(create_users: bool) -> SsoConnection {
        SsoConnection {
            id: "sso_1".into(),
            account_id: "acc_1".into(),
            issuer: "https://login.example.com".into(),
            client_id: "client".into(),
            client_secret_sealed: String::new(),
            enforced: false,
            create_users,
            domains: Vec::new(),
            tested_at: None,
            created_at: Timestamp(0),
        }
    }

    #[test]
    fn first_sign_ins_create_users_on_open_servers_or_where_the_owner_chose_it() {
        assert!(first_sign_in_creates_users(true, &connection(false)));
        assert!(first_sign_in_creates_users(true, &connection(true)));
        assert!(
            !first_sign_in_creates_users(false, &connection(false)),
            "invite-only, the default: invitations only"
        );
        assert!(first_sign_in_creates_users(false, &connection(true)));
    }

    const PUBLIC_ONLY: IssuerPolicy = IssuerPolicy {
        allow_loopback: false,
        allow_private: false,
    };
    const DEV: IssuerPolicy = IssuerPolicy {
        allow_loopback: true,
        allow_private: false,
    };

    #[test]
    fn https_issuers_on_public_names_are_accepted() {
        assert_eq!(
            parse_issuer("https://login.example.com/", PUBLIC_ONLY),
            Ok("https://login.example.com".into())
        );
        assert_eq!(
            parse_issuer("https://login.example.com/realms/acme", PUBLIC_ONLY),
            Ok("https://login.example.com/realms/acme".into())
        );
        assert_eq!(
            parse_issuer("https://93.184.216.34", PUBLIC_ONLY),
            Ok("https://93.184.216.34".into())
        );
    }

    #[test]
    fn look_alikes_of_loopback_are_not_loopback() {
        for bad in [
            "http://127.0.0.1.evil.test",
            "http://localhost.evil.test:8080",
            "http://127.0.0.1@evil.test",
            "http://evil.test#@127.0.0.1",
        ] {
            assert!(parse_issuer(bad, DEV).is_err(), "{bad}");
        }
        assert_eq!(
            parse_issuer("http://127.0.0.1@evil.test", DEV),
            Err(IssuerError::Userinfo)
        );
    }

    #[test]
    fn loopback_only_when_the_hub_itself_is_loopback() {
        assert_eq!(
            parse_issuer("http://127.0.0.1:4000", DEV),
            Ok("http://127.0.0.1:4000".into())
        );
        assert_eq!(
            parse_issuer("http://localhost:4000/", DEV),
            Ok("http://localhost:4000".into())
        );
        assert_eq!(
            parse_issuer("http://127.0.0.1:4000", PUBLIC_ONLY),
            Err(IssuerError::ForbiddenAddress)
        );
        assert_eq!(
            parse_issuer("https://localhost", PUBLIC_ONLY),
            Err(IssuerError::ForbiddenAddress)
        );
        assert_eq!(
            parse_issuer("http://login.example.com", DEV),
            Err(IssuerError::NotHttps)
        );
    }

    #[test]
    fn private_and_reserved_addresses() {
        for bad in [
            "https://10.0.0.5",
            "https://192.168.1.1",
            "https://169.254.169.254",
            "https://[::ffff:169.254.169.254]",
            "https://[fe80::1]",
            "https://0.0.0.0",
            "https://[::]",
            "https://[fd00::1]",
        ] {
            assert_eq!(
                parse_issuer(bad, DEV),
                Err(IssuerError::ForbiddenAddress),
                "{bad}"
            );
        }
        let private = IssuerPolicy {
            allow_loopback: false,
            allow_private: true,
        };
        assert!(parse_issuer("https://10.0.0.5", private).is_ok());
        assert!(
            parse_issuer("https://169.254.169.254", private).is_err(),
            "link-local (cloud metadata) is never allowed"
        );
    }

    #[test]
    fn other_shapes_are_refused() {
        for bad in [
            "",
            "ftp://x.example",
            "https://",
            "https://intranet",
            "not a url",
        ] {
            assert!(parse_issuer(bad, DEV).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_issuer("https://login.example.com/?a=b", DEV),
            Err(IssuerError::QueryOrFragment)
        );
    }

    #[test]
    fn address_classes() {
        let c = |s: &str| classify(s.parse().unwrap());
        assert_eq!(c("8.8.8.8"), AddressClass::Public);
        assert_eq!(c("127.0.0.2"), AddressClass::Loopback);
        assert_eq!(c("::1"), AddressClass::Loopback);
        assert_eq!(c("172.16.0.1"), AddressClass::Private);
        assert_eq!(c("100.64.0.1"), AddressClass::Private);
        assert_eq!(c("169.254.169.254"), AddressClass::Forbidden);
        assert_eq!(c("::ffff:10.0.0.1"), AddressClass::Private);
        assert_eq!(c("64:ff9b::a00:1"), AddressClass::Forbidden);
        assert_eq!(c("2606:4700::1111"), AddressClass::Public);
    }
}
