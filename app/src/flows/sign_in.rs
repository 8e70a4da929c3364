//! Password sign-in with the one generic failure, the per-user lockout and the per-IP throttle.
use std::time::Duration;

use crate::domain::clock::Timestamp;
use crate::domain::email::EmailAddress;
use crate::domain::ids::UserId;
use crate::domain::lockout::Hit;
use crate::domain::lockout::{client_key, GuessReservation};
use crate::domain::password::{check_length, PasswordError};
use crate::domain::secret::Secret;
use crate::domain::tokens::TokenPurpose;
use crate::flows::mail::{self, MailKind};
use crate::flows::{tokens::issue_link, FlowError, Outcome, Refusal};
use crate::hashing::Verification;
use crate::mails;
use crate::AppState;

/// The one message for a wrong password, an unknown email and a locked account.
/// The one message of a refused sign-in, whatever was wrong. Its second sentence helps the
/// locked-out and the not-yet-confirmed (whose fix is in their mailbox) while saying nothing
/// about whether this email has an account: everyone gets it.
pub const GENERIC_FAILURE: &str =
    "Incorrect email or password. Locked out or not confirmed yet? Check your email.";

/// A password sign-in that succeeded: whose, and the session epoch to start under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub user_id: UserId,
    pub session_epoch: i64,
}

/// What a correct password leads to: a signed-in session, or (for a person with a second
/// factor) the second step, with nothing signed in yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordChecked {
    SignedIn(SignedIn),
    /// The password was right; the failure count stays as it is until the second step
    /// completes the sign-in.
    SecondStepDue(SignedIn),
}

/// What one attempt came to (the flow's answer, and the label its metric counts).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Attempt {
    /// Wrong password, unknown email (or one whose sign-up is not confirmed yet), locked
    /// account, or a password refused by enforced single sign-on: all look the same to the
    /// person; the metric and the log line say which (and whose, when the email is known).
    Refused(Failure, Option<UserId>),
    /// The password field was left empty (nothing was checked).
    PasswordMissing,
    SignedIn(SignedIn),
    SecondStepDue(SignedIn),
}

/// The one refusal of a wrong password, an unknown email, a locked account and a password
/// refused by enforced single sign-on.
fn generic_failure() -> Refusal {
    Refusal::not_allowed("invalid_credentials", GENERIC_FAILURE)
}

/// Where the email step sends a person: the one place the SSO decision is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailStep {
    /// Not served by single sign-on: the password step.
    Password,
    /// Served, not enforced: the password step with a "Continue with SSO" button.
    PasswordOrSso(Box<crate::domain::sso::SsoConnection>),
    /// Served and enforced: straight to the identity provider.
    Sso(Box<crate::domain::sso::SsoConnection>),
}

pub async fn decide_email_step(
    state: &AppState,
    email: &EmailAddress,
) -> Result<EmailStep, FlowError> {
    use crate::domain::sso::DomainPolicy;
    let (policy, connection) = crate::flows::sso_login::policy_for(state, email).await?;
    Ok(match (policy, connection) {
        (DomainPolicy::Enforced, Some(c)) => EmailStep::Sso(Box::new(c)),
        (DomainPolicy::Offered, Some(c)) => EmailStep::PasswordOrSso(Box::new(c)),
        _ => EmailStep::Password,
    })
}

/// False when the email's domain enforces single sign-on and the user is not an owner or
/// admin of the enforcing account: then no password starts a session for them.
pub(crate) async fn password_allowed(
    state: &AppState,
    user_id: &UserId,
    email: &EmailAddress,
) -> Result<bool, FlowError> {
    let Some(connection) = state.store.sso_for_domain(email.domain()).await? else {
        return Ok(true);
    };
    if !connection.enforced {
        return Ok(true);
    }
    let role = state.store.role_in(user_id, &connection.account_id).await?;
    Ok(role.is_some_and(crate::domain::roles::can_administer))
}

