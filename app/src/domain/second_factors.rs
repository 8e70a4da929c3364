//! Second factors: an authenticator app's one-time codes (TOTP, RFC 6238, computed by the
//! `totp-rs` crate: SHA-1, 6 digits, 30-second steps, one step either side) and the recovery
//! codes that stand in for it. The rules here: what a code looks like, which time steps a code
//! may match (later than the last one accepted: a code works once), what a recovery code looks
//! like and how it is stored (its SHA-256, looked up, never compared as text).
use std::fmt;
use std::time::Duration;

use rand::Rng as _;
use rand::RngCore as _;
use totp_rs::{Algorithm, TOTP};

use super::clock::Timestamp;
use super::ids::UserId;
use super::secret::Secret;
use super::tokens::sha256_hex;

/// The name authenticator apps show beside the account.
pub const ISSUER: &str = "Terminus Hub";
/// Digits in a code.
pub const DIGITS: usize = 6;
/// Seconds a code is shown for (one time step).
pub const STEP_SECS: u64 = 30;
/// Steps accepted either side of now (clock drift, a code typed as it changed).
pub const SKEW_STEPS: i64 = 1;
/// 160 bits, RFC 4226's recommended secret length.
pub const SECRET_BYTES: usize = 20;
/// Recovery codes shown when the first factor is enrolled (and on each regeneration).
pub const RECOVERY_CODES: usize = 10;
/// Characters of a recovery code (two groups of 5, base32: 50 bits).
const RECOVERY_CHARS: usize = 10;
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// How long a checked password waits for its second step.
pub const SECOND_STEP_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// An authenticator app's shared secret: 20 random bytes. `Debug` redacts it and there is no
/// `Serialize`; it leaves the process only sealed (stored) or shown once on the enrolment page.
#[derive(Clone)]
pub struct TotpSecret(Vec<u8>);

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret([redacted])")
    }
}

impl TotpSecret {
    /// A new secret from the OS CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; SECRET_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The secret written as base32 (what is sealed, and what a person types into an app).
    pub fn to_base32(&self) -> Secret {
        match totp_rs::Secret::Raw(self.0.clone()).to_encoded() {
            totp_rs::Secret::Encoded(text) => Secret::new(text),
            totp_rs::Secret::Raw(_) => Secret::new(String::new()),
        }
    }

    /// A secret read back from its base32 form (after unsealing); `None` when it is not one.
    pub fn from_base32(text: &Secret) -> Option<Self> {
        let bytes = totp_rs::Secret::Encoded(text.expose().to_owned())
            .to_bytes()
            .ok()?;
        (bytes.len() == SECRET_BYTES).then_some(Self(bytes))
    }

    /// The base32 secret in groups of 4, for typing it by hand.
    pub fn grouped(&self) -> String {
        let text = self.to_base32();
        let chars: Vec<char> = text.expose().chars().collect();
        chars
            .chunks(4)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The `otpauth://` address the QR code carries (Google Authenticator's key URI format).
    pub fn otpauth_uri(&self, email: &str) -> String {
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
            percent_encode(ISSUER),
            percent_encode(email),
            self.to_base32().expose(),
            percent_encode(ISSUER)
        )
    }

    fn totp(&self) -> Option<TOTP> {
        TOTP::new(Algorithm::SHA1, DIGITS, 0, STEP_SECS, self.0.clone()).ok()
    }

    /// The time step `code` matches: one of now's window (one step either side), later than
    /// `after` (the last step accepted, so a code works once), the earliest if several.
    /// Each comparison is `totp-rs`'s constant-time check.
    pub fn matching_step(&self, code: &TotpCode, now: Timestamp, after: i64) -> Option<i64> {
        let totp = self.totp()?;
        window(now)
            .into_iter()
            .filter(|step| *step > after)
            .find(|step| {
                u64::try_from(*step)
                    .ok()
                    .and_then(|s| s.checked_mul(STEP_SECS))
                    .is_some_and(|at| totp.check(&code.0, at))
            })
    }

    /// The code an authenticator app shows at `at` (tests, and nothing else, compute codes).
    #[cfg(test)]
    pub fn code_at(&self, at: Timestamp) -> String {
        let secs = u64::try_from(at.millis() / 1000).unwrap_or(0);
        self.totp().map(|t| t.generate(secs)).unwrap_or_default()
    }
}

/// Percent-encoding for the `otpauth://` label and issuer (RFC 3986 unreserved kept).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The time step of `now` (30-second steps since the Unix epoch).
pub fn step_of(now: Timestamp) -> i64 {
    now.millis().div_euclid(1000) / STEP_SECS as i64
}

/// The steps a code typed at `now` may match: one either side of now's.
pub fn window(now: Timestamp) -> Vec<i64> {
    let step = step_of(now);
    (step - SKEW_STEPS..=step + SKEW_STEPS).collect()
}

/// A typed one-time code in its shape: 6 digits (spaces and a dash in the middle allowed).
#[derive(Clone, PartialEq, Eq)]
pub struct TotpCode(String);

impl fmt::Debug for TotpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpCode([redacted])")
    }
}

