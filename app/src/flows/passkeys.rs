//! Passkeys: registering and deleting them, signing in with one directly, and using one as the
//! second step after a password. Every WebAuthn check (challenge, origin, signature, user
//! verification, counter) is the `webauthn-rs` crate's; this module keeps the ceremony state
//! server-side between its two requests (in the database, under the hash of a random handle,
//! single use, 5 minutes) and applies this project's rules: a recent sign-in before a change,
//! the lockout for failed assertions of a known person, one generic message, notices by mail.
use sha2::{Digest, Sha256};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};

use crate::auth::{SecondStepDue, Signed};
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::ids::{PasskeyId, UserId};
use crate::domain::passkeys::{
    self as rules, Ceremony, CeremonyPurpose, StoredPasskey, CEREMONY_LIFETIME, MAX_PER_PERSON,
};
use crate::domain::secret::Secret;
use crate::domain::tokens::{new_link_token, token_hash};
use crate::flows::mail::{self, MailKind};
use crate::flows::policy::has_second_factor;
use crate::flows::second_factors::{new_recovery_codes, reserve, Proof, SecondStepDone};
use crate::flows::sign_in::{mail_unlock_if_locked, password_allowed, IpReservation, SignedIn};
use crate::flows::{FlowError, Outcome, Refusal};
use crate::mails;
use crate::paths;
use crate::AppState;

/// The one message of a passkey sign-in that did not work, whatever was wrong.
pub const PASSKEY_FAILURE: &str =
    "That passkey did not work. Try again, or sign in with your password.";

fn failure() -> Refusal {
    Refusal::not_allowed("passkey_failed", PASSKEY_FAILURE)
}

fn unavailable() -> Refusal {
    Refusal::unavailable(
        "passkeys_unavailable",
        "Passkeys need this server to be reached by a domain name (not an IP address).",
    )
}

fn broken(what: impl std::fmt::Display) -> FlowError {
    FlowError::PasskeyState(what.to_string())
}

/// The relying party: this server's public URL (its host is the RP id). `None` when the
/// public URL has no domain name (an IP address), where browsers offer no passkeys.
fn webauthn(state: &AppState) -> Option<Webauthn> {
    let origin = Url::parse(&state.config.public_url).ok()?;
    let rp_id = origin.domain()?.to_owned();
    WebauthnBuilder::new(&rp_id, &origin)
        .ok()?
        .rp_name("Terminus Hub")
        .build()
        .ok()
}

/// Whether passkeys can be used on this server (its public URL has a domain name).
pub fn available(state: &AppState) -> bool {
    webauthn(state).is_some()
}

/// The WebAuthn user handle of a person: derived from their id (stable, and no id or email
/// of theirs is handed to authenticators).
fn user_handle(user_id: &UserId) -> Uuid {
    let digest = Sha256::digest(format!("terminus-hub passkey user {}", user_id.as_str()));
    let mut bytes = [0u8; 16];
    for (b, d) in bytes.iter_mut().zip(digest.iter()) {
        *b = *d;
    }
    Uuid::from_bytes(bytes)
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn credential_of(stored: &StoredPasskey) -> Result<Passkey, FlowError> {
    serde_json::from_str(&stored.credential).map_err(broken)
}

/// A passkey as the Security page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeySummary {
    pub id: PasskeyId,
    pub name: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

impl From<&StoredPasskey> for PasskeySummary {
    fn from(p: &StoredPasskey) -> Self {
        Self {
            id: p.id.clone(),
            name: p.name.clone(),
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        }
    }
}

/// A ceremony started: the handle the browser sends back (single use), and the options for
/// `navigator.credentials.create` / `.get` (`{"publicKey": …}`).
pub struct CeremonyStart {
    pub handle: Secret,
    pub options: serde_json::Value,
}

impl std::fmt::Debug for CeremonyStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CeremonyStart([redacted])")
    }
}

async fn keep(
    state: &AppState,
    purpose: CeremonyPurpose,
    user_id: Option<&UserId>,
    name: Option<String>,
    ceremony_state: String,
    options: serde_json::Value,
) -> Result<CeremonyStart, FlowError> {
    let (handle, hash) = new_link_token();
    let now = state.clock.now();
    let ceremony = Ceremony {
        purpose,
        user_id: user_id.cloned(),
        name,
        state: ceremony_state,
        expires_at: now.plus(CEREMONY_LIFETIME),
    };
    state.store.save_ceremony(&hash, ceremony, now).await?;
    Ok(CeremonyStart { handle, options })
}

