//! Second factors: enrolling an authenticator app (TOTP) with its recovery codes, replacing
//! the codes, removing the app, and the second step of a password sign-in.
//!
//! Every code a person types at the second step (or to remove the app) is a guess counted in
//! the same atomic lockout counter as passwords, *before* it is checked; a wrong one gets one
//! message whatever was wrong; only a completed sign-in resets the count.
use crate::auth::{SecondStepDue, Signed};
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::ids::UserId;
use crate::domain::lockout::GuessReservation;
use crate::domain::second_factors::{
    generate_recovery_codes, recovery_code_hash, NewTotpFactor, TotpCode, TotpSecret,
};
use crate::domain::secret::Secret;
use crate::flows::mail::{self, MailKind};
use crate::flows::sign_in::{mail_unlock_if_locked, IpReservation, SignedIn};
use crate::flows::{FlowError, Outcome, Refusal};
use crate::mails;
use crate::paths;
use crate::AppState;

/// The one message of a wrong, reused or malformed code at the second step (and of a locked
/// account there).
pub const SECOND_STEP_FAILURE: &str = "That code did not work. Check it and try again.";
/// The second step waited too long, or the password changed meanwhile.
pub const SECOND_STEP_EXPIRED: &str = "Your sign-in took too long. Please sign in again.";

fn second_step_failure() -> Refusal {
    Refusal::not_allowed("invalid_code", SECOND_STEP_FAILURE)
}

/// Where a person's two-factor authentication stands: on with an authenticator app, a
/// passkey, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwoFactorStatus {
    /// When the authenticator app was confirmed; `None`: no app.
    pub app_since: Option<Timestamp>,
    pub passkeys: usize,
    pub recovery_codes_left: u32,
}

impl TwoFactorStatus {
    /// Whether a password alone is not enough (the second step follows it).
    pub fn enabled(&self) -> bool {
        self.has_app() || self.passkeys > 0
    }

    pub fn has_app(&self) -> bool {
        self.app_since.is_some()
    }
}

pub async fn status(state: &AppState, signed: &Signed) -> Outcome<TwoFactorStatus> {
    let factor = state.store.totp_factor(signed.user_id()).await?;
    let passkeys = state.store.passkeys(signed.user_id()).await?.len();
    // (The codes go with the last factor, in the store: none are left without one.)
    let left = state.store.recovery_codes_left(signed.user_id()).await?;
    Ok(TwoFactorStatus {
        app_since: factor.map(|f| f.confirmed_at),
        passkeys,
        recovery_codes_left: left,
    })
}

/// An authenticator secret being enrolled: what the page shows (once confirmed, never again).
pub struct Enrolment {
    pub secret: TotpSecret,
    /// The secret sealed with the server's key, kept in the session until a code confirms it.
    pub sealed: String,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment([redacted])")
    }
}

fn already_on() -> Refusal {
    Refusal::conflict(
        "second_factor_exists",
        "Two-factor authentication is already on.",
    )
}

/// Starts enrolling an authenticator app: a new secret from the OS CSPRNG, sealed. Refused
/// when the person already has one.
pub async fn begin_enrolment(state: &AppState, signed: &Signed) -> Outcome<Enrolment> {
    if state.store.totp_factor(signed.user_id()).await?.is_some() {
        return Err(already_on().into());
    }
    let secret = TotpSecret::generate();
    let sealed = state
        .sealing
        .seal(&secret.to_base32())
        .map_err(FlowError::from)?;
    Ok(Enrolment { secret, sealed })
}

/// The secret of an enrolment in progress, from its sealed form in the session.
pub fn open_enrolment(state: &AppState, sealed: &str) -> Result<TotpSecret, FlowError> {
    let text = state.sealing.open(sealed)?;
    TotpSecret::from_base32(&text).ok_or(FlowError::Sealing(crate::sealing::SealError::Unreadable))
}

fn event(user_id: &UserId, action: &str, now: Timestamp) -> AuditEvent {
    AuditEvent {
        account_id: None,
        actor_user_id: Some(user_id.clone()),
        action: action.into(),
        detail: None,
        at: now,
    }
}

/// Ten new recovery codes and their hashes.
pub(crate) fn new_recovery_codes() -> (Vec<Secret>, Vec<String>) {
    let codes = generate_recovery_codes();
    let hashes = codes
        .iter()
        .filter_map(|c| recovery_code_hash(c.expose()))
        .collect();
    (codes, hashes)
}