impl TotpCode {
    pub fn parse(input: &str) -> Option<Self> {
        let digits: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        (digits.len() == DIGITS && digits.bytes().all(|b| b.is_ascii_digit()))
            .then_some(Self(digits))
    }
}

/// A new set of recovery codes, each `XXXXX-XXXXX` in base32 capitals (50 bits from the OS
/// CSPRNG). Shown once; only their hashes are stored.
pub fn generate_recovery_codes() -> Vec<Secret> {
    let mut rng = rand::rngs::OsRng;
    (0..RECOVERY_CODES)
        .map(|_| {
            let chars: String = (0..RECOVERY_CHARS)
                .map(|_| char::from(BASE32.get(rng.gen_range(0..32)).copied().unwrap_or(b'A')))
                .collect();
            let (a, b) = chars.split_at(RECOVERY_CHARS / 2);
            Secret::new(format!("{a}-{b}"))
        })
        .collect()
}

/// The stored form of a typed recovery code: the SHA-256 of its 10 characters (capitals, no
/// dash or spaces), or `None` when what was typed cannot be one (nothing is looked up then).
pub fn recovery_code_hash(input: &str) -> Option<String> {
    let canonical: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let well_formed =
        canonical.len() == RECOVERY_CHARS && canonical.bytes().all(|b| BASE32.contains(&b));
    well_formed.then(|| sha256_hex(format!("recovery:{canonical}").as_bytes()))
}

/// A person's confirmed authenticator app, as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpFactor {
    pub user_id: UserId,
    /// The base32 secret sealed with the server's key (`crate::sealing`).
    pub secret_sealed: String,
    /// The last time step a code was accepted for: only later ones are.
    pub last_step: i64,
    pub confirmed_at: Timestamp,
}

impl fmt::Debug for TotpFactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TotpFactor")
            .field("user_id", &self.user_id)
            .field("last_step", &self.last_step)
            .field("confirmed_at", &self.confirmed_at)
            .finish_non_exhaustive()
    }
}

/// A confirmed enrolment to store: the factor, with the step its confirming code used, and
/// the hashes of its first recovery codes.
#[derive(Clone)]
pub struct NewTotpFactor {
    pub user_id: UserId,
    pub secret_sealed: String,
    pub step: i64,
    pub recovery_hashes: Vec<String>,
    pub now: Timestamp,
}