/// Takes (uses up) the live ceremony with this handle, if it is for `purpose`.
async fn take(
    state: &AppState,
    handle: &str,
    purpose: CeremonyPurpose,
) -> Result<Option<Ceremony>, FlowError> {
    let Some(hash) = token_hash(handle) else {
        return Ok(None);
    };
    let ceremony = state.store.take_ceremony(&hash, state.clock.now()).await?;
    Ok(ceremony.filter(|c| c.purpose == purpose))
}

fn event(user_id: &UserId, action: &str, detail: Option<String>, now: Timestamp) -> AuditEvent {
    AuditEvent {
        account_id: None,
        actor_user_id: Some(user_id.clone()),
        action: action.into(),
        detail,
        at: now,
    }
}

async fn notice(
    state: &AppState,
    user_id: &UserId,
    kind: MailKind,
    compose: fn(&crate::domain::email::EmailAddress, &str, &str) -> crate::ports::OutgoingEmail,
    name: &str,
) -> Result<(), FlowError> {
    let Some(user) = state.store.user_by_id(user_id).await? else {
        return Ok(());
    };
    let link = state.config.link(paths::SECURITY_TWO_FACTOR);
    mail::send_throttled(state, kind, compose(&user.email, name, &link)).await?;
    Ok(())
}

/// The person's passkeys, oldest first.
pub async fn list(state: &AppState, signed: &Signed) -> Outcome<Vec<PasskeySummary>> {
    let stored = state.store.passkeys(signed.user_id()).await?;
    Ok(stored.iter().map(PasskeySummary::from).collect())
}

/// Starts registering a passkey named `name_input` for the signed-in person (who signed in
/// recently): the options for `navigator.credentials.create`, excluding the passkeys they
/// already have, and asking for a discoverable one (so it can sign in from the email field).
pub async fn begin_registration(
    state: &AppState,
    signed: &Signed,
    name_input: &str,
) -> Outcome<CeremonyStart> {
    signed.recently_authenticated(state)?;
    let name = rules::name(name_input).map_err(|e| Refusal::invalid("name", e.to_string()))?;
    let webauthn = webauthn(state).ok_or_else(unavailable)?;
    let existing = state.store.passkeys(signed.user_id()).await?;
    if existing.len() >= MAX_PER_PERSON {
        return Err(Refusal::unmet(
            "too_many_passkeys",
            format!("You have {MAX_PER_PERSON} passkeys: delete one before adding another."),
        )
        .into());
    }
    let mut exclude = Vec::with_capacity(existing.len());
    for stored in &existing {
        exclude.push(credential_of(stored)?.cred_id().clone());
    }
    let (ccr, registration) = webauthn
        .start_passkey_registration(
            user_handle(signed.user_id()),
            signed.email(),
            signed.email(),
            Some(exclude),
        )
        .map_err(broken)?;
    let mut options = serde_json::to_value(&ccr).map_err(broken)?;
    if let Some(selection) = options
        .pointer_mut("/publicKey/authenticatorSelection")
        .and_then(serde_json::Value::as_object_mut)
    {
        selection.insert("residentKey".into(), "preferred".into());
    }
    let kept = serde_json::to_string(&registration).map_err(broken)?;
    Ok(keep(
        state,
        CeremonyPurpose::Register,
        Some(signed.user_id()),
        Some(name),
        kept,
        options,
    )
    .await?)
}

/// A passkey just added, and the recovery codes that came with it when it is the person's
/// first second factor (to be shown once; empty otherwise).
#[derive(Debug)]
pub struct PasskeyAdded {
    pub passkey: PasskeySummary,
    pub recovery_codes: Vec<Secret>,
}

