//! An account's two-factor policy: its owners can require a second factor of every member.
//! A member without one is sent to enrol before entering the account; people who signed in
//! through single sign-on are exempt (their provider handles second factors).
use super::refusal::Refusal;

/// The refusal's stable code; the REST API answers it as 403 `permission_error`.
pub const CODE: &str = "second_factor_required";

/// What a member who must enrol first is told.
pub const MESSAGE: &str =
    "This account requires two-factor authentication. Set it up here to continue.";

/// Whether someone must enrol a second factor before entering an account: it requires one,
/// they signed in with a password (not through single sign-on) and have none.
pub fn must_enrol(
    account_requires: bool,
    signed_in_through_sso: bool,
    has_second_factor: bool,
) -> bool {
    account_requires && !signed_in_through_sso && !has_second_factor
}

/// The one refusal of a member who must enrol first.
pub fn required() -> Refusal {
    Refusal::not_allowed(CODE, MESSAGE)
}

/// Whether `refusal` is [`required`]: the web answers it with the two-factor page.
pub fn is_required(refusal: &Refusal) -> bool {
    matches!(refusal, Refusal::NotAllowed { code, .. } if *code == CODE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_password_sign_in_without_a_factor_in_a_requiring_account_must_enrol() {
        assert!(must_enrol(true, false, false));
        assert!(!must_enrol(true, false, true), "has one");
        assert!(!must_enrol(true, true, false), "single sign-on is exempt");
        assert!(!must_enrol(false, false, false), "not required");
        assert!(is_required(&required()));
        assert!(!is_required(&Refusal::admins_only()));
    }
}