impl fmt::Debug for NewTotpFactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewTotpFactor")
            .field("user_id", &self.user_id)
            .field("step", &self.step)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_with_spaces_allowed() {
        assert!(TotpCode::parse("123456").is_some());
        assert!(TotpCode::parse(" 123 456 ").is_some());
        assert!(TotpCode::parse("123-456").is_some());
        assert!(TotpCode::parse("12345").is_none());
        assert!(TotpCode::parse("1234567").is_none());
        assert!(TotpCode::parse("12345a").is_none());
        assert!(
            TotpCode::parse("１２３４５６").is_none(),
            "ASCII digits only"
        );
        assert_eq!(
            format!("{:?}", TotpCode::parse("123456")),
            "Some(TotpCode([redacted]))"
        );
    }

    #[test]
    fn the_window_is_one_step_either_side() {
        let now = Timestamp(1_700_000_000_000);
        let step = step_of(now);
        assert_eq!(step, 1_700_000_000 / 30);
        assert_eq!(window(now), vec![step - 1, step, step + 1]);
    }

    #[test]
    fn a_code_matches_its_step_and_its_neighbours_only_once() {
        let secret = TotpSecret::generate();
        let now = Timestamp(1_700_000_015_000);
        let step = step_of(now);
        let code = TotpCode::parse(&secret.code_at(now)).unwrap();
        assert_eq!(secret.matching_step(&code, now, 0), Some(step));
        // Accepted once: not again for the same step.
        assert_eq!(secret.matching_step(&code, now, step), None);
        // The previous step's code still works (typed as it changed), the one before not.
        let earlier = TotpCode::parse(&secret.code_at(now.minus(Duration::from_secs(30)))).unwrap();
        assert_eq!(secret.matching_step(&earlier, now, 0), Some(step - 1));
        let older = TotpCode::parse(&secret.code_at(now.minus(Duration::from_secs(60)))).unwrap();
        assert_eq!(secret.matching_step(&older, now, 0), None);
        let next = TotpCode::parse(&secret.code_at(now.plus(Duration::from_secs(30)))).unwrap();
        assert_eq!(secret.matching_step(&next, now, 0), Some(step + 1));
        // Another secret's code does not match (one chance in a million to collide; fixed
        // secrets keep the test deterministic).
        let other = TotpSecret(vec![7u8; SECRET_BYTES]);
        let mine = TotpSecret(vec![9u8; SECRET_BYTES]);
        let theirs = TotpCode::parse(&other.code_at(now)).unwrap();
        if other.code_at(now) != mine.code_at(now) {
            assert_eq!(mine.matching_step(&theirs, now, 0), None);
        }
    }

    #[test]
    fn rfc_6238_test_vector() {
        // RFC 6238 Appendix B, SHA-1, T = 59 s: 94287082 (8 digits); its last 6 digits.
        let secret = TotpSecret(b"12345678901234567890".to_vec());
        assert_eq!(secret.code_at(Timestamp(59_000)), "287082");
    }

    #[test]
    fn the_secret_round_trips_through_base32_and_is_redacted() {
        let secret = TotpSecret::generate();
        let text = secret.to_base32();
        assert_eq!(text.expose().len(), 32, "160 bits in base32");
        let back = TotpSecret::from_base32(&text).unwrap();
        assert_eq!(back.0, secret.0);
        assert_eq!(format!("{secret:?}"), "TotpSecret([redacted])");
        assert!(TotpSecret::from_base32(&Secret::new("not base32!")).is_none());
        let grouped = secret.grouped();
        assert_eq!(grouped.split(' ').count(), 8);
        assert_eq!(grouped.replace(' ', ""), text.expose());
    }

    #[test]
    fn the_otpauth_uri_names_the_issuer_and_the_account() {
        let secret = TotpSecret(b"12345678901234567890".to_vec());
        let uri = secret.otpauth_uri("ada@example.com");
        assert!(
            uri.starts_with(
                "otpauth://totp/Terminus%20Hub:ada@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Terminus%20Hub"
            ),
            "{uri}"
        );
    }

    #[test]
    fn recovery_codes_are_ten_distinct_two_groups_of_five() {
        let codes = generate_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        for code in &codes {
            let text = code.expose();
            assert_eq!(text.len(), 11);
            assert_eq!(text.chars().nth(5), Some('-'));
            assert!(recovery_code_hash(text).is_some());
        }
        let mut hashes: Vec<_> = codes
            .iter()
            .filter_map(|c| recovery_code_hash(c.expose()))
            .collect();
        hashes.sort();
        hashes.dedup();
        assert_eq!(hashes.len(), RECOVERY_CODES);
    }

    #[test]
    fn recovery_codes_are_read_forgivingly_and_junk_is_refused() {
        let hash = recovery_code_hash("ABCDE-FGH23").unwrap();
        assert_eq!(recovery_code_hash("abcde fgh23"), Some(hash.clone()));
        assert_eq!(recovery_code_hash("ABCDEFGH23"), Some(hash));
        assert_eq!(recovery_code_hash("ABCDE-FGH21"), None, "1 is not base32");
        assert_eq!(recovery_code_hash("ABCDE"), None);
        assert_eq!(recovery_code_hash("123456"), None, "a TOTP code is not one");
    }
}