/// Finishes a registration with what the browser's authenticator answered: stores the
/// passkey under the name given at the start — with 10 recovery codes when it is the
/// person's first second factor —, writes the audit event, mails a notice.
pub async fn finish_registration(
    state: &AppState,
    signed: &Signed,
    handle: &str,
    response: &RegisterPublicKeyCredential,
) -> Outcome<PasskeyAdded> {
    signed.recently_authenticated(state)?;
    let refused = || {
        Refusal::not_allowed(
            "passkey_not_registered",
            "The passkey could not be added. Please try again.",
        )
    };
    let webauthn = webauthn(state).ok_or_else(unavailable)?;
    let Some(ceremony) = take(state, handle, CeremonyPurpose::Register).await? else {
        return Err(refused().into());
    };
    if ceremony.user_id.as_ref() != Some(signed.user_id()) {
        return Err(refused().into());
    }
    let registration: PasskeyRegistration =
        serde_json::from_str(&ceremony.state).map_err(broken)?;
    let Ok(passkey) = webauthn.finish_passkey_registration(response, &registration) else {
        return Err(refused().into());
    };
    let now = state.clock.now();
    let name = ceremony.name.unwrap_or_else(|| "Passkey".to_owned());
    let stored = StoredPasskey {
        id: PasskeyId::new(),
        user_id: signed.user_id().clone(),
        credential_id: b64(passkey.cred_id().as_ref()),
        name: name.clone(),
        credential: serde_json::to_string(&passkey).map_err(broken)?,
        created_at: now,
        last_used_at: None,
    };
    let audit = event(
        signed.user_id(),
        "passkey.added",
        Some(stored.id.as_str().to_owned()),
        now,
    );
    let first = !has_second_factor(state, signed.user_id()).await?;
    let (recovery_codes, recovery_hashes) = if first {
        new_recovery_codes()
    } else {
        (Vec::new(), Vec::new())
    };
    if !state
        .store
        .add_passkey(stored.clone(), &recovery_hashes, audit)
        .await?
    {
        return Err(
            Refusal::conflict("passkey_exists", "That passkey is already registered.").into(),
        );
    }
    notice(
        state,
        signed.user_id(),
        MailKind::PasskeyAdded,
        mails::passkey_added,
        &name,
    )
    .await?;
    Ok(PasskeyAdded {
        passkey: PasskeySummary::from(&stored),
        recovery_codes,
    })
}

/// Deletes one of the person's passkeys (after a recent sign-in) and mails a notice.
pub async fn delete(state: &AppState, signed: &Signed, id: &PasskeyId) -> Outcome<()> {
    signed.recently_authenticated(state)?;
    let existing = state.store.passkeys(signed.user_id()).await?;
    let Some(found) = existing.iter().find(|p| p.id == *id) else {
        return Err(Refusal::NotFound("passkey").into());
    };
    let audit = event(
        signed.user_id(),
        "passkey.removed",
        Some(id.as_str().to_owned()),
        state.clock.now(),
    );
    if !state
        .store
        .delete_passkey(signed.user_id(), id, audit)
        .await?
    {
        return Err(Refusal::NotFound("passkey").into());
    }
    notice(
        state,
        signed.user_id(),
        MailKind::PasskeyRemoved,
        mails::passkey_removed,
        &found.name,
    )
    .await?;
    Ok(())
}

/// Starts a direct sign-in: options for `navigator.credentials.get` with no credentials
/// listed (the browser offers the passkeys it holds for this site, e.g. on the email field).
pub async fn begin_sign_in(state: &AppState) -> Outcome<CeremonyStart> {
    let webauthn = webauthn(state).ok_or_else(unavailable)?;
    let (rcr, authentication) = webauthn
        .start_discoverable_authentication()
        .map_err(broken)?;
    let options = serde_json::to_value(&rcr).map_err(broken)?;
    let kept = serde_json::to_string(&authentication).map_err(broken)?;
    Ok(keep(state, CeremonyPurpose::SignIn, None, None, kept, options).await?)
}

/// Checks an assertion for `stored` (whose owner is `user_id`, already counted as a guess)
/// and records the use (the new signature counter).
async fn check_assertion(
    state: &AppState,
    stored: &StoredPasskey,
    check: impl FnOnce(&Passkey) -> Option<webauthn_rs::prelude::AuthenticationResult>,
) -> Result<bool, FlowError> {
    let mut passkey = credential_of(stored)?;
    let Some(result) = check(&passkey) else {
        return Ok(false);
    };
    passkey.update_credential(&result);
    let credential = serde_json::to_string(&passkey).map_err(broken)?;
    state
        .store
        .passkey_used(&stored.id, &credential, state.clock.now())
        .await?;
    Ok(true)
}

