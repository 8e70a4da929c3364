//! The emails Terminus Hub sends, each with a plain-text and an HTML part.
use crate::domain::clock::Timestamp;
use crate::domain::email::EmailAddress;
use crate::ports::OutgoingEmail;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A time as people read it: "Saturday, 5 December 2026 at 01:35 UTC".
pub fn in_words(t: Timestamp) -> String {
    chrono::DateTime::from_timestamp_millis(t.millis())
        .map(|t| t.format("%A, %-d %B %Y at %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// The branded frame around every HTML part: a width-limited card on a quiet background that
/// follows the reader's dark mode, the wordmark on top, a footer that says who sent it.
const HTML_HEAD: &str = concat!(
    "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\n",
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
    "<meta name=\"color-scheme\" content=\"light dark\">\n",
    "<meta name=\"supported-color-schemes\" content=\"light dark\">\n",
    "<style>@media (prefers-color-scheme: dark) {\n",
    " .bg { background: #0f1320 !important; color: #e6e8ef !important; }\n",
    " .card { background: #171c2c !important; border-color: #2a3147 !important; }\n",
    " .muted { color: #a0a8bd !important; } }</style></head>\n",
    "<body class=\"bg\" style=\"margin:0;padding:24px 12px;background:#f5f6fa;color:#161b2e;\n",
    "font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;line-height:1.5\">\n",
    "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\"><tr>\n",
    "<td align=\"center\"><table role=\"presentation\" class=\"card\" cellpadding=\"0\" \n",
    "cellspacing=\"0\" style=\"width:100%;max-width:560px;background:#ffffff;\n",
    "border:1px solid #dde1ea;border-radius:8px\"><tr><td style=\"padding:28px 28px 20px\">\n",
    "<p style=\"margin:0 0 20px;font-weight:600;font-size:16px\">\n",
    "<span style=\"display:inline-block;width:24px;height:24px;line-height:24px;\n",
    "text-align:center;border-radius:6px;background:#2d4ae0;color:#ffffff\">T</span>\n",
    " Terminus Hub</p>\n",
);

/// Where the card of a mail ends (its footer follows).
const CARD_END: &str = "</td></tr></table>";

/// One layout for every mail: paragraphs, then a button for each link (with the link
/// written out beneath it, for mail readers that show no buttons). The text part says the
/// same, each link whole on its line ("Label: URL"), never split or encoded.
fn compose(
    to: &EmailAddress,
    subject: &str,
    paragraphs: &[String],
    links: &[(&str, &str)],
) -> OutgoingEmail {
    let mut text = String::new();
    let mut html = String::from(HTML_HEAD);
    for p in paragraphs {
        text.push_str(p);
        text.push_str("\n\n");
        html.push_str(&format!("<p style=\"margin:0 0 16px\">{}</p>\n", escape(p)));
    }
    for (label, url) in links {
        text.push_str(&format!("{label}: {url}\n\n"));
        html.push_str(&format!(
            "<p style=\"margin:24px 0 8px\"><a href=\"{u}\" style=\"display:inline-block;background:#2d4ae0;color:#ffffff;padding:10px 18px;border-radius:6px;font-weight:600;text-decoration:none\">{l}</a></p>\n<p class=\"muted\" style=\"margin:0 0 16px;font-size:13px;color:#5b6478;word-break:break-all\">Or paste this link into your browser: {u}</p>\n",
            u = escape(url),
            l = escape(label)
        ));
    }
    text.push_str("— Terminus Hub\n");
    html.push_str(CARD_END);
    html.push_str(
        "\n<p class=\"muted\" style=\"margin:16px 0 0;font-size:12px;color:#5b6478\">Sent by Terminus Hub. You get this email because of your account (or a request made with your address) on this server.</p>\n</td></tr></table></body></html>\n",
    );
    OutgoingEmail {
        to: to.clone(),
        subject: subject.to_owned(),
        text,
        html,
    }
}

/// Adds where a change was made from ("Made from 203.0.113.7 (Firefox on Linux) on
/// Saturday, …") to a security notice, as its last paragraph in both parts.
pub fn with_origin(
    mut mail: OutgoingEmail,
    ip: &str,
    device: &str,
    at: Timestamp,
) -> OutgoingEmail {
    let device = if device.is_empty() {
        String::new()
    } else {
        format!(" ({device})")
    };
    let line = format!("Made from {ip}{device} on {}.", in_words(at));
    if let Some(at) = mail.text.rfind("— Terminus Hub") {
        mail.text.insert_str(at, &format!("{line}\n\n"));
    }
    if let Some(at) = mail.html.find(CARD_END) {
        mail.html.insert_str(
            at,
            &format!("<p class=\"muted\" style=\"margin:16px 0 0;font-size:13px;color:#5b6478\">{}</p>\n", escape(&line)),
        );
    }
    mail
}

pub fn confirm_email(to: &EmailAddress, link: &str) -> OutgoingEmail {
    compose(
        to,
        "Confirm your email address",
        &[
            "Welcome to Terminus Hub. Confirm your email address to finish creating your account.".into(),
            "This link works once and expires in 24 hours. If you did not sign up, ignore this email.".into(),
        ],
        &[("Confirm email", link)],
    )
}

/// Sent instead of a confirmation when someone signs up with an email that has an account,
/// so the sign-up page never reveals which emails are registered.
pub fn sign_up_attempt_notice(
    to: &EmailAddress,
    sign_in_link: &str,
    reset_link: &str,
) -> OutgoingEmail {
    compose(
        to,
        "You already have a Terminus Hub account",
        &[
            "Someone, probably you, tried to create a Terminus Hub account with this email address. You already have one.".into(),
            "If you forgot your password, you can reset it with the second link below.".into(),
            "If this was not you, you can ignore this email: nothing has changed.".into(),
        ],
        &[("Sign in", sign_in_link), ("Reset your password", reset_link)],
    )
}

pub fn unlock_account(to: &EmailAddress, link: &str, locked_until: Timestamp) -> OutgoingEmail {
    compose(
        to,
        "Your account has been locked",
        &[
            "There were too many failed attempts to sign in to your Terminus Hub account, so we locked it for 10 minutes.".into(),
            format!(
                "It unlocks by itself on {}, or right away with the link below. The link works once and expires in 24 hours.",
                in_words(locked_until)
            ),
            "If these attempts were not yours, consider resetting your password.".into(),
        ],
        &[("Unlock account", link)],
    )
}

pub fn reset_password(to: &EmailAddress, link: &str) -> OutgoingEmail {
    compose(
        to,
        "Reset your password",
        &[
            "We received a request to reset the password of your Terminus Hub account.".into(),
            "This link works once and expires in 1 hour. If you did not ask for it, ignore this email: your password stays the same.".into(),
        ],
        &[("Choose a new password", link)],
    )
}

pub fn password_changed(to: &EmailAddress, reset_link: &str) -> OutgoingEmail {
    compose(
        to,
        "Your password was changed",
        &[
            "The password of your Terminus Hub account was just changed, and every other session was signed out.".into(),
            "If this was not you, reset your password now.".into(),
        ],
        &[("Reset your password", reset_link)],
    )
}

/// To the new address a signed-in person asked to use: the link that confirms it.
pub fn confirm_new_email(to: &EmailAddress, old: &EmailAddress, link: &str) -> OutgoingEmail {
    compose(
        to,
        "Confirm your new email address",
        &[
            format!("Someone signed in to Terminus Hub as {old} asked to use this address for their account instead."),
            "If that was you, confirm it with the link below. It works once and expires in 24 hours. If it was not you, ignore this email: nothing changes.".into(),
        ],
        &[("Use this address", link)],
    )
}

/// Sent instead of the link when the new address already has an account, so the Security
/// page never reveals which addresses are registered.
pub fn email_change_attempt_notice(to: &EmailAddress) -> OutgoingEmail {
    compose(
        to,
        "Someone tried to use your email address",
        &[
            "Someone signed in to Terminus Hub asked to move their account to this address. This address already has an account, so nothing changed.".into(),
            "If this was you, sign in with this address instead. Otherwise you can ignore this email.".into(),
        ],
        &[],
    )
}

/// To the old address once the change is done.
pub fn email_changed(to: &EmailAddress, new: &EmailAddress) -> OutgoingEmail {
    compose(
        to,
        "Your email address was changed",
        &[
            format!("The email address of your Terminus Hub account was changed to {new}. From now on you sign in, and we write to you, there."),
            "If this was not you, someone else can sign in to your account: ask the operator of this Terminus Hub server to restore your address, and reset your password once it is back.".into(),
        ],
        &[],
    )
}

/// Two-factor authentication was turned on.
pub fn second_factor_added(to: &EmailAddress, security_link: &str) -> OutgoingEmail {
    compose(
        to,
        "Two-factor authentication was turned on",
        &[
            "An authenticator app was just added to your Terminus Hub account: signing in with your password now also asks for a code from it, or for one of your recovery codes.".into(),
            "If this was not you, someone else knows your password: reset it now and remove the authenticator app on your Security page.".into(),
        ],
        &[("Review your security settings", security_link)],
    )
}

/// Two-factor authentication was turned off.
pub fn second_factor_removed(to: &EmailAddress, security_link: &str) -> OutgoingEmail {
    compose(
        to,
        "Two-factor authentication was turned off",
        &[
            "The authenticator app of your Terminus Hub account was just removed.".into(),
            "If this was not you, reset your password now and turn two-factor authentication on again.".into(),
        ],
        &[("Review your security settings", security_link)],
    )
}

/// A passkey was added.
pub fn passkey_added(to: &EmailAddress, name: &str, security_link: &str) -> OutgoingEmail {
    compose(
        to,
        "A passkey was added",
        &[
            format!("A passkey named \"{name}\" was just added to your Terminus Hub account: it can now sign you in."),
            "If this was not you, delete it on your Security page and reset your password now.".into(),
        ],
        &[("Review your passkeys", security_link)],
    )
}

/// A passkey was deleted.
pub fn passkey_removed(to: &EmailAddress, name: &str, security_link: &str) -> OutgoingEmail {
    compose(
        to,
        "A passkey was removed",
        &[
            format!("The passkey named \"{name}\" was just removed from your Terminus Hub account: it no longer signs you in."),
            "If this was not you, reset your password now and review your security settings.".into(),
        ],
        &[("Review your passkeys", security_link)],
    )
}

/// New recovery codes replaced the old ones.
pub fn recovery_codes_regenerated(to: &EmailAddress, security_link: &str) -> OutgoingEmail {
    compose(
        to,
        "Your recovery codes were replaced",
        &[
            "New recovery codes were just made for your Terminus Hub account; the old ones no longer work.".into(),
            "If this was not you, reset your password now and review your security settings.".into(),
        ],
        &[("Review your security settings", security_link)],
    )
}

/// An API key was created, mailed to the person who created it: the account and the key's
/// names (quoted, as typed by a person), never the key.
pub fn api_key_created(
    to: &EmailAddress,
    account_name: &str,
    key_name: &str,
    keys_link: &str,
) -> OutgoingEmail {
    compose(
        to,
        "An API key was created",
        &[
            "An API key was just created with your Terminus Hub sign-in.".into(),
            format!("The account's name: \"{account_name}\". The key's name: \"{key_name}\"."),
            "If this was not you, delete the key on the account's API keys page, reset your password and review your Security page.".into(),
        ],
        &[("Review the API keys", keys_link)],
    )
}

/// To an owner or admin: keys of their account were reported as leaked and revoked (each
/// named by its name and hint, never the key).
pub fn api_keys_reported(
    to: &EmailAddress,
    account_name: &str,
    keys: &[(String, String)],
    keys_link: &str,
) -> OutgoingEmail {
    let named: Vec<String> = keys
        .iter()
        .map(|(name, hint)| format!("\"{name}\" ({hint}…)"))
        .collect();
    compose(
        to,
        "An API key was reported as leaked and revoked",
        &[
            format!(
                "Someone reported API keys of the account \"{account_name}\" as published where others can see them (for example by a secret-scanning service that found them in public code)."
            ),
            format!("Revoked, and refused from now on: {}.", named.join(", ")),
            "Scripts that used them stop working. Create a new key on the account's API keys page, put it where the old one was, and find out how the old one came to be public.".into(),
        ],
        &[("Open the API keys", keys_link)],
    )
}

/// A sign-in from a device not seen before for this person, with the one-click "This wasn't
/// me" link.
pub fn new_device_sign_in(
    to: &EmailAddress,
    device: &str,
    ip: &str,
    at: Timestamp,
    not_me_link: &str,
) -> OutgoingEmail {
    compose(
        to,
        "A new sign-in to your Terminus Hub account",
        &[
            "Your Terminus Hub account was just signed in to from a device we have not seen you use before.".into(),
            format!("Device: {device}. IP address: {ip}. Time: {}.", in_words(at)),
            "If this was you, there is nothing to do.".into(),
            "If it was not you, open the link below: it signs out every session, stops password sign-in until you reset your password, and mails you a reset link. It works once, for 7 days.".into(),
        ],
        &[("This wasn't me", not_me_link)],
    )
}

/// An owner of an account reset this person's second factors.
pub fn second_factors_reset(
    to: &EmailAddress,
    owner_email: &str,
    account_name: &str,
    security_link: &str,
) -> OutgoingEmail {
    compose(
        to,
        "Your two-factor authentication was reset",
        &[
            format!("{owner_email}, an owner of the account whose name they wrote as \"{account_name}\", just removed your authenticator app, passkeys and recovery codes."),
            "Signing in now takes your password only. If that account requires two-factor authentication, you will be asked to set it up again when you next enter it.".into(),
        ],
        &[("Review your security settings", security_link)],
    )
}

/// An invitation. The account's name is chosen by whoever created the account, so it never
/// goes into the subject, and in the body it is quoted text beside the inviter's address
/// (the one thing the recipient can check), never a link or a sentence of its own.
pub fn invitation(
    to: &EmailAddress,
    account_name: &str,
    inviter: &str,
    role: &str,
    link: &str,
) -> OutgoingEmail {
    compose(
        to,
        "You are invited to an account on Terminus Hub",
        &[
            format!("{inviter} invited you to join an account on Terminus Hub as {role}."),
            format!("The account's name, as {inviter} wrote it: \"{}\"", quoted(account_name)),
            "Open the link to accept. It works once and expires in 7 days. If you do not know the person who invited you, ignore this email.".into(),
        ],
        &[("Accept invitation", link)],
    )
}

/// User-chosen text as it appears inside quotes in a mail: one line, its own quotes turned
/// into apostrophes, so it cannot end the quote or start a paragraph of its own.
fn quoted(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// The operator's test mail (`terminus-hub mail test ADDRESS`): proof that mail gets through.
pub fn test_mail(to: &EmailAddress, public_url: &str) -> OutgoingEmail {
    compose(
        to,
        "Terminus Hub test mail",
        &[
            "This is a test mail, sent with `terminus-hub mail test`. If you are reading it, Terminus Hub can send you mail.".into(),
            "Nothing needs doing.".into(),
        ],
        &[("Terminus Hub", public_url)],
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_invitation_keeps_the_account_name_out_of_the_subject_and_quotes_it() {
        let to = EmailAddress::parse("a@example.com").unwrap();
        let m = invitation(
            &to,
            "Spam \" visit http://phish.example/login",
            "owner@example.com",
            "member",
            "http://h/invite?token=abc",
        );
        assert_eq!(m.subject, "You are invited to an account on Terminus Hub");
        assert!(m.text.contains(
            "as owner@example.com wrote it: \"Spam ' visit http://phish.example/login\""
        ));
        assert!(m.html.contains("&quot;Spam ' visit"), "{}", m.html);
    }

    #[test]
    fn times_read_as_words_in_utc() {
        // 2026-12-05T01:35:00Z
        assert_eq!(
            in_words(Timestamp(1_796_434_500_000)),
            "Saturday, 5 December 2026 at 01:35 UTC"
        );
    }

    #[test]
    fn every_link_is_a_button_and_written_out_whole_in_both_parts() {
        let to = EmailAddress::parse("a@example.com").unwrap();
        let m = sign_up_attempt_notice(&to, "http://h/sign-in", "http://h/forgot");
        for link in ["http://h/sign-in", "http://h/forgot"] {
            assert!(m.text.contains(&format!(": {link}\n")), "{}", m.text);
            assert!(
                m.html.contains(&format!("<a href=\"{link}\"")),
                "{}",
                m.html
            );
        }
        assert!(m.html.contains("max-width:560px") && m.html.contains("prefers-color-scheme"));
        // Short lines: the part goes out as 8-bit text, readable with `cat` in the outbox.
        assert!(m.html.lines().all(|l| l.len() <= 998));
    }

    #[test]
    fn a_notice_says_where_the_change_was_made_from() {
        let to = EmailAddress::parse("a@example.com").unwrap();
        let m = with_origin(
            password_changed(&to, "http://h/forgot"),
            "203.0.113.7",
            "Firefox on Linux",
            Timestamp(1_796_434_500_000),
        );
        let line =
            "Made from 203.0.113.7 (Firefox on Linux) on Saturday, 5 December 2026 at 01:35 UTC.";
        assert!(
            m.text.contains(&format!("{line}\n\n— Terminus Hub")),
            "{}",
            m.text
        );
        let card = m.html.find("</td></tr></table>").unwrap();
        assert!(m.html[..card].contains(line), "inside the card: {}", m.html);
    }

    #[test]
    fn both_parts_carry_the_link() {
        let to = EmailAddress::parse("a@example.com").unwrap();
        let m = confirm_email(&to, "http://h/confirm?token=abc");
        assert!(m.text.contains("http://h/confirm?token=abc"));
        assert!(m.html.contains("href=\"http://h/confirm?token=abc\""));
        assert!(
            !format!("{m:?}").contains("token"),
            "Debug must not show links"
        );
    }
}
