//! Sign-ins from new devices: each sign-in records its (device cookie, network) pair for the
//! person, and a pair never seen for them mails a notice (device, IP, time) with a one-click
//! "This wasn't me" link. Using that link ends every session of the person, blocks password
//! sign-in until a password reset, and mails the reset link.
use crate::auth::Device;
use crate::domain::audit::AuditEvent;
use crate::domain::devices::{device_hash, network, NOT_ME_LIFETIME};
use crate::domain::ids::UserId;
use crate::domain::sessions::device_label;
use crate::domain::tokens::{new_link_token, TokenPurpose};
use crate::flows::mail::{self, MailKind};
use crate::flows::tokens::issue_link;
use crate::flows::{FlowError, Outcome, Refusal};
use crate::{mails, paths, AppState};

/// Whether a sign-in from a device not seen before mails a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// Every sign-in but the first.
    Send,
    /// The first sign-in of a new person (the confirmation page, an invitation's new user):
    /// the device is recorded, nobody is told.
    RecordOnly,
}

/// What a dead "This wasn't me" link says.
pub const DEAD_NOT_ME_LINK: &str =
    "This link is invalid, has expired or was already used. If someone else is using your account, reset your password.";

/// What the page says once the link was used.
pub const DISOWNED: &str = "Done: every session of your account has ended and signing in with your password is blocked until you reset it. We sent you a link to choose a new password.";

/// Records that `user_id` signed in from `device_id` (the raw value of the device cookie)
/// and `device`, and (with [`Notice::Send`]) mails them when that device on that network was
/// never seen for them: the mail takes the slot first, so a throttled notice stores no link.
/// Answers whether a notice was mailed.
pub async fn signed_in_from(
    state: &AppState,
    user_id: &UserId,
    device_id: &str,
    device: &Device,
    notice: Notice,
) -> Result<bool, FlowError> {
    let Some(hash) = device_hash(device_id) else {
        return Ok(false);
    };
    let ip = device.ip().unwrap_or("unknown");
    let now = state.clock.now();
    let new = state
        .store
        .remember_device(user_id, &hash, &network(ip), now)
        .await?;
    if !new || notice == Notice::RecordOnly {
        return Ok(false);
    }
    let Some(user) = state.store.user_by_id(user_id).await? else {
        return Ok(false);
    };
    if !mail::take_slot(state, MailKind::NewDeviceSignIn, &user.email).await? {
        tracing::info!(
            "new-device notice not sent: one was sent to this address within the interval"
        );
        return Ok(false);
    }
    let (raw, token_hash) = new_link_token();
    state
        .store
        .put_sign_in_notice(user_id, &token_hash, now.plus(NOT_ME_LIFETIME), now)
        .await?;
    let link = state.config.link(&paths::with_token(
        paths::link_page(TokenPurpose::SignInNotice),
        raw.expose(),
    ));
    let label = device
        .user_agent()
        .map_or_else(|| "Unknown device".to_owned(), device_label);
    state.send_mail_later(mails::new_device_sign_in(
        &user.email,
        &label,
        ip,
        now,
        &link,
    ));
    Ok(true)
}

/// Whether a "This wasn't me" link can still be used (to show its page; opening it changes
/// nothing).
pub async fn not_me_link_is_live(state: &AppState, token_hash: &str) -> Result<bool, FlowError> {
    Ok(state
        .store
        .sign_in_notice(token_hash, state.clock.now())
        .await?
        .is_some())
}