/// Finishes a direct sign-in. The passkey the browser used says who signs in; a failed
/// assertion of a known person counts in their lockout like a wrong password (and the guess
/// that locks mails the unlock link); every failure gets the one message. A passkey sign-in
/// is a full sign-in: no second step follows. `reservation` is the attempt the per-IP gate
/// counted for this request: given back when the sign-in succeeds.
pub async fn finish_sign_in(
    state: &AppState,
    handle: &str,
    response: &PublicKeyCredential,
    reservation: Option<&IpReservation>,
) -> Outcome<SignedIn> {
    let webauthn = webauthn(state).ok_or_else(unavailable)?;
    let Some(ceremony) = take(state, handle, CeremonyPurpose::SignIn).await? else {
        return Err(failure().into());
    };
    let authentication: DiscoverableAuthentication =
        serde_json::from_str(&ceremony.state).map_err(broken)?;
    let credential_id = b64(response.get_credential_id());
    let Some(stored) = state.store.passkey_by_credential(&credential_id).await? else {
        return Err(failure().into());
    };
    // A discoverable credential names its person too: it must be the passkey's owner.
    if let Some(handle) = response.get_user_unique_id() {
        if handle != user_handle(&stored.user_id).as_bytes() {
            return Err(failure().into());
        }
    }
    let Some(user) = state.store.user_by_id(&stored.user_id).await? else {
        return Err(failure().into());
    };
    let Some(attempt) = reserve(state, &user.id).await? else {
        return Err(failure().into());
    };
    let verified = check_assertion(state, &stored, |passkey| {
        webauthn
            .finish_discoverable_authentication_v2(response, authentication, passkey)
            .ok()
    })
    .await?;
    if !verified {
        mail_unlock_if_locked(state, &user.id, &user.email, attempt).await?;
        return Err(failure().into());
    }
    if !password_allowed(state, &user.id, &user.email).await? {
        // Enforced single sign-on: a passkey opens no more than a password would.
        return Err(failure().into());
    }
    state
        .store
        .sign_in_succeeded(&user.id, None, reservation.map(IpReservation::refund))
        .await?;
    Ok(SignedIn {
        user_id: user.id,
        session_epoch: user.session_epoch,
    })
}

/// Whether the person whose password was just checked has a passkey to offer at the second
/// step.
pub async fn has_passkeys(state: &AppState, user_id: &UserId) -> Result<bool, FlowError> {
    Ok(available(state) && !state.store.passkeys(user_id).await?.is_empty())
}

/// Starts a ceremony in which `user_id` proves it's them with one of their passkeys: options
/// listing those passkeys.
async fn begin_for_person(
    state: &AppState,
    user_id: &UserId,
    purpose: CeremonyPurpose,
) -> Outcome<CeremonyStart> {
    let webauthn = webauthn(state).ok_or_else(unavailable)?;
    let stored = state.store.passkeys(user_id).await?;
    if stored.is_empty() {
        return Err(failure().into());
    }
    let mut passkeys = Vec::with_capacity(stored.len());
    for p in &stored {
        passkeys.push(credential_of(p)?);
    }
    let (rcr, authentication) = webauthn
        .start_passkey_authentication(&passkeys)
        .map_err(broken)?;
    let options = serde_json::to_value(&rcr).map_err(broken)?;
    let kept = serde_json::to_string(&authentication).map_err(broken)?;
    Ok(keep(state, purpose, Some(user_id), None, kept, options).await?)
}

/// Checks the answer to a [`begin_for_person`] ceremony: the ceremony must be `user_id`'s and
/// for `purpose`, the passkey theirs, the assertion right (the use is recorded).
async fn check_for_person(
    state: &AppState,
    user_id: &UserId,
    purpose: CeremonyPurpose,
    handle: &str,
    response: &PublicKeyCredential,
) -> Result<bool, FlowError> {
    let Some(webauthn) = webauthn(state) else {
        return Ok(false);
    };
    let ceremony = take(state, handle, purpose).await?;
    let ceremony = ceremony.filter(|c| c.user_id.as_ref() == Some(user_id));
    let credential_id = b64(response.get_credential_id());
    let stored = state.store.passkey_by_credential(&credential_id).await?;
    match (ceremony, stored.filter(|p| p.user_id == *user_id)) {
        (Some(ceremony), Some(stored)) => {
            let authentication: PasskeyAuthentication =
                serde_json::from_str(&ceremony.state).map_err(broken)?;
            check_assertion(state, &stored, |_| {
                webauthn
                    .finish_passkey_authentication(response, &authentication)
                    .ok()
            })
            .await
        }
        _ => Ok(false),
    }
}

