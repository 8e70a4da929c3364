//! API keys: `thub_` + 26 random base62 characters (about 154 bits) + a 6-character base62
//! CRC32 of everything before it, so a mistyped or made-up key is refused without a database
//! lookup. Only a SHA-256 of the whole key is stored, with a short display hint.
use rand::seq::SliceRandom as _;

use super::clock::Timestamp;
use super::ids::{AccountId, ApiKeyId, UserId};
use super::secret::Secret;
use super::tokens::sha256_hex;

pub const PREFIX: &str = "thub_";
const RANDOM_CHARS: usize = 26;
const CHECKSUM_CHARS: usize = 6;
pub const KEY_LEN: usize = PREFIX.len() + RANDOM_CHARS + CHECKSUM_CHARS;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn base62_fixed(mut n: u64, width: usize) -> String {
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        // `n % 62` is always a valid index; `get` keeps the panic-free rule without a proof.
        *slot = BASE62.get((n % 62) as usize).copied().unwrap_or(b'0');
        n /= 62;
    }
    String::from_utf8(out).unwrap_or_default()
}

fn checksum(body: &str) -> String {
    base62_fixed(u64::from(crc32fast::hash(body.as_bytes())), CHECKSUM_CHARS)
}

/// A new key from the OS CSPRNG. Shown once, then only its hash is kept.
pub fn generate() -> Secret {
    let mut rng = rand::rngs::OsRng;
    let random: String = (0..RANDOM_CHARS)
        .filter_map(|_| BASE62.choose(&mut rng).map(|&b| char::from(b)))
        .collect();
    let body = format!("{PREFIX}{random}");
    let sum = checksum(&body);
    Secret::new(format!("{body}{sum}"))
}

/// True when `key` has the right shape and checksum: the cheap test before any lookup.
pub fn is_well_formed(key: &str) -> bool {
    key.len() == KEY_LEN
        && key.starts_with(PREFIX)
        && key[PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric())
        && checksum(&key[..KEY_LEN - CHECKSUM_CHARS]) == key[KEY_LEN - CHECKSUM_CHARS..]
}

/// The stored lookup value.
pub fn hash(key: &str) -> String {
    sha256_hex(key.as_bytes())
}

/// What lists show: `thub_` and the first 4 random characters.
pub fn hint(key: &str) -> String {
    key.chars().take(PREFIX.len() + 4).collect()
}

/// What a key may do. A key without scopes has full access to its account; `write`
/// includes `read` (as Stripe's restricted keys do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    WorkspacesRead,
    WorkspacesWrite,
    RecordsRead,
    RecordsWrite,
}

impl Scope {
    pub const ALL: [Scope; 4] = [
        Scope::WorkspacesRead,
        Scope::WorkspacesWrite,
        Scope::RecordsRead,
        Scope::RecordsWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::WorkspacesRead => "workspaces:read",
            Scope::WorkspacesWrite => "workspaces:write",
            Scope::RecordsRead => "records:read",
            Scope::RecordsWrite => "records:write",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s)
    }

    /// Holding `self` grants `needed`.
    fn grants(self, needed: Scope) -> bool {
        self == needed
            || matches!(
                (self, needed),
                (Scope::WorkspacesWrite, Scope::WorkspacesRead)
                    | (Scope::RecordsWrite, Scope::RecordsRead)
            )
    }
}

/// The scopes of a key: `None` is full account access.
pub fn allows(granted: Option<&[Scope]>, needed: Scope) -> bool {
    match granted {
        None => true,
        Some(scopes) => scopes.iter().any(|s| s.grants(needed)),
    }
}

/// Stored form: space-separated, sorted, or NULL for full access.
pub fn scopes_to_db(scopes: Option<&[Scope]>) -> Option<String> {
    scopes.map(|s| {
        let mut names: Vec<&str> = s.iter().map(|s| s.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names.join(" ")
    })
}

pub fn scopes_from_db(stored: Option<&str>) -> Option<Vec<Scope>> {
    stored.map(|s| s.split_whitespace().filter_map(Scope::parse).collect())
}

pub const MAX_NAME_CHARS: usize = 100;

/// An API key as lists show it: never the key, only its hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: ApiKeyId,
    pub account_id: AccountId,
    pub name: String,
    pub hint: String,
    /// `None`: full account access.
    pub scopes: Option<Vec<Scope>>,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    /// The client IP of the latest request (written with "last used").
    pub last_used_ip: Option<String>,
    /// Requests per day (UTC), oldest first; the flows keep the last [`USAGE_DAYS`].
    pub usage: Vec<DailyUsage>,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
}