async fn notice(
    state: &AppState,
    signed: &Signed,
    kind: MailKind,
    compose: fn(&crate::domain::email::EmailAddress, &str) -> crate::ports::OutgoingEmail,
) -> Result<(), FlowError> {
    let Some(user) = state.store.user_by_id(signed.user_id()).await? else {
        return Ok(());
    };
    let link = state.config.link(paths::SECURITY);
    mail::send_throttled(state, kind, compose(&user.email, &link)).await?;
    Ok(())
}

/// Confirms the enrolment whose sealed secret the session holds with a code from the app:
/// stores the factor (the code's step counts as used) and, when it is the person's first
/// second factor, 10 recovery codes; mails a notice, and answers the new recovery codes, to be
/// shown once (none when a passkey already brought them).
pub async fn confirm_enrolment(
    state: &AppState,
    signed: &Signed,
    sealed: &str,
    code_input: &str,
) -> Outcome<Vec<Secret>> {
    signed.recently_authenticated(state)?;
    let Some(code) = TotpCode::parse(code_input) else {
        return Err(Refusal::invalid("code", "Enter the 6-digit code your app shows.").into());
    };
    let secret = open_enrolment(state, sealed)?;
    let now = state.clock.now();
    let Some(step) = secret.matching_step(&code, now, i64::MIN) else {
        return Err(Refusal::invalid(
            "code",
            "That code is not the one your app shows now. Check the time on your device and try again.",
        )
        .into());
    };
    let first = state.store.passkeys(signed.user_id()).await?.is_empty();
    let (codes, recovery_hashes) = if first {
        new_recovery_codes()
    } else {
        (Vec::new(), Vec::new())
    };
    let new = NewTotpFactor {
        user_id: signed.user_id().clone(),
        secret_sealed: sealed.to_owned(),
        step,
        recovery_hashes,
        now,
    };
    let audit = event(signed.user_id(), "second_factor.added", now);
    if !state.store.add_totp_factor(new, audit).await? {
        return Err(already_on().into());
    }
    notice(
        state,
        signed,
        MailKind::SecondFactorAdded,
        mails::second_factor_added,
    )
    .await?;
    Ok(codes)
}

/// Replaces every recovery code with 10 new ones (answered, to be shown once) and mails a
/// notice. Refused when the person has no second factor.
pub async fn regenerate_recovery_codes(state: &AppState, signed: &Signed) -> Outcome<Vec<Secret>> {
    signed.recently_authenticated(state)?;
    let now = state.clock.now();
    let (codes, hashes) = new_recovery_codes();
    let audit = event(
        signed.user_id(),
        "second_factor.recovery_codes_regenerated",
        now,
    );
    if !state
        .store
        .replace_recovery_codes(signed.user_id(), &hashes, now, audit)
        .await?
    {
        return Err(Refusal::unmet(
            "no_second_factor",
            "Turn on two-factor authentication first.",
        )
        .into());
    }
    notice(
        state,
        signed,
        MailKind::RecoveryCodesRegenerated,
        mails::recovery_codes_regenerated,
    )
    .await?;
    Ok(codes)
}

/// A code that proved a second factor: which kind, and (a recovery code) how many are left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    Totp,
    Passkey,
    RecoveryCode { left: u32 },
}