/// What the second step can take from this person, besides a recovery code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepChoices {
    pub app: bool,
    pub passkey: bool,
}

/// The second step's choices for the password the session checked.
pub async fn step_choices(state: &AppState, due: &SecondStepDue) -> Outcome<StepChoices> {
    Ok(StepChoices {
        app: state.store.totp_factor(due.user_id()).await?.is_some(),
        passkey: has_passkeys(state, due.user_id()).await?,
    })
}

/// Starts the second step with a passkey: options listing the person's passkeys.
pub async fn begin_second_step(state: &AppState, due: &SecondStepDue) -> Outcome<CeremonyStart> {
    begin_for_person(state, due.user_id(), CeremonyPurpose::SecondStep).await
}

/// The second step with a passkey, for the password the session checked: counted as a guess
/// before it is checked, like a code; a right one completes the sign-in (and gives back
/// `reservation`, the attempt the per-IP gate counted).
pub async fn finish_second_step(
    state: &AppState,
    due: &SecondStepDue,
    handle: &str,
    response: &PublicKeyCredential,
    reservation: Option<&IpReservation>,
) -> Outcome<SecondStepDone> {
    let user = state.store.user_by_id(due.user_id()).await?;
    let Some(user) = user.filter(|u| u.session_epoch == due.epoch()) else {
        return Err(Refusal::conflict(
            "second_step_expired",
            crate::flows::second_factors::SECOND_STEP_EXPIRED,
        )
        .into());
    };
    let Some(attempt) = reserve(state, &user.id).await? else {
        return Err(failure().into());
    };
    let purpose = CeremonyPurpose::SecondStep;
    let verified = check_for_person(state, &user.id, purpose, handle, response).await?;
    if !verified {
        mail_unlock_if_locked(state, &user.id, &user.email, attempt).await?;
        return Err(failure().into());
    }
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
        proof: Proof::Passkey,
    })
}

/// What a passkey that did not confirm a person says (whatever was wrong).
pub const REAUTH_FAILURE: &str =
    "That passkey did not work. Try again, or confirm with your password.";

/// Starts "Confirm it's you" with a passkey: options listing the person's passkeys.
pub async fn begin_reauthentication(state: &AppState, signed: &Signed) -> Outcome<CeremonyStart> {
    begin_for_person(state, signed.user_id(), CeremonyPurpose::Reauthenticate).await
}