/// How many days of per-day usage are kept and shown.
pub const USAGE_DAYS: i64 = 30;

const DAY_MILLIS: i64 = 24 * 3600 * 1000;

/// Requests one key made on one day (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyUsage {
    /// Days since 1970-01-01.
    pub day: i64,
    pub requests: u64,
}

impl DailyUsage {
    /// The day as `2026-12-05`.
    pub fn date(&self) -> String {
        Timestamp(self.day.saturating_mul(DAY_MILLIS))
            .to_rfc3339()
            .chars()
            .take(10)
            .collect()
    }
}

/// The day (since 1970-01-01, UTC) that `at` falls on.
pub fn day_of(at: Timestamp) -> i64 {
    at.millis().div_euclid(DAY_MILLIS)
}

/// The first day still kept and shown at `now`: the last [`USAGE_DAYS`] days, today included.
pub fn first_usage_day(now: Timestamp) -> i64 {
    day_of(now) - (USAGE_DAYS - 1)
}

/// What one instance saw of one key since its last write: the newest use, from where, and
/// how many requests on each day. Written in batches, never per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUse {
    pub key_id: ApiKeyId,
    pub last_used_at: Timestamp,
    pub last_used_ip: Option<String>,
    /// `(day, requests)`.
    pub days: Vec<(i64, u64)>,
}

/// The longest grace a rolled key keeps working for: a week.
pub const MAX_ROLL_HOURS: u32 = 168;

pub struct NewApiKey {
    pub id: ApiKeyId,
    pub account_id: AccountId,
    pub name: String,
    pub key_hash: String,
    pub hint: String,
    pub scopes: Option<Vec<Scope>>,
    pub expires_at: Option<Timestamp>,
    pub created_by: Option<UserId>,
    pub now: Timestamp,
}

/// What one indexed read by key hash tells the API about a presented key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyGrant {
    pub key_id: ApiKeyId,
    pub account_id: AccountId,
    pub scopes: Option<Vec<Scope>>,
    pub expires_at: Option<Timestamp>,
    pub plan: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_well_formed_and_distinct() {
        let a = generate();
        let b = generate();
        assert_eq!(a.expose().len(), KEY_LEN);
        assert!(a.expose().starts_with("thub_"));
        assert!(is_well_formed(a.expose()), "{}", a.expose());
        assert_ne!(a.expose(), b.expose());
        assert_eq!(hint(a.expose()).len(), 9);
        assert_eq!(hash(a.expose()).len(), 64);
    }

    #[test]
    fn a_single_typo_breaks_the_checksum() {
        let key = generate();
        let k = key.expose();
        for i in PREFIX.len()..KEY_LEN {
            let mut bytes = k.as_bytes().to_vec();
            bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            let typo = String::from_utf8(bytes).unwrap_or_default();
            assert!(!is_well_formed(&typo), "typo at {i} accepted");
        }
    }

    #[test]
    fn junk_is_refused() {
        for junk in [
            "",
            "thub_",
            "sk_live_abc",
            &"thub_".repeat(7),
            &format!("thub_{}", "é".repeat(16)),
        ] {
            assert!(!is_well_formed(junk), "{junk:?}");
        }
    }

    #[test]
    fn write_includes_read_and_none_is_everything() {
        assert!(allows(None, Scope::RecordsWrite));
        assert!(allows(Some(&[Scope::RecordsWrite]), Scope::RecordsRead));
        assert!(!allows(Some(&[Scope::RecordsRead]), Scope::RecordsWrite));
        assert!(!allows(Some(&[Scope::RecordsWrite]), Scope::WorkspacesRead));
        assert!(!allows(Some(&[]), Scope::WorkspacesRead));
    }

    #[test]
    fn days_are_utc_dates() {
        let at = Timestamp(1_796_428_800_000 + 3_600_000); // 2026-12-05T01:00:00Z
        let day = day_of(at);
        assert_eq!(DailyUsage { day, requests: 1 }.date(), "2026-12-05");
        assert_eq!(day_of(Timestamp(1_796_428_800_000 - 1)), day - 1);
        assert_eq!(first_usage_day(at), day - 29);
    }

    #[test]
    fn scopes_round_trip() {
        let s = [
            Scope::RecordsWrite,
            Scope::WorkspacesRead,
            Scope::RecordsWrite,
        ];
        let db = scopes_to_db(Some(&s));
        assert_eq!(db.as_deref(), Some("records:write workspaces:read"));
        assert_eq!(
            scopes_from_db(db.as_deref()),
            Some(vec![Scope::RecordsWrite, Scope::WorkspacesRead])
        );
        assert_eq!(scopes_from_db(None), None);
    }
}
