//! Every address of the web app, named once: the router, redirects, links and forms use these
//! (the server functions' own addresses are their `PATH`s, under `/_fn`).

use crate::domain::ids::{ApiKeyId, ConnectionId, RecordId, UserId, WorkspaceId};
use crate::domain::tokens::TokenPurpose;

pub const ROOT: &str = "/";
pub const SIGN_IN: &str = "/sign-in";
pub const SIGN_IN_PASSWORD: &str = "/sign-in/password";
pub const SIGN_IN_DIRECT: &str = "/sign-in/direct";
pub const SIGN_UP: &str = "/sign-up";
pub const CHECK_EMAIL: &str = "/check-email";
pub const RESEND_CONFIRMATION: &str = "/resend-confirmation";
pub const CONFIRM: &str = "/confirm";
pub const FORGOT: &str = "/forgot";
pub const FORGOT_SENT: &str = "/forgot/sent";
pub const RESET: &str = "/reset";
pub const UNLOCK: &str = "/unlock";
pub const INVITE: &str = "/invite";
/// Behind the link that confirms a new email address for an account.
pub const EMAIL_CHANGE: &str = "/confirm-email-change";
/// Behind the "This wasn't me" link of a new-device notice.
pub const NOT_ME: &str = "/not-me";
pub const HOME: &str = "/home";
pub const ACCOUNTS: &str = "/accounts";
/// One workspace of the current account, with its records (see [`workspace`]).
pub const WORKSPACE: &str = "/workspaces/{id}";
/// The confirmation page for deleting workspace `{id}` (see [`workspace_deletion`]).
pub const WORKSPACE_DELETION: &str = "/workspaces/{id}/delete";
/// One record, to read and edit (see [`record`]).
pub const RECORD: &str = "/records/{id}";
/// The current account's settings (every member; renaming for owners and admins).
pub const ACCOUNT_SETTINGS: &str = "/settings/account";
pub const MEMBERS: &str = "/settings/members";
/// The confirmation page for removing `{user_id}` (see [`member_removal`]).
pub const MEMBER_REMOVAL: &str = "/settings/members/{user_id}/remove";
pub const ACTIVITY: &str = "/settings/activity";
pub const SSO: &str = "/settings/sso";
/// The confirmation page for enforcing connection `{id}` (see [`sso_enforcement`]).
pub const SSO_ENFORCEMENT: &str = "/settings/sso/{id}/enforce";
pub const DOMAINS: &str = "/settings/domains";
pub const API_KEYS: &str = "/settings/api-keys";
/// The confirmation page for deleting key `{id}` (see [`api_key_deletion`]).
pub const API_KEY_DELETION: &str = "/settings/api-keys/{id}/delete";
/// Rolling key `{id}`: the form (how long the old key keeps working), and its post, which
/// answers with the new key, once (see [`api_key_roll`]).
pub const API_KEY_ROLL: &str = "/settings/api-keys/{id}/roll";
pub const OIDC_CALLBACK: &str = "/auth/oidc/callback";
/// "Confirm it's you": a sign-in again before a sensitive change.
pub const REAUTHENTICATE: &str = "/reauthenticate";
/// The signed-in person's own security settings (not the account's).
pub const SECURITY: &str = "/settings/security";
/// Changing one's email (a link to the new address confirms it).
pub const SECURITY_EMAIL: &str = "/settings/security/email";
/// Enrolling and removing an authenticator app (TOTP), and the recovery codes.
pub const SECURITY_TWO_FACTOR: &str = "/settings/security/two-factor";
/// The recovery codes a first passkey brought, shown once.
pub const SECURITY_NEW_RECOVERY_CODES: &str = "/settings/security/two-factor/recovery-codes";
/// The second step of a password sign-in, for a person with a second factor.
pub const SIGN_IN_SECOND_FACTOR: &str = "/sign-in/second-factor";
/// The stylesheet and the static files (served from `style/` and `public/`).
pub const STYLESHEET: &str = "/style/main.css";
pub const FAVICON: &str = "/public/favicon.svg";
pub const COPY_SCRIPT: &str = "/public/copy.js";
/// The passkey script (registration, sign-in from the email field, the second step).
pub const PASSKEYS_SCRIPT: &str = "/public/passkeys.js";
/// The passkey ceremonies' JSON endpoints (`…/options` starts one, `…/finish` ends it).
pub const PASSKEY_REGISTER_OPTIONS: &str = "/auth/passkey/register/options";
pub const PASSKEY_REGISTER_FINISH: &str = "/auth/passkey/register/finish";
pub const PASSKEY_SIGN_IN_OPTIONS: &str = "/auth/passkey/sign-in/options";
pub const PASSKEY_SIGN_IN_FINISH: &str = "/auth/passkey/sign-in/finish";
pub const PASSKEY_SECOND_STEP_OPTIONS: &str = "/auth/passkey/second-step/options";
pub const PASSKEY_SECOND_STEP_FINISH: &str = "/auth/passkey/second-step/finish";
pub const PASSKEY_REAUTH_OPTIONS: &str = "/auth/passkey/reauthenticate/options";
pub const PASSKEY_REAUTH_FINISH: &str = "/auth/passkey/reauthenticate/finish";

/// [`MEMBER_REMOVAL`] for one member.
pub fn member_removal(user_id: &UserId) -> String {
    MEMBER_REMOVAL.replace("{user_id}", user_id.as_str())
}

/// [`SSO_ENFORCEMENT`] for one connection.
pub fn sso_enforcement(id: &ConnectionId) -> String {
    SSO_ENFORCEMENT.replace("{id}", id.as_str())
}

/// [`WORKSPACE`] for one workspace.
pub fn workspace(id: &WorkspaceId) -> String {
    WORKSPACE.replace("{id}", id.as_str())
}

/// [`WORKSPACE_DELETION`] for one workspace.
pub fn workspace_deletion(id: &WorkspaceId) -> String {
    WORKSPACE_DELETION.replace("{id}", id.as_str())
}

/// [`RECORD`] for one record.
pub fn record(id: &RecordId) -> String {
    RECORD.replace("{id}", id.as_str())
}

/// [`API_KEY_DELETION`] for one key.
pub fn api_key_deletion(id: &ApiKeyId) -> String {
    API_KEY_DELETION.replace("{id}", id.as_str())
}

/// [`API_KEY_ROLL`] for one key.
pub fn api_key_roll(id: &ApiKeyId) -> String {
    API_KEY_ROLL.replace("{id}", id.as_str())
}

/// The page an emailed link of `purpose` opens.
pub fn link_page(purpose: TokenPurpose) -> &'static str {
    match purpose {
        TokenPurpose::Confirm => CONFIRM,
        TokenPurpose::Reset => RESET,
        TokenPurpose::Unlock => UNLOCK,
        TokenPurpose::Invite => INVITE,
        TokenPurpose::EmailChange => EMAIL_CHANGE,
        TokenPurpose::SignInNotice => NOT_ME,
    }
}

/// `page` carrying a link's one-time token (`page?token=…`).
pub fn with_token(page: &str, token: &str) -> String {
    format!("{page}?token={token}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_fill_in_their_id() {
        assert_eq!(
            member_removal(&UserId::from_stored("usr_1")),
            "/settings/members/usr_1/remove"
        );
        assert_eq!(
            sso_enforcement(&ConnectionId::from_stored("sso_1")),
            "/settings/sso/sso_1/enforce"
        );
        assert_eq!(
            api_key_deletion(&ApiKeyId::from_stored("key_1")),
            "/settings/api-keys/key_1/delete"
        );
    }
}