/// "Confirm it's you" with a passkey (a full proof: the device's screen lock or PIN is its
/// second factor): counted as a guess before it is checked, like a password; a right one
/// clears the count. The caller records the time in the session.
pub async fn finish_reauthentication(
    state: &AppState,
    signed: &Signed,
    handle: &str,
    response: &PublicKeyCredential,
) -> Outcome<()> {
    let wrong = || Refusal::not_allowed("passkey_failed", REAUTH_FAILURE);
    let Some(user) = state.store.user_by_id(signed.user_id()).await? else {
        return Err(Refusal::NotFound("user").into());
    };
    let Some(attempt) = reserve(state, &user.id).await? else {
        return Err(wrong().into());
    };
    let purpose = CeremonyPurpose::Reauthenticate;
    if !check_for_person(state, &user.id, purpose, handle, response).await? {
        mail_unlock_if_locked(state, &user.id, &user.email, attempt).await?;
        return Err(wrong().into());
    }
    state.store.sign_in_succeeded(&user.id, None, None).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use webauthn_authenticator_rs::prelude::{
        CreationChallengeResponse, RequestChallengeResponse, WebauthnAuthenticator as _,
    };
    use webauthn_authenticator_rs::softpasskey::SoftPasskey;

    use super::*;
    use crate::ports::prelude::*;
    use crate::testing::{refused, PASSWORD};

    /// Authenticators speak WebAuthn only to a secure origin.
    const SITE: &str = "https://hub.test";

    struct Harness;
    impl Harness {
        #[allow(clippy::new_ret_no_self)]
        fn new() -> crate::testing::Harness {
            crate::testing::Harness::with_config(|c| c.public_url = SITE.into())
        }
    }

    fn origin() -> Url {
        Url::parse(SITE).unwrap()
    }

    async fn person(h: &crate::testing::Harness, email: &str) -> Signed {
        let (user_id, account_id) = h.signed_up(email, Some(PASSWORD)).await;
        Signed::for_tests(&user_id, email, Some(&account_id))
    }

    /// Registers a passkey with `key`; answers its credential id.
    async fn register(
        h: &crate::testing::Harness,
        signed: &Signed,
        key: &mut SoftPasskey,
        name: &str,
    ) -> String {
        let start = begin_registration(&h.state, signed, name).await.unwrap();
        let options: CreationChallengeResponse = serde_json::from_value(start.options).unwrap();
        let response = key.do_registration(origin(), options).unwrap();
        let added = finish_registration(&h.state, signed, start.handle.expose(), &response)
            .await
            .unwrap();
        assert_eq!(added.passkey.name, name.trim());
        response.id
    }

    /// Registers a passkey with `key`: its credential id and the recovery codes it brought.
    async fn register_with_codes(
        h: &crate::testing::Harness,
        signed: &Signed,
        key: &mut SoftPasskey,
        name: &str,
    ) -> (String, Vec<Secret>) {
        let start = begin_registration(&h.state, signed, name).await.unwrap();
        let options: CreationChallengeResponse = serde_json::from_value(start.options).unwrap();
        let response = key.do_registration(origin(), options).unwrap();
        let added = finish_registration(&h.state, signed, start.handle.expose(), &response)
            .await
            .unwrap();
        (response.id, added.recovery_codes)
    }

    fn sign(
        key: &mut SoftPasskey,
        options: serde_json::Value,
        credential_id: &str,
    ) -> PublicKeyCredential {
        let mut options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
        let allow = serde_json::json!({ "type": "public-key", "id": credential_id });
        options.public_key.allow_credentials = vec![serde_json::from_value(allow).unwrap()];
        key.do_authentication(origin(), options).unwrap()
    }

    #[tokio::test]
    async fn a_registered_passkey_signs_in_once_per_ceremony_and_is_noticed() {
        let h = Harness::new();
        let ada = person(&h, "ada@example.com").await;
        let mut key = SoftPasskey::new(true);
        let id = register(&h, &ada, &mut key, "  Laptop ").await;
        h.settle().await;
        let mails = h.mails_to("ada@example.com");
        assert!(mails.iter().any(|m| m.subject == "A passkey was added"));
        let listed = list(&h.state, &ada).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].name, "Laptop");
        assert_eq!(listed[0].last_used_at, None);

        let start = begin_sign_in(&h.state).await.unwrap();
        let assertion = sign(&mut key, start.options, &id);
        let signed_in = finish_sign_in(&h.state, start.handle.expose(), &assertion, None)
            .await
            .unwrap();
        assert_eq!(&signed_in.user_id, ada.user_id());
        assert!(list(&h.state, &ada).await.unwrap()[0]
            .last_used_at
            .is_some());

        // The ceremony is used up.
        let again = finish_sign_in(&h.state, start.handle.expose(), &assertion, None).await;
        assert_eq!(refused(again).message(), PASSKEY_FAILURE);
        // A fresh ceremony's challenge is not the one signed: a failed guess against Ada.
        let fresh = begin_sign_in(&h.state).await.unwrap();
        let replay = finish_sign_in(&h.state, fresh.handle.expose(), &assertion, None).await;
        assert_eq!(refused(replay).message(), PASSKEY_FAILURE);
        let user = h.store.user_by_id(ada.user_id()).await.unwrap().unwrap();
        assert_eq!(user.failed_attempts, 1);
    }

    #[tokio::test]
    async fn a_ceremony_expires_after_five_minutes() {
        let h = Harness::new();
        let ada = person(&h, "ada@example.com").await;
        let mut key = SoftPasskey::new(true);
        let id = register(&h, &ada, &mut key, "Laptop").await;
        let start = begin_sign_in(&h.state).await.unwrap();
        let assertion = sign(&mut key, start.options, &id);
        h.clock.advance(CEREMONY_LIFETIME + Duration::from_secs(1));
        let late = finish_sign_in(&h.state, start.handle.expose(), &assertion, None).await;
        assert_eq!(refused(late).message(), PASSKEY_FAILURE);
    }

    #[tokio::test]
    async fn names_are_checked() {
        let h = Harness::new();
        let ada = person(&h, "ada@example.com").await;
        let empty = begin_registration(&h.state, &ada, " ").await;
        assert_eq!(refused(empty).field(), Some("name"));
        let long = begin_registration(&h.state, &ada, &"x".repeat(61)).await;
        assert_eq!(refused(long).field(), Some("name"));
        // (A stale sign-in is refused first: `passkeys::deleting_a_passkey_needs_a_recent_…`
        // in the integration tests, as `Signed` for unit tests is always recent.)
    }

    #[tokio::test]
    async fn another_persons_passkey_opens_nothing_and_deleting_is_by_owner() {
        let h = Harness::new();
        let ada = person(&h, "ada@example.com").await;
        let bob = person(&h, "bob@example.com").await;
        let mut ada_key = SoftPasskey::new(true);
        let mut bob_key = SoftPasskey::new(true);
        let ada_id = register(&h, &ada, &mut ada_key, "Ada's").await;
        register(&h, &bob, &mut bob_key, "Bob's").await;

        // Bob's second step answered with Ada's passkey.
        let due = SecondStepDue::for_tests(bob.user_id(), 0);
        let start = begin_second_step(&h.state, &due).await.unwrap();
        let stolen = sign(&mut ada_key, start.options, &ada_id);
        let outcome =
            finish_second_step(&h.state, &due, start.handle.expose(), &stolen, None).await;
        assert_eq!(refused(outcome).message(), PASSKEY_FAILURE);

        // Ada's own second step with it works.
        let due = SecondStepDue::for_tests(ada.user_id(), 0);
        let start = begin_second_step(&h.state, &due).await.unwrap();
        let mine = sign(&mut ada_key, start.options, &ada_id);
        let done = finish_second_step(&h.state, &due, start.handle.expose(), &mine, None)
            .await
            .unwrap();
        assert_eq!(done.proof, Proof::Passkey);

        // Bob cannot delete Ada's passkey; Ada can.
        let ada_passkey = list(&h.state, &ada).await.unwrap().remove(0).id;
        let outcome = delete(&h.state, &bob, &ada_passkey).await;
        assert!(matches!(refused(outcome), Refusal::NotFound("passkey")));
        delete(&h.state, &ada, &ada_passkey).await.unwrap();
        assert!(list(&h.state, &ada).await.unwrap().is_empty());
        h.settle().await;
        assert!(h
            .mails_to("ada@example.com")
            .iter()
            .any(|m| m.subject == "A passkey was removed"));
    }

    #[tokio::test]
    async fn a_passkey_is_a_second_factor_and_the_first_one_brings_recovery_codes() {
        use crate::flows::second_factors::{self, begin_enrolment, confirm_enrolment};
        use crate::flows::sign_in::{sign_in_with_password, PasswordChecked};
        let h = Harness::new();
        let ada = person(&h, "ada@example.com").await;
        assert!(!has_second_factor(&h.state, ada.user_id()).await.unwrap());

        let mut laptop = SoftPasskey::new(true);
        let (_, codes) = register_with_codes(&h, &ada, &mut laptop, "Laptop").await;
        assert_eq!(codes.len(), 10);
        assert!(has_second_factor(&h.state, ada.user_id()).await.unwrap());
        assert_eq!(
            h.store.recovery_codes_left(ada.user_id()).await.unwrap(),
            10
        );
        // The password alone no longer signs in: the second step follows.
        let checked = sign_in_with_password(
            &h.state,
            "ada@example.com",
            &Secret::new(PASSWORD.to_owned()),
            "192.0.2.1",
            None,
        )
        .await
        .unwrap();
        assert!(matches!(checked, PasswordChecked::SecondStepDue(_)));

        // A second passkey, then an authenticator app: no new codes, the old ones stay.
        let mut phone = SoftPasskey::new(true);
        let (_, more) = register_with_codes(&h, &ada, &mut phone, "Phone").await;
        assert!(more.is_empty());
        let enrolment = begin_enrolment(&h.state, &ada).await.unwrap();
        let code = enrolment.secret.code_at(h.now());
        let app_codes = confirm_enrolment(&h.state, &ada, &enrolment.sealed, &code)
            .await
            .unwrap();
        assert!(app_codes.is_empty());
        let status = second_factors::status(&h.state, &ada).await.unwrap();
        assert!(status.has_app());
        assert_eq!(status.passkeys, 2);
        assert_eq!(status.recovery_codes_left, 10);

        // Removing the app keeps the codes (passkeys remain); the last passkey takes them.
        let audit = event(ada.user_id(), "second_factor.removed", None, h.now());
        assert!(h
            .store
            .remove_totp_factor(ada.user_id(), audit)
            .await
            .unwrap());
        assert_eq!(
            h.store.recovery_codes_left(ada.user_id()).await.unwrap(),
            10
        );
        let listed = list(&h.state, &ada).await.unwrap();
        let laptop_key = listed
            .iter()
            .find(|p| p.name == "Laptop")
            .unwrap()
            .id
            .clone();
        let phone_key = listed
            .iter()
            .find(|p| p.name == "Phone")
            .unwrap()
            .id
            .clone();
        delete(&h.state, &ada, &phone_key).await.unwrap();
        assert_eq!(
            h.store.recovery_codes_left(ada.user_id()).await.unwrap(),
            10
        );
        delete(&h.state, &ada, &laptop_key).await.unwrap();
        assert_eq!(h.store.recovery_codes_left(ada.user_id()).await.unwrap(), 0);
        assert!(!has_second_factor(&h.state, ada.user_id()).await.unwrap());
    }

    #[tokio::test]
    async fn a_passkey_confirms_it_is_you_once_per_ceremony_and_only_for_its_owner() {
        let h = Harness::new();
        let ada = person(&h, "ada@example.com").await;
        let bob = person(&h, "bob@example.com").await;
        let mut key = SoftPasskey::new(true);
        let id = register(&h, &ada, &mut key, "Laptop").await;

        let start = begin_reauthentication(&h.state, &ada).await.unwrap();
        let assertion = sign(&mut key, start.options, &id);
        finish_reauthentication(&h.state, &ada, start.handle.expose(), &assertion)
            .await
            .unwrap();
        // The ceremony is spent: a replay is a failed guess against Ada.
        let replay =
            finish_reauthentication(&h.state, &ada, start.handle.expose(), &assertion).await;
        assert_eq!(refused(replay).message(), REAUTH_FAILURE);
        let user = h.store.user_by_id(ada.user_id()).await.unwrap().unwrap();
        assert_eq!(user.failed_attempts, 1);

        // Ada's ceremony and passkey confirm nobody else.
        let start = begin_reauthentication(&h.state, &ada).await.unwrap();
        let assertion = sign(&mut key, start.options, &id);
        let as_bob =
            finish_reauthentication(&h.state, &bob, start.handle.expose(), &assertion).await;
        assert_eq!(refused(as_bob).message(), REAUTH_FAILURE);
        // Bob has no passkey to start with.
        assert!(begin_reauthentication(&h.state, &bob).await.is_err());
    }

    #[tokio::test]
    async fn an_owners_reset_removes_passkeys_and_recovery_codes_too() {
        use crate::domain::roles::Role;
        use crate::flows::policy::reset_member_second_factors;
        let h = Harness::new();
        let acme = h.account("Acme");
        let owner = h.owner(&acme, "owner@acme.test");
        let dev_id = h.user_in(&acme, "dev@acme.test", Role::Member).await;
        let dev = Signed::for_tests(&dev_id, "dev@acme.test", Some(&acme));
        let mut key = SoftPasskey::new(true);
        register(&h, &dev, &mut key, "Laptop").await;
        assert_eq!(h.store.recovery_codes_left(&dev_id).await.unwrap(), 10);
        reset_member_second_factors(&h.state, &owner, &dev_id)
            .await
            .unwrap();
        assert!(list(&h.state, &dev).await.unwrap().is_empty());
        assert_eq!(h.store.recovery_codes_left(&dev_id).await.unwrap(), 0);
        assert!(!has_second_factor(&h.state, &dev_id).await.unwrap());
    }
}
