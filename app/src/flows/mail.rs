//! Every mail a flow sends goes through here: at most one mail of a kind to one mailbox per
//! interval (a minute by default), so no flow can be used to flood someone's mailbox. The
//! mailbox is the address with sub-addressing folded (`a+1@d` and `a+2@d` share `a@d`'s
//! slot), so spelling one mailbox many ways gets no more mail through.
use crate::domain::email::EmailAddress;
use crate::flows::FlowError;
use crate::mails;
use crate::ports::OutgoingEmail;
use crate::AppState;

/// What a mail is about; each kind has its own per-recipient slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    Confirm,
    SignUpNotice,
    Reset,
    Unlock,
    PasswordChanged,
    Invitation,
    /// The link to a new address, or (when it has an account) a notice instead.
    EmailChange,
    /// To the old address, once the change is done.
    EmailChanged,
    SecondFactorAdded,
    SecondFactorRemoved,
    RecoveryCodesRegenerated,
    PasskeyAdded,
    PasskeyRemoved,
    /// To the person who created an API key.
    ApiKeyCreated,
    /// To the owners and admins of an account one of whose keys was reported as leaked.
    ApiKeyReported,
    /// A sign-in from a device not seen before for this person.
    NewDeviceSignIn,
    /// An owner reset this person's second factors.
    SecondFactorsReset,
}

impl MailKind {
    /// A notice of a change to someone's security, which says where the change was made from.
    fn is_security_notice(self) -> bool {
        matches!(
            self,
            MailKind::PasswordChanged
                | MailKind::EmailChanged
                | MailKind::SecondFactorAdded
                | MailKind::SecondFactorRemoved
                | MailKind::RecoveryCodesRegenerated
                | MailKind::PasskeyAdded
                | MailKind::PasskeyRemoved
                | MailKind::ApiKeyCreated
        )
    }

    fn as_str(self) -> &'static str {
        match self {
            MailKind::Confirm => "confirm",
            MailKind::SignUpNotice => "sign-up-notice",
            MailKind::Reset => "reset",
            MailKind::Unlock => "unlock",
            MailKind::PasswordChanged => "password-changed",
            MailKind::Invitation => "invite",
            MailKind::EmailChange => "email-change",
            MailKind::EmailChanged => "email-changed",
            MailKind::SecondFactorAdded => "second-factor-added",
            MailKind::SecondFactorRemoved => "second-factor-removed",
            MailKind::RecoveryCodesRegenerated => "recovery-codes-regenerated",
            MailKind::PasskeyAdded => "passkey-added",
            MailKind::PasskeyRemoved => "passkey-removed",
            MailKind::ApiKeyCreated => "api-key-created",
            MailKind::ApiKeyReported => "api-key-reported",
            MailKind::NewDeviceSignIn => "new-device-sign-in",
            MailKind::SecondFactorsReset => "second-factors-reset",
        }
    }
}

/// Takes the slot for a mail of `kind` to `to`'s mailbox: true when none was sent within the
/// interval.
pub async fn take_slot(
    state: &AppState,
    kind: MailKind,
    to: &EmailAddress,
) -> Result<bool, FlowError> {
    let key = format!("{}:{}", kind.as_str(), to.mailbox_key());
    Ok(state
        .store
        .take_mail_slot(&key, state.clock.now(), state.config.mail_interval)
        .await?)
}

/// Sends `mail` (in the background) if its slot is free; true when it was sent.
pub async fn send_throttled(
    state: &AppState,
    kind: MailKind,
    mail: OutgoingEmail,
) -> Result<bool, FlowError> {
    if !take_slot(state, kind, &mail.to).await? {
        tracing::info!(
            kind = kind.as_str(),
            "mail not sent: one was sent to this address within the interval"
        );
        return Ok(false);
    }
    let mail = match (kind.is_security_notice(), crate::web::request::client_ip()) {
        (true, Some(ip)) => {
            let device = crate::web::request::device().unwrap_or_default();
            mails::with_origin(mail, &ip, &device, state.clock.now())
        }
        _ => mail,
    };
    state.send_mail_later(mail);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::testing::Harness;

    fn email(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }

    #[tokio::test]
    async fn one_mail_of_a_kind_a_minute_per_mailbox() {
        let h = Harness::new();
        let ada = email("ada@example.com");
        assert!(take_slot(&h.state, MailKind::Reset, &ada).await.unwrap());
        assert!(!take_slot(&h.state, MailKind::Reset, &ada).await.unwrap());
        // Another spelling of the mailbox shares its slot; another kind has its own.
        let tagged = email("ada+spam@example.com");
        assert!(!take_slot(&h.state, MailKind::Reset, &tagged).await.unwrap());
        assert!(take_slot(&h.state, MailKind::Unlock, &ada).await.unwrap());
        assert!(
            take_slot(&h.state, MailKind::Reset, &email("bob@example.com"))
                .await
                .unwrap()
        );
        h.advance(h.state.config.mail_interval - Duration::from_secs(1));
        assert!(!take_slot(&h.state, MailKind::Reset, &ada).await.unwrap());
        h.advance(Duration::from_secs(1));
        assert!(take_slot(&h.state, MailKind::Reset, &ada).await.unwrap());
    }

    #[tokio::test]
    async fn a_throttled_mail_is_not_sent() {
        let h = Harness::new();
        let to = email("ada@example.com");
        let mail = || crate::mails::password_changed(&to, "http://hub.test/forgot");
        assert!(send_throttled(&h.state, MailKind::PasswordChanged, mail())
            .await
            .unwrap());
        assert!(!send_throttled(&h.state, MailKind::PasswordChanged, mail())
            .await
            .unwrap());
        h.settle().await;
        assert_eq!(h.mails_to("ada@example.com").len(), 1);
    }
}