/// The series of password sign-ins by outcome.
pub const SIGN_INS: &str = "terminus_sign_ins_total";
/// The series of lockouts (a failed guess that locked its user).
pub const LOCKOUTS: &str = "terminus_lockouts_total";
/// Every outcome of [`SIGN_INS`] (registered at zero at start, so alert rules see them all).
pub const SIGN_IN_OUTCOMES: &[&str] = &[
    "signed_in",
    "second_step",
    "locked",
    "wrong_password_or_unknown",
    "sso_required",
    "blocked",
    "throttled",
    "password_missing",
];

/// Why a password was refused (the person reads the one generic message whatever it was).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// A wrong password or an unknown email: one label, as the page says one thing.
    WrongPasswordOrUnknown,
    /// The user is locked out (the password was not even considered).
    Locked,
    /// The email's domain enforces single sign-on.
    SsoRequired,
    /// Blocked after "This wasn't me", until a password reset.
    Blocked,
}

impl Failure {
    fn label(self) -> &'static str {
        match self {
            Failure::WrongPasswordOrUnknown => "wrong_password_or_unknown",
            Failure::Locked => "locked",
            Failure::SsoRequired => "sso_required",
            Failure::Blocked => "blocked",
        }
    }
}

/// Counts a password sign-in's outcome (a fixed set of labels: never who, or from where).
fn record_outcome(outcome: &'static str) {
    metrics::counter!(SIGN_INS, "outcome" => outcome).increment(1);
}

/// A sign-in attempt counted against its client before any hash is checked, so concurrent
/// attempts cannot slip past the limit. Given back when the attempt turns out not to be a
/// failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpReservation {
    key: String,
    window_start: Timestamp,
}