/// What the person typed at a second factor's prompt.
#[derive(Debug, Clone, Copy)]
pub enum CodeInput<'a> {
    /// A code from the authenticator app.
    Totp(&'a str),
    /// One of the recovery codes.
    Recovery(&'a str),
    /// Either (the removal form's one field): 6 digits are an app's code.
    Either(&'a str),
}

/// Checks a code for `user_id`, using it up when right: a TOTP step is accepted once (in one
/// statement), a recovery code used once (likewise). `None`: wrong, malformed or reused.
async fn check_code(
    state: &AppState,
    user_id: &UserId,
    input: CodeInput<'_>,
) -> Result<Option<Proof>, FlowError> {
    let input = match input {
        CodeInput::Either(text) if TotpCode::parse(text).is_some() => CodeInput::Totp(text),
        CodeInput::Either(text) => CodeInput::Recovery(text),
        other => other,
    };
    let now = state.clock.now();
    match input {
        CodeInput::Totp(text) => {
            let Some(factor) = state.store.totp_factor(user_id).await? else {
                return Ok(None);
            };
            let Some(code) = TotpCode::parse(text) else {
                return Ok(None);
            };
            let secret = open_enrolment(state, &factor.secret_sealed)?;
            let Some(step) = secret.matching_step(&code, now, factor.last_step) else {
                return Ok(None);
            };
            Ok(state
                .store
                .accept_totp_step(user_id, step)
                .await?
                .then_some(Proof::Totp))
        }
        CodeInput::Recovery(text) | CodeInput::Either(text) => {
            let Some(hash) = recovery_code_hash(text) else {
                return Ok(None);
            };
            let audit = event(user_id, "second_factor.recovery_code_used", now);
            Ok(state
                .store
                .use_recovery_code(user_id, &hash, now, audit)
                .await?
                .map(|left| Proof::RecoveryCode { left }))
        }
    }
}

/// A guess counted against `user_id` before its code is checked; the attempt number, or
/// `None` when the user is locked.
pub(crate) async fn reserve(state: &AppState, user_id: &UserId) -> Result<Option<u32>, FlowError> {
    let policy = state.config.lockout;
    Ok(
        match state
            .store
            .reserve_guess(user_id, state.clock.now(), &policy)
            .await?
        {
            GuessReservation::Granted { attempt } => Some(attempt),
            GuessReservation::Refused => None,
        },
    )
}

/// The person proves who they are again with a code from their app or a recovery code (after
/// their password: see `flows::security::reauthenticate`). Counted as a guess like the second
/// step; the caller clears the count once the whole proof is complete.
pub async fn confirm_with_code(state: &AppState, signed: &Signed, code_input: &str) -> Outcome<()> {
    let user_id = signed.user_id();
    let wrong = || {
        Refusal::invalid(
            "code",
            "That code did not work. Enter a current code from your app, or a recovery code.",
        )
    };
    let Some(attempt) = reserve(state, user_id).await? else {
        return Err(wrong().into());
    };
    if check_code(state, user_id, CodeInput::Either(code_input.trim()))
        .await?
        .is_none()
    {
        if let Some(user) = state.store.user_by_id(user_id).await? {
            mail_unlock_if_locked(state, user_id, &user.email, attempt).await?;
        }
        return Err(wrong().into());
    }
    Ok(())
}

/// A completed second step: who signs in, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondStepDone {
    pub signed_in: SignedIn,
    pub proof: Proof,
}

/// The second step of a password sign-in: a code from the app or a recovery code. The guess
/// is counted before the code is checked (so concurrent guesses never get more than the
/// lockout allows); a wrong code, a reused one and a locked account all get the one message,
/// and the guess that locks mails the unlock link. A right code resets the count and gives
/// back `reservation`, the attempt the per-IP gate counted for this request.
pub async fn second_step(
    state: &AppState,
    due: &SecondStepDue,
    input: CodeInput<'_>,
    reservation: Option<&IpReservation>,
) -> Outcome<SecondStepDone> {
    let user = state.store.user_by_id(due.user_id()).await?;
    let Some(user) = user.filter(|u| u.session_epoch == due.epoch()) else {
        return Err(Refusal::conflict("second_step_expired", SECOND_STEP_EXPIRED).into());
    };
    let Some(attempt) = reserve(state, &user.id).await? else {
        return Err(second_step_failure().into());
    };
    let Some(proof) = check_code(state, &user.id, input).await? else {
        mail_unlock_if_locked(state, &user.id, &user.email, attempt).await?;
        return Err(second_step_failure().into());
    };
    let refund = reservation.map(IpReservation::refund);
    state
        .store
        .sign_in_succeeded(&user.id, None, refund)
        .await?;
    Ok(SecondStepDone {
        signed_in: SignedIn {
            user_id: user.id,
            session_epoch: user.session_epoch,
        },
        proof,
    })
}

/// Removes the person's authenticator app and recovery codes, given a current code from the
/// app or a recovery code (counted as a guess, like the second step), and mails a notice.
pub async fn remove(state: &AppState, signed: &Signed, code_input: &str) -> Outcome<()> {
    signed.recently_authenticated(state)?;
    let user_id = signed.user_id();
    if state.store.totp_factor(user_id).await?.is_none() {
        return Err(Refusal::unmet("no_second_factor", "Two-factor authentication is off.").into());
    }
    let wrong = || {
        Refusal::invalid(
            "code",
            "That code did not work. Enter a current code from your app, or a recovery code.",
        )
    };
    let Some(attempt) = reserve(state, user_id).await? else {
        return Err(wrong().into());
    };
    if check_code(state, user_id, CodeInput::Either(code_input))
        .await?
        .is_none()
    {
        if let Some(user) = state.store.user_by_id(user_id).await? {
            mail_unlock_if_locked(state, user_id, &user.email, attempt).await?;
        }
        return Err(wrong().into());
    }
    state.store.sign_in_succeeded(user_id, None, None).await?;
    let audit = event(user_id, "second_factor.removed", state.clock.now());
    if !state.store.remove_totp_factor(user_id, audit).await? {
        return Err(Refusal::unmet("no_second_factor", "Two-factor authentication is off.").into());
    }
    notice(
        state,
        signed,
        MailKind::SecondFactorRemoved,
        mails::second_factor_removed,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::domain::ids::AccountId;
    use crate::flows::sign_in::{sign_in_with_password, PasswordChecked};
    use crate::ports::prelude::*;
    use crate::testing::{refused, Harness, PASSWORD};

    const ADA: &str = "ada@example.com";

    struct Enrolled {
        user_id: UserId,
        signed: Signed,
        secret: TotpSecret,
        codes: Vec<Secret>,
    }

    async fn signed(h: &Harness) -> (UserId, AccountId, Signed) {
        let (user_id, account_id) = h.signed_up(ADA, Some(PASSWORD)).await;
        let signed = Signed::for_tests(&user_id, ADA, Some(&account_id));
        (user_id, account_id, signed)
    }

    /// Ada, signed up and enrolled; the clock moved on a step so the confirming code is spent.
    async fn enrolled(h: &Harness) -> Enrolled {
        let (user_id, _, signed) = signed(h).await;
        let enrolment = begin_enrolment(&h.state, &signed).await.unwrap();
        let code = enrolment.secret.code_at(h.now());
        let codes = confirm_enrolment(&h.state, &signed, &enrolment.sealed, &code)
            .await
            .unwrap();
        h.advance(Duration::from_secs(30));
        Enrolled {
            user_id,
            signed,
            secret: enrolment.secret,
            codes,
        }
    }

    fn due(e: &Enrolled) -> SecondStepDue {
        SecondStepDue::for_tests(&e.user_id, 0)
    }

    async fn failures(h: &Harness, user_id: &UserId) -> u32 {
        h.store
            .user_by_id(user_id)
            .await
            .unwrap()
            .unwrap()
            .failed_attempts
    }

    #[tokio::test]
    async fn enrolment_is_confirmed_by_a_code_and_shows_ten_recovery_codes() {
        let h = Harness::new();
        let (user_id, _, signed) = signed(&h).await;
        let enrolment = begin_enrolment(&h.state, &signed).await.unwrap();
        assert!(!enrolment
            .sealed
            .contains(enrolment.secret.to_base32().expose()));
        // Until confirmed it counts for nothing.
        assert!(!status(&h.state, &signed).await.unwrap().enabled());
        let wrong = confirm_enrolment(&h.state, &signed, &enrolment.sealed, "000000").await;
        let other = enrolment.secret.code_at(h.now());
        if other != "000000" {
            assert_eq!(refused(wrong).field(), Some("code"));
        }
        let junk = confirm_enrolment(&h.state, &signed, &enrolment.sealed, "12ab").await;
        assert_eq!(refused(junk).field(), Some("code"));
        let code = enrolment.secret.code_at(h.now());
        let codes = confirm_enrolment(&h.state, &signed, &enrolment.sealed, &code)
            .await
            .unwrap();
        assert_eq!(codes.len(), 10);
        let now = status(&h.state, &signed).await.unwrap();
        assert_eq!(now.app_since, Some(h.now()));
        assert_eq!(now.recovery_codes_left, 10);
        let factor = h.store.totp_factor(&user_id).await.unwrap().unwrap();
        assert_eq!(
            h.state
                .sealing
                .open(&factor.secret_sealed)
                .unwrap()
                .expose(),
            enrolment.secret.to_base32().expose()
        );
        assert!(h
            .store
            .audit_actions()
            .contains(&"second_factor.added".to_owned()));
        // A second enrolment is refused, before and at confirmation.
        assert_eq!(
            refused(begin_enrolment(&h.state, &signed).await).message(),
            already_on().message()
        );
        h.settle().await;
        let notices: Vec<_> = h
            .mails_to(ADA)
            .into_iter()
            .filter(|m| m.subject == "Two-factor authentication was turned on")
            .collect();
        assert_eq!(notices.len(), 1);
    }

    #[tokio::test]
    async fn a_code_signs_in_once_and_a_replay_is_refused_with_the_one_message() {
        let h = Harness::new();
        let e = enrolled(&h).await;
        let code = e.secret.code_at(h.now());
        let done = second_step(&h.state, &due(&e), CodeInput::Totp(&code), None)
            .await
            .unwrap();
        assert_eq!(done.proof, Proof::Totp);
        assert_eq!(done.signed_in.user_id, e.user_id);
        let replay = second_step(&h.state, &due(&e), CodeInput::Totp(&code), None).await;
        assert_eq!(refused(replay), second_step_failure());
        // A code of an earlier step than the last accepted one is refused too.
        let earlier = e.secret.code_at(h.now().minus(Duration::from_secs(30)));
        let old = second_step(&h.state, &due(&e), CodeInput::Totp(&earlier), None).await;
        assert_eq!(refused(old), second_step_failure());
        let junk = second_step(&h.state, &due(&e), CodeInput::Totp("abc"), None).await;
        assert_eq!(refused(junk), second_step_failure());
    }

    #[tokio::test]
    async fn a_recovery_code_works_once_and_says_how_many_are_left() {
        let h = Harness::new();
        let e = enrolled(&h).await;
        let first = e.codes[0].expose().to_lowercase();
        let done = second_step(&h.state, &due(&e), CodeInput::Recovery(&first), None)
            .await
            .unwrap();
        assert_eq!(done.proof, Proof::RecoveryCode { left: 9 });
        let again = second_step(&h.state, &due(&e), CodeInput::Recovery(&first), None).await;
        assert_eq!(refused(again), second_step_failure());
        let wrong = second_step(&h.state, &due(&e), CodeInput::Recovery("AAAAA-AAAAA"), None).await;
        assert_eq!(refused(wrong), second_step_failure());
        assert!(h
            .store
            .audit_actions()
            .contains(&"second_factor.recovery_code_used".to_owned()));
    }

    #[tokio::test]
    async fn wrong_codes_count_with_wrong_passwords_lock_and_mail_the_unlock_link() {
        let h = Harness::new();
        let e = enrolled(&h).await;
        // A right password leads to the second step and does not reset the count.
        let checked =
            sign_in_with_password(&h.state, ADA, &Secret::new(PASSWORD), "203.0.113.1", None)
                .await
                .unwrap();
        assert!(matches!(checked, PasswordChecked::SecondStepDue(_)));
        assert_eq!(failures(&h, &e.user_id).await, 1);
        for n in 2..=5 {
            let wrong =
                second_step(&h.state, &due(&e), CodeInput::Recovery("AAAAA-AAAAA"), None).await;
            assert_eq!(refused(wrong), second_step_failure());
            assert_eq!(failures(&h, &e.user_id).await, n);
        }
        h.settle().await;
        let locked: Vec<_> = h
            .mails_to(ADA)
            .into_iter()
            .filter(|m| m.subject == "Your account has been locked")
            .collect();
        assert_eq!(locked.len(), 1);
        // Locked: even the right code is refused, with the same message, and not used up.
        let code = e.secret.code_at(h.now());
        let refused_right = second_step(&h.state, &due(&e), CodeInput::Totp(&code), None).await;
        assert_eq!(refused(refused_right), second_step_failure());
        h.advance(h.state.config.lockout.lock_for);
        let code = e.secret.code_at(h.now());
        second_step(&h.state, &due(&e), CodeInput::Totp(&code), None)
            .await
            .unwrap();
        assert_eq!(
            failures(&h, &e.user_id).await,
            0,
            "a completed sign-in resets"
        );
    }

    #[tokio::test]
    async fn concurrent_wrong_codes_get_no_more_than_five_guesses() {
        let h = Harness::new();
        let e = enrolled(&h).await;
        let due = due(&e);
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..10 {
            let (state, due) = (h.state.clone(), due.clone());
            set.spawn(async move {
                second_step(&state, &due, CodeInput::Recovery("AAAAA-AAAAA"), None)
                    .await
                    .is_err()
            });
        }
        while let Some(refused) = set.join_next().await {
            assert!(refused.unwrap());
        }
        assert_eq!(failures(&h, &e.user_id).await, 5);
    }

    #[tokio::test]
    async fn a_password_reset_since_the_password_ends_the_second_step() {
        let h = Harness::new();
        let e = enrolled(&h).await;
        let stale = SecondStepDue::for_tests(&e.user_id, 7);
        let code = e.secret.code_at(h.now());
        let outcome = second_step(&h.state, &stale, CodeInput::Totp(&code), None).await;
        assert_eq!(refused(outcome).message(), SECOND_STEP_EXPIRED);
    }

    #[tokio::test]
    async fn regenerating_replaces_every_recovery_code() {
        let h = Harness::new();
        let e = enrolled(&h).await;
        let fresh = regenerate_recovery_codes(&h.state, &e.signed)
            .await
            .unwrap();
        assert_eq!(fresh.len(), 10);
        let old = second_step(
            &h.state,
            &due(&e),
            CodeInput::Recovery(e.codes[1].expose()),
            None,
        )
        .await;
        assert_eq!(refused(old), second_step_failure());
        let new = second_step(
            &h.state,
            &due(&e),
            CodeInput::Recovery(fresh[1].expose()),
            None,
        )
        .await
        .unwrap();
        assert_eq!(new.proof, Proof::RecoveryCode { left: 9 });
        h.settle().await;
        assert!(h
            .mails_to(ADA)
            .iter()
            .any(|m| m.subject == "Your recovery codes were replaced"));
        // Without a second factor there is nothing to regenerate.
        let h2 = Harness::new();
        let (_, _, nobody) = signed(&h2).await;
        let refusal = refused(regenerate_recovery_codes(&h2.state, &nobody).await);
        assert_eq!(
            refusal.message(),
            "Turn on two-factor authentication first."
        );
    }

    #[tokio::test]
    async fn removing_needs_a_current_code_or_a_recovery_code() {
        let h = Harness::new();
        let e = enrolled(&h).await;
        let wrong = refused(remove(&h.state, &e.signed, "AAAAA-AAAAA").await);
        assert_eq!(wrong.field(), Some("code"));
        assert!(status(&h.state, &e.signed).await.unwrap().enabled());
        remove(&h.state, &e.signed, e.codes[3].expose())
            .await
            .unwrap();
        let now = status(&h.state, &e.signed).await.unwrap();
        assert!(!now.enabled());
        assert_eq!(now.recovery_codes_left, 0);
        assert!(h.store.totp_factor(&e.user_id).await.unwrap().is_none());
        assert!(h
            .store
            .audit_actions()
            .contains(&"second_factor.removed".to_owned()));
        h.settle().await;
        assert!(h
            .mails_to(ADA)
            .iter()
            .any(|m| m.subject == "Two-factor authentication was turned off"));
        // The password alone signs in again.
        let checked =
            sign_in_with_password(&h.state, ADA, &Secret::new(PASSWORD), "203.0.113.1", None)
                .await
                .unwrap();
        assert!(matches!(checked, PasswordChecked::SignedIn(_)));
    }

    #[tokio::test]
    async fn removing_with_an_app_code_works_too() {
        let h = Harness::new();
        let e = enrolled(&h).await;
        let code = e.secret.code_at(h.now());
        remove(&h.state, &e.signed, &code).await.unwrap();
        assert!(!status(&h.state, &e.signed).await.unwrap().enabled());
    }

    #[tokio::test]
    async fn a_broken_store_breaks_the_second_step() {
        let h = Harness::new();
        let e = enrolled(&h).await;
        h.store.set_broken(true);
        let outcome = second_step(&h.state, &due(&e), CodeInput::Totp("123456"), None).await;
        assert!(matches!(outcome, Err(crate::flows::Stopped::Broken(_))));
    }
}