/// "This wasn't me": uses the link and, in one transaction, ends every session of its person,
/// blocks their password sign-in until a reset and writes the audit event; then mails them a
/// reset link (throttled like every mail). Refused when the link is dead.
pub async fn disown_sign_in(state: &AppState, token_hash: &str) -> Outcome<()> {
    let now = state.clock.now();
    let dead = || Refusal::conflict("link_dead", DEAD_NOT_ME_LINK);
    let Some(user_id) = state.store.sign_in_notice(token_hash, now).await? else {
        return Err(dead().into());
    };
    let audit = AuditEvent {
        account_id: None,
        actor_user_id: Some(user_id.clone()),
        action: "sign_in.disowned".into(),
        detail: Some("sessions ended, password sign-in blocked until a reset".into()),
        at: now,
    };
    if !state
        .store
        .disown_sign_in(token_hash, &user_id, now, audit)
        .await?
    {
        return Err(dead().into());
    }
    if let Some(user) = state.store.user_by_id(&user_id).await? {
        if mail::take_slot(state, MailKind::Reset, &user.email).await? {
            let link = issue_link(state, &user_id, TokenPurpose::Reset).await?;
            state.send_mail_later(mails::reset_password(&user.email, &link));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::devices::new_device_id;
    use crate::domain::secret::Secret;
    use crate::flows::sign_in::{sign_in_with_password, GENERIC_FAILURE};
    use crate::ports::prelude::*;
    use crate::testing::{link_token, refused, Harness, PASSWORD};

    const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";

    fn device(ip: &str) -> Device {
        Device::new(Some(FIREFOX), ip)
    }

    async fn sign_in(h: &Harness, user: &UserId, cookie: &Secret, ip: &str) -> bool {
        signed_in_from(&h.state, user, cookie.expose(), &device(ip), Notice::Send)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_new_device_or_network_is_mailed_a_known_one_is_not() {
        let h = Harness::with_config(|c| c.mail_interval = std::time::Duration::ZERO);
        let (ada, _) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        let browser = new_device_id();
        assert!(sign_in(&h, &ada, &browser, "203.0.113.7").await);
        assert!(
            !sign_in(&h, &ada, &browser, "203.0.113.99").await,
            "same /24"
        );
        assert!(sign_in(&h, &ada, &browser, "198.51.100.7").await, "new /24");
        assert!(
            sign_in(&h, &ada, &new_device_id(), "203.0.113.7").await,
            "new browser"
        );
        // The same browser is new for another person.
        let (bob, _) = h.signed_up("bob@example.com", Some(PASSWORD)).await;
        assert!(sign_in(&h, &bob, &browser, "203.0.113.7").await);
        // A forged cookie is no device: nothing is recorded or mailed.
        assert!(!sign_in(&h, &ada, &Secret::new("forged"), "192.0.2.1").await);
        h.settle().await;
        let mails = h.mails_to("ada@example.com");
        assert_eq!(mails.len(), 3);
        assert_eq!(
            mails[0].subject,
            "A new sign-in to your Terminus Hub account"
        );
        assert!(
            mails[0].text.contains("Firefox on Linux"),
            "{}",
            mails[0].text
        );
        assert!(mails[0].text.contains("203.0.113.7"));
        assert!(mails[0].text.contains("http://hub.test/not-me?token="));
        assert!(
            !mails[0].text.contains(browser.expose()),
            "the cookie is never mailed"
        );
    }

    #[tokio::test]
    async fn the_first_sign_in_records_the_device_without_a_notice() {
        let h = Harness::new();
        let (ada, _) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        let browser = new_device_id();
        let first = signed_in_from(
            &h.state,
            &ada,
            browser.expose(),
            &device("203.0.113.7"),
            Notice::RecordOnly,
        )
        .await
        .unwrap();
        assert!(!first);
        assert!(
            !sign_in(&h, &ada, &browser, "203.0.113.7").await,
            "known now"
        );
        h.settle().await;
        assert!(h.mails_to("ada@example.com").is_empty());
    }

    #[tokio::test]
    async fn notices_are_throttled_and_a_throttled_one_stores_no_link() {
        let h = Harness::new();
        let (ada, _) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        assert!(sign_in(&h, &ada, &new_device_id(), "203.0.113.7").await);
        assert!(!sign_in(&h, &ada, &new_device_id(), "203.0.113.7").await);
        h.settle().await;
        assert_eq!(h.mails_to("ada@example.com").len(), 1);
    }

    #[tokio::test]
    async fn this_wasn_t_me_ends_sessions_blocks_the_password_and_mails_a_reset() {
        let h = Harness::new();
        let (ada, _) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        h.store.add_session(&ada, None, "password");
        h.store.add_session(&ada, None, "sso");
        assert!(sign_in(&h, &ada, &new_device_id(), "203.0.113.7").await);
        h.settle().await;
        let notice = h.mails_to("ada@example.com").remove(0);
        let hash = link_token(&notice);
        assert!(not_me_link_is_live(&h.state, &hash).await.unwrap());
        let epoch = h
            .store
            .user_by_id(&ada)
            .await
            .unwrap()
            .unwrap()
            .session_epoch;

        disown_sign_in(&h.state, &hash).await.unwrap();
        assert!(h.store.sessions().is_empty(), "every session ended");
        let user = h.store.user_by_id(&ada).await.unwrap().unwrap();
        assert_eq!(user.session_epoch, epoch + 1);
        assert!(h.store.password_blocked(&ada).await.unwrap());
        assert!(h
            .store
            .audit_actions()
            .contains(&"sign_in.disowned".to_owned()));
        // The right password gets the one generic message while blocked.
        let blocked = sign_in_with_password(
            &h.state,
            "ada@example.com",
            &Secret::new(PASSWORD),
            "203.0.113.7",
            None,
        )
        .await;
        assert_eq!(refused(blocked).message(), GENERIC_FAILURE);
        // Single use.
        assert!(!not_me_link_is_live(&h.state, &hash).await.unwrap());
        let again = refused(disown_sign_in(&h.state, &hash).await);
        assert_eq!(again.message(), DEAD_NOT_ME_LINK);
        // The reset mail came; a reset lifts the block.
        h.settle().await;
        let mails = h.mails_to("ada@example.com");
        let reset = mails
            .iter()
            .find(|m| m.subject == mails::reset_password(&user.email, "x").subject)
            .expect("a reset mail");
        let new_password = "a brand new passphrase 42";
        crate::flows::recovery::reset_password(
            &h.state,
            &link_token(reset),
            &Secret::new(new_password),
        )
        .await
        .unwrap();
        assert!(!h.store.password_blocked(&ada).await.unwrap());
        sign_in_with_password(
            &h.state,
            "ada@example.com",
            &Secret::new(new_password),
            "203.0.113.7",
            None,
        )
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn a_junk_or_expired_link_changes_nothing() {
        let h = Harness::new();
        let (ada, _) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        assert!(sign_in(&h, &ada, &new_device_id(), "203.0.113.7").await);
        h.settle().await;
        let hash = link_token(&h.mails_to("ada@example.com")[0]);
        refused(disown_sign_in(&h.state, "not a hash").await);
        h.advance(NOT_ME_LIFETIME);
        assert!(!not_me_link_is_live(&h.state, &hash).await.unwrap());
        refused(disown_sign_in(&h.state, &hash).await);
        assert!(!h.store.password_blocked(&ada).await.unwrap());
    }
}