impl IpReservation {
    /// What giving the hit back needs (a sign-in that did not fail).
    pub(crate) fn refund(&self) -> (&str, Timestamp) {
        (self.key.as_str(), self.window_start)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpAttempt {
    Allowed(IpReservation),
    /// Over the budget: try again after this long.
    Throttled(Duration),
}

/// Counts an attempt from `client_ip` (IPv6 per /64) before its password is checked.
pub async fn reserve_ip_attempt(state: &AppState, client_ip: &str) -> Result<IpAttempt, FlowError> {
    let policy = state.config.ip_throttle;
    let key = client_key(client_ip);
    let now = state.clock.now();
    // "More than 100 failures" is what throttles: the 101st is still counted (and checked),
    // the attempts after it are refused.
    let limit = policy.max_failures.saturating_add(1);
    Ok(
        match state
            .store
            .count_hit(&key, now, policy.window, limit)
            .await?
        {
            Hit::Counted { window_start } => {
                IpAttempt::Allowed(IpReservation { key, window_start })
            }
            Hit::Over { window_start } => {
                record_outcome("throttled");
                tracing::warn!(
                    event = "sign_in.throttled",
                    client_ip,
                    "a sign-in refused: too many failures from the client's network"
                );
                IpAttempt::Throttled(policy.retry_after(window_start, now))
            }
        },
    )
}

/// Checks a password. `reservation` is the attempt the per-IP gate counted for this request
/// (the gate answers 429 itself when over budget); without one the flow counts it here.
/// Refused with the one generic message whatever was wrong, with a message next to an empty
/// password field, or (over the client's budget) with how long to wait.
pub async fn sign_in_with_password(
    state: &AppState,
    email_input: &str,
    password: &Secret,
    client_ip: &str,
    reservation: Option<IpReservation>,
) -> Outcome<PasswordChecked> {
    let reservation = match reservation {
        Some(r) => r,
        None => match reserve_ip_attempt(state, client_ip).await? {
            IpAttempt::Allowed(r) => r,
            IpAttempt::Throttled(retry) => {
                return Err(Refusal::TooSoon {
                    code: "too_many_attempts",
                    message: "Too many failed sign-in attempts from your network. Please wait a few minutes and try again.".into(),
                    retry_after_secs: retry.as_secs().max(1),
                    field: None,
                }
                .into())
            }
        },
    };
    let result = attempt(state, email_input, password, client_ip, &reservation).await?;
    match result {
        Attempt::Refused(failure, user_id) => {
            record_outcome(failure.label());
            tracing::warn!(
                event = "sign_in.failed",
                reason = failure.label(),
                user_id = user_id.as_ref().map(UserId::as_str),
                client_ip,
                "a password sign-in failed"
            );
            Err(generic_failure().into())
        }
        Attempt::PasswordMissing => {
            record_outcome("password_missing");
            // Only failures count against the client (a success gave its hit back already).
            state
                .store
                .refund_hit(&reservation.key, reservation.window_start)
                .await?;
            Err(Refusal::invalid("password", "Enter your password.").into())
        }
        Attempt::SignedIn(signed_in) => {
            record_outcome("signed_in");
            Ok(PasswordChecked::SignedIn(signed_in))
        }
        Attempt::SecondStepDue(checked) => {
            record_outcome("second_step");
            Ok(PasswordChecked::SecondStepDue(checked))
        }
    }
}

async fn attempt(
    state: &AppState,
    email_input: &str,
    password: &Secret,
    client_ip: &str,
    reservation: &IpReservation,
) -> Result<Attempt, FlowError> {
    match check_length(password.expose()) {
        Err(PasswordError::Empty) => return Ok(Attempt::PasswordMissing),
        // No account can have such a password: refuse before hashing (argon2 DoS).
        Err(PasswordError::TooLong) => {
            return Ok(Attempt::Refused(Failure::WrongPasswordOrUnknown, None))
        }
        _ => {}
    }
    let Ok(email) = EmailAddress::parse(email_input) else {
        return Ok(Attempt::Refused(Failure::WrongPasswordOrUnknown, None));
    };
    let Some(user) = state.store.user_by_email(&email).await? else {
        // Same cost as a real check: verify against the dummy hash.
        state.passwords.verify(password, None).await?;
        return Ok(Attempt::Refused(Failure::WrongPasswordOrUnknown, None));
    };

    let now = state.clock.now();
    let policy = state.config.lockout;
    let attempt = match state.store.reserve_guess(&user.id, now, &policy).await? {
        GuessReservation::Granted { attempt } => attempt,
        GuessReservation::Refused => {
            // Locked: verify anyway so the answer takes the usual time, then refuse whatever it says.
            state
                .passwords
                .verify(password, user.password_hash.as_deref())
                .await?;
            return Ok(Attempt::Refused(Failure::Locked, Some(user.id)));
        }
    };

    match state
        .passwords
        .verify(password, user.password_hash.as_deref())
        .await?
    {
        Verification::Match { rehash } => {
            let failure = if !password_allowed(state, &user.id, &email).await? {
                Some(Failure::SsoRequired)
            } else if state.store.password_blocked(&user.id).await? {
                Some(Failure::Blocked)
            } else {
                None
            };
            if let Some(failure) = failure {
                // Also refused: a person who said "This wasn't me" to a new-device notice,
                // until they reset their password.
                // Enforced SSO: only the enforcing account's owners and admins keep a password
                // path. Everyone else gets the one generic answer, so being an owner is never
                // revealed. The guess stays counted, as for a wrong password.
                return Ok(Attempt::Refused(failure, Some(user.id)));
            }
            let refund = Some((reservation.key.as_str(), reservation.window_start));
            let checked = SignedIn {
                user_id: user.id.clone(),
                session_epoch: user.session_epoch,
            };
            if crate::flows::policy::has_second_factor(state, &user.id).await? {
                // A second step follows: the guess stays counted (only a completed sign-in
                // resets the count), so knowing the password buys no extra code guesses.
                state
                    .store
                    .password_checked(&user.id, rehash, refund)
                    .await?;
                return Ok(Attempt::SecondStepDue(checked));
            }
            state
                .store
                .sign_in_succeeded(&user.id, rehash, refund)
                .await?;
            Ok(Attempt::SignedIn(checked))
        }
        Verification::Mismatch => {
            crate::flows::sign_in_log::record(
                state,
                &user.id,
                "sign_in.failed",
                crate::flows::sign_in_log::how_and_where("a wrong password", client_ip, ""),
            );
            mail_unlock_if_locked(state, &user.id, &email, attempt).await?;
            Ok(Attempt::Refused(
                Failure::WrongPasswordOrUnknown,
                Some(user.id),
            ))
        }
    }
}

/// After failed guess number `attempt` (a password or a second-step code): when it is the one
/// that locks the user, mail them an unlock link (one a minute per mailbox).
pub(crate) async fn mail_unlock_if_locked(
    state: &AppState,
    user_id: &UserId,
    email: &EmailAddress,
    attempt: u32,
) -> Result<(), FlowError> {
    let policy = state.config.lockout;
    if !policy.failure_locks(attempt) {
        return Ok(());
    }
    metrics::counter!(LOCKOUTS).increment(1);
    crate::flows::sign_in_log::record(state, user_id, "user.locked", String::new());
    tracing::warn!(
        event = "user.locked",
        user_id = user_id.as_str(),
        client_ip = crate::web::request::client_ip(),
        "a user is locked out after too many failed guesses"
    );
    if mail::take_slot(state, MailKind::Unlock, email).await? {
        let link = issue_link(state, user_id, TokenPurpose::Unlock).await?;
        let until = policy.lock_until(state.clock.now());
        state.send_mail_later(mails::unlock_account(email, &link, until));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::roles::Role;
    use crate::domain::sso::SsoConnection;
    use crate::ports::prelude::*;
    use crate::testing::{link_token, refused, Harness, PASSWORD};

    const IP: &str = "203.0.113.7";

    async fn try_password(h: &Harness, email: &str, password: &str) -> Outcome<SignedIn> {
        from_ip(h, IP, email, password).await
    }

    async fn from_ip(h: &Harness, ip: &str, email: &str, password: &str) -> Outcome<SignedIn> {
        match sign_in_with_password(&h.state, email, &Secret::new(password), ip, None).await? {
            PasswordChecked::SignedIn(signed) => Ok(signed),
            PasswordChecked::SecondStepDue(_) => panic!("no second factor here"),
        }
    }

    async fn step(h: &Harness, email: &str) -> EmailStep {
        decide_email_step(&h.state, &EmailAddress::parse(email).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_right_password_signs_in_and_clears_the_failures() {
        let h = Harness::new();
        let (user_id, _) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        try_password(&h, "ada@example.com", "wrong password")
            .await
            .unwrap_err();
        let signed = try_password(&h, "Ada@Example.com", PASSWORD).await.unwrap();
        assert_eq!(
            signed,
            SignedIn {
                user_id: user_id.clone(),
                session_epoch: 0
            }
        );
        let user = h.store.user_by_id(&user_id).await.unwrap().unwrap();
        assert_eq!(user.failed_attempts, 0);
    }

    #[tokio::test]
    async fn a_wrong_password_an_unknown_email_and_a_locked_user_read_the_same() {
        let h = Harness::with_config(|c| c.lockout.max_failures = 1);
        h.signed_up("ada@example.com", Some(PASSWORD)).await;
        h.signed_up("bob@example.com", Some(PASSWORD)).await;
        let wrong = refused(try_password(&h, "ada@example.com", "wrong password").await);
        let unknown = refused(try_password(&h, "nobody@example.com", PASSWORD).await);
        let junk = refused(try_password(&h, "not an email", PASSWORD).await);
        try_password(&h, "bob@example.com", "wrong password")
            .await
            .unwrap_err();
        let locked = refused(try_password(&h, "bob@example.com", PASSWORD).await);
        assert_eq!(wrong, generic_failure());
        assert_eq!(wrong.message(), GENERIC_FAILURE);
        for other in [unknown, junk, locked] {
            assert_eq!(other, wrong);
        }
    }

    #[tokio::test]
    async fn five_failures_lock_for_ten_minutes_and_mail_an_unlock_link() {
        let h = Harness::new();
        let (user_id, _) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        for _ in 0..4 {
            try_password(&h, "ada@example.com", "wrong password")
                .await
                .unwrap_err();
        }
        h.settle().await;
        assert!(h.mails_to("ada@example.com").is_empty(), "not locked yet");
        try_password(&h, "ada@example.com", "wrong password")
            .await
            .unwrap_err();
        h.settle().await;
        let mails = h.mails_to("ada@example.com");
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].subject, "Your account has been locked");
        // Even the right password is refused while locked.
        let locked = try_password(&h, "ada@example.com", PASSWORD).await;
        assert_eq!(refused(locked), generic_failure());
        let user = h.store.user_by_id(&user_id).await.unwrap().unwrap();
        assert_eq!(
            user.locked_until,
            Some(h.now().plus(h.state.config.lockout.lock_for))
        );
        // The link in the mail unlocks at once (and only once).
        let link = link_token(&mails[0]);
        crate::flows::recovery::unlock(&h.state, &link)
            .await
            .unwrap();
        try_password(&h, "ada@example.com", PASSWORD).await.unwrap();
    }

    #[tokio::test]
    async fn a_lock_ends_by_itself_after_ten_minutes() {
        let h = Harness::new();
        h.signed_up("ada@example.com", Some(PASSWORD)).await;
        for _ in 0..5 {
            try_password(&h, "ada@example.com", "wrong password")
                .await
                .unwrap_err();
        }
        h.advance(h.state.config.lockout.lock_for - std::time::Duration::from_secs(1));
        try_password(&h, "ada@example.com", PASSWORD)
            .await
            .unwrap_err();
        h.advance(std::time::Duration::from_secs(1));
        try_password(&h, "ada@example.com", PASSWORD).await.unwrap();
    }

    #[tokio::test]
    async fn an_empty_password_is_asked_for_and_not_counted() {
        let h = Harness::new();
        let (user_id, _) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        let refusal = refused(try_password(&h, "ada@example.com", "").await);
        assert_eq!(refusal.field(), Some("password"));
        assert_eq!(
            h.store.hits(&client_key(IP)),
            0,
            "the client's hit was given back"
        );
        let user = h.store.user_by_id(&user_id).await.unwrap().unwrap();
        assert_eq!(user.failed_attempts, 0);
    }

    #[tokio::test]
    async fn a_client_with_too_many_failures_waits() {
        let h = Harness::with_config(|c| c.ip_throttle.max_failures = 2);
        h.signed_up("ada@example.com", Some(PASSWORD)).await;
        // "More than 2 failures": the third is still checked, the fourth is not.
        for _ in 0..3 {
            let refusal = refused(try_password(&h, "ada@example.com", "wrong password").await);
            assert_eq!(refusal, generic_failure());
        }
        let throttled = refused(try_password(&h, "ada@example.com", PASSWORD).await);
        let Refusal::TooSoon {
            code,
            retry_after_secs,
            ..
        } = throttled
        else {
            panic!("expected to wait, got {throttled:?}");
        };
        assert_eq!(code, "too_many_attempts");
        assert_eq!(
            retry_after_secs,
            h.state.config.ip_throttle.window.as_secs()
        );
        h.advance(h.state.config.ip_throttle.window);
        try_password(&h, "ada@example.com", PASSWORD).await.unwrap();
    }

    #[tokio::test]
    async fn ipv6_clients_are_counted_per_64() {
        let h = Harness::with_config(|c| c.ip_throttle.max_failures = 2);
        h.signed_up("ada@example.com", Some(PASSWORD)).await;
        let ada = "ada@example.com";
        for ip in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"] {
            assert_eq!(
                refused(from_ip(&h, ip, ada, "wrong password").await),
                generic_failure()
            );
        }
        let same_64 = refused(from_ip(&h, "2001:db8:1:2:abcd::9", ada, PASSWORD).await);
        assert!(matches!(same_64, Refusal::TooSoon { .. }));
        assert!(from_ip(&h, "2001:db8:1:3::1", ada, PASSWORD).await.is_ok());
    }

    #[tokio::test]
    async fn a_success_gives_its_client_s_hit_back() {
        let h = Harness::with_config(|c| c.ip_throttle.max_failures = 1);
        h.signed_up("ada@example.com", Some(PASSWORD)).await;
        for _ in 0..5 {
            try_password(&h, "ada@example.com", PASSWORD).await.unwrap();
        }
        assert_eq!(h.store.hits(&client_key(IP)), 0);
        let IpAttempt::Allowed(reservation) = reserve_ip_attempt(&h.state, IP).await.unwrap()
        else {
            panic!("a fresh client is allowed");
        };
        // The gate counted this attempt already: the flow does not count it again.
        sign_in_with_password(
            &h.state,
            "ada@example.com",
            &Secret::new("wrong password"),
            IP,
            Some(reservation),
        )
        .await
        .unwrap_err();
        assert_eq!(h.store.hits(&client_key(IP)), 1);
    }

    /// An account enforcing single sign-on for corp.test, with an owner and a member who
    /// both have passwords.
    async fn enforcing(h: &Harness) -> (UserId, UserId, SsoConnection) {
        let corp = h.account("Corp");
        let owner = h.user_in(&corp, "owner@corp.test", Role::Owner).await;
        let member = h.user_in(&corp, "dev@corp.test", Role::Member).await;
        let connection = h.sso(&corp, &["corp.test"], true).await;
        (owner, member, connection)
    }

    #[tokio::test]
    async fn enforced_sso_refuses_a_member_s_password_and_keeps_the_owner_s() {
        let h = Harness::new();
        let (owner, _, _) = enforcing(&h).await;
        let member = refused(try_password(&h, "dev@corp.test", PASSWORD).await);
        assert_eq!(member, generic_failure(), "being refused reveals nothing");
        let signed = try_password(&h, "owner@corp.test", PASSWORD).await.unwrap();
        assert_eq!(signed.user_id, owner);
    }

    #[tokio::test]
    async fn the_email_step_follows_the_domain_s_connection() {
        let h = Harness::new();
        let (_, _, enforced) = enforcing(&h).await;
        let other = h.account("Offer");
        let offered = h.sso(&other, &["offer.test"], false).await;
        assert_eq!(
            step(&h, "x@corp.test").await,
            EmailStep::Sso(Box::new(enforced))
        );
        assert_eq!(
            step(&h, "x@offer.test").await,
            EmailStep::PasswordOrSso(Box::new(offered))
        );
        assert_eq!(step(&h, "x@elsewhere.test").await, EmailStep::Password);
        // A subdomain is a domain of its own.
        assert_eq!(step(&h, "x@eu.corp.test").await, EmailStep::Password);
    }

    #[tokio::test]
    async fn a_broken_store_breaks_the_sign_in() {
        let h = Harness::new();
        h.signed_up("ada@example.com", Some(PASSWORD)).await;
        h.store.set_broken(true);
        let outcome = try_password(&h, "ada@example.com", PASSWORD).await;
        assert!(matches!(outcome, Err(crate::flows::Stopped::Broken(_))));
    }

    #[tokio::test]
    async fn only_owners_and_admins_of_the_enforcing_account_keep_a_password() {
        let h = Harness::new();
        let (owner, member, connection) = enforcing(&h).await;
        let admin = h
            .user_in(&connection.account_id, "admin@corp.test", Role::Admin)
            .await;
        // Someone on the domain who is in another account only.
        let elsewhere = h.account("Elsewhere");
        let outsider = h
            .user_in(&elsewhere, "contractor@corp.test", Role::Owner)
            .await;
        let free = h
            .user_in(&elsewhere, "someone@free.test", Role::Member)
            .await;
        let allowed = |user: UserId, address: &'static str| {
            let state = h.state.clone();
            async move {
                password_allowed(&state, &user, &EmailAddress::parse(address).unwrap())
                    .await
                    .unwrap()
            }
        };
        assert!(allowed(owner, "owner@corp.test").await);
        assert!(allowed(admin, "admin@corp.test").await);
        assert!(!allowed(member, "dev@corp.test").await);
        assert!(!allowed(outsider, "contractor@corp.test").await);
        assert!(allowed(free, "someone@free.test").await);
    }
}
