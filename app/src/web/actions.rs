//! The server functions the pages' forms post to (under `/_fn`). Each validates, runs a flow,
//! keeps the outcome in the session (a flash) and answers 303 to the next page.
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use server::*;

#[server(prefix = "/_fn", endpoint = "sign_up")]
pub async fn sign_up(email: String, password: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_sign_up(&ctx, email, Secret::new(password)).await;
    ctx.finish(result, "/sign-up").await
}

/// "Resend the confirmation email": for the address typed on `/resend-confirmation`, or
/// the one this browser just signed up with (the button on "check your email").
#[server(prefix = "/_fn", endpoint = "resend_confirmation")]
pub async fn resend_confirmation(#[server(default)] email: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_resend(&ctx, email).await;
    ctx.finish(result, "/check-email").await
}

#[server(prefix = "/_fn", endpoint = "sign_in_email")]
pub async fn sign_in_email(email: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_sign_in_email(&ctx, email).await;
    ctx.finish(result, "/sign-in").await
}

/// "Continue with SSO" on the password step of a claimed (not enforced) domain.
#[server(prefix = "/_fn", endpoint = "start_sso")]
pub async fn start_sso() -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_start_sso(&ctx).await;
    ctx.finish(result, "/sign-in").await
}

#[server(prefix = "/_fn", endpoint = "sign_in_password")]
pub async fn sign_in_password(email: String, password: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_sign_in_password(&ctx, email, Secret::new(password)).await;
    ctx.finish(result, "/sign-in/password").await
}

#[server(prefix = "/_fn", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_sign_out(&ctx).await;
    ctx.finish(result, "/sign-in").await
}

#[server(prefix = "/_fn", endpoint = "confirm_email")]
pub async fn confirm_email() -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_confirm(&ctx).await;
    ctx.finish(result, "/confirm").await
}

#[server(prefix = "/_fn", endpoint = "unlock_account")]
pub async fn unlock_account() -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_unlock(&ctx).await;
    ctx.finish(result, "/unlock").await
}

#[server(prefix = "/_fn", endpoint = "forgot_password")]
pub async fn forgot_password(email: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_forgot(&ctx, email).await;
    ctx.finish(result, "/forgot").await
}

#[server(prefix = "/_fn", endpoint = "reset_password")]
pub async fn reset_password(password: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_reset(&ctx, Secret::new(password)).await;
    ctx.finish(result, "/reset").await
}

#[server(prefix = "/_fn", endpoint = "delete_api_key")]
pub async fn delete_api_key(id: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_delete_api_key(&ctx, id).await;
    ctx.finish(result, "/settings/api-keys").await
}

#[server(prefix = "/_fn", endpoint = "switch_account")]
pub async fn switch_account(account_id: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_switch_account(&ctx, account_id).await;
    ctx.finish(result, "/accounts").await
}

#[server(prefix = "/_fn", endpoint = "create_account")]
pub async fn create_account(name: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_create_account(&ctx, name).await;
    ctx.finish(result, "/accounts").await
}

#[server(prefix = "/_fn", endpoint = "invite_member")]
pub async fn invite_member(email: String, role: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_invite(&ctx, email, role).await;
    ctx.finish(result, "/settings/members").await
}

#[server(prefix = "/_fn", endpoint = "change_member_role")]
pub async fn change_member_role(user_id: String, role: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_change_role(&ctx, user_id, role).await;
    ctx.finish(result, "/settings/members").await
}

#[server(prefix = "/_fn", endpoint = "remove_member")]
pub async fn remove_member(user_id: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_remove(&ctx, user_id).await;
    ctx.finish(result, "/settings/members").await
}

#[server(prefix = "/_fn", endpoint = "resend_invitation")]
pub async fn resend_invitation(id: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_resend_invitation(&ctx, id).await;
    ctx.finish(result, "/settings/members").await
}

#[server(prefix = "/_fn", endpoint = "revoke_invitation")]
pub async fn revoke_invitation(id: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_revoke_invitation(&ctx, id).await;
    ctx.finish(result, "/settings/members").await
}

#[server(prefix = "/_fn", endpoint = "accept_invitation")]
pub async fn accept_invitation(#[server(default)] password: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_accept_invitation(&ctx, Secret::new(password)).await;
    ctx.finish(result, "/invite").await
}

#[server(prefix = "/_fn", endpoint = "create_sso_connection")]
pub async fn create_sso_connection(
    #[server(default)] issuer: String,
    #[server(default)] client_id: String,
    #[server(default)] client_secret: String,
    #[server(default)] domains: String,
) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let form = SsoForm {
        issuer,
        client_id,
        domains,
    };
    let result = handle_create_sso(&ctx, form, Secret::new(client_secret)).await;
    ctx.finish(result, "/settings/sso").await
}

/// Posted by the enforcement confirmation page ("true") and by "Stop enforcing" ("false").
#[server(prefix = "/_fn", endpoint = "set_sso_enforced")]
pub async fn set_sso_enforced(id: String, enforced: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_set_sso_enforced(&ctx, id, enforced == "true").await;
    ctx.finish(result, "/settings/sso").await
}

#[server(prefix = "/_fn", endpoint = "test_sso_connection")]
pub async fn test_sso_connection(id: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_test_sso(&ctx, id).await;
    ctx.finish(result, "/settings/sso").await
}

/// An owner's test sign-in through the provider: the step before enforcement.
#[server(prefix = "/_fn", endpoint = "start_sso_test")]
pub async fn start_sso_test(id: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_start_sso_test(&ctx, id).await;
    ctx.finish(result, "/settings/sso").await
}

#[server(prefix = "/_fn", endpoint = "delete_sso_connection")]
pub async fn delete_sso_connection(id: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_delete_sso(&ctx, id).await;
    ctx.finish(result, "/settings/sso").await
}

/// Server-only helpers: the request context and the body of each server function.
#[cfg(feature = "ssr")]
pub mod server {
    use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
    use axum::Extension;
    use leptos::prelude::*;
    use leptos_axum::ResponseOptions;
    use tower_sessions::Session;

    use crate::domain::email::EmailAddress;
    use crate::domain::ids::{self, new_id};
    use crate::domain::members::Acceptor;
    use crate::domain::roles::Role;
    pub use crate::domain::secret::Secret;
    use crate::domain::sso::SsoConnection;
    use crate::domain::tokens::TokenPurpose;
    use crate::domain::users::ConfirmOutcome;
    use crate::flows::accounts;
    use crate::flows::actor::OwnerOf;
    use crate::flows::members::{self, Actor, ChangeResult, InviteResult, PendingInvitation};
    use crate::flows::recovery::{self, ResetResult};
    use crate::flows::sign_in::{self, EmailStep, IpReservation, SignInResult, GENERIC_FAILURE};
    use crate::flows::sign_up::{self as sign_up_flow, SignUpResult};
    use crate::flows::sso::EnforceResult;
    use crate::flows::FlowError;
    use crate::flows::{sso, sso_login};
    use crate::ports::StoreError;
    use crate::web::guards::ClientIp;
    use crate::web::session::{self, AuthState, Flash, SsoPurpose};
    use crate::AppState;

    /// What a person typed is kept for the next page, within reason.
    const MAX_KEPT_INPUT: usize = 1024;

    fn kept(input: &str) -> String {
        input.chars().take(MAX_KEPT_INPUT).collect()
    }

    #[derive(Debug, thiserror::Error)]
    pub enum ActionError {
        #[error(transparent)]
        Flow(#[from] FlowError),
        #[error("session: {0}")]
        Session(#[from] tower_sessions::session::Error),
    }

    /// Where to go next.
    pub type Next = Result<String, ActionError>;

    pub struct Ctx {
        pub state: AppState,
        pub session: Session,
        pub ip: ClientIp,
        pub request_id: String,
    }

    impl Ctx {
        pub async fn load() -> Result<Self, ServerFnError> {
            let state = use_context::<AppState>()
                .ok_or_else(|| ServerFnError::new("application state missing"))?;
            let session: Session = leptos_axum::extract().await?;
            let ip = leptos_axum::extract::<Option<Extension<ClientIp>>>()
                .await?
                .map(|Extension(ip)| ip)
                .unwrap_or_else(|| ClientIp("unknown".into()));
            let headers: HeaderMap = leptos_axum::extract().await?;
            let request_id = headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_owned();
            Ok(Self {
                state,
                session,
                ip,
                request_id,
            })
        }

        /// Answers 303 to the next page; an infrastructure failure becomes a generic message
        /// (with the request id, so support can find the log line) on the fallback page.
        pub async fn finish(&self, next: Next, fallback: &str) -> Result<(), ServerFnError> {
            let target = match next {
                Ok(target) => target,
                Err(err) => {
                    tracing::error!(request_id = %self.request_id, error = %err, "form action failed");
                    let flash = Flash::error(format!(
                        "Something went wrong on our side. Please try again. (Request id: {})",
                        self.request_id
                    ));
                    if let Err(e) = session::set_flash(&self.session, flash).await {
                        tracing::error!(error = %e, "could not store the error message");
                    }
                    fallback.to_owned()
                }
            };
            let options = expect_context::<ResponseOptions>();
            options.set_status(StatusCode::SEE_OTHER);
            if let Ok(location) = HeaderValue::from_str(&target) {
                options.insert_header(header::LOCATION, location);
            }
            Ok(())
        }
    }

    pub async fn handle_sign_up(ctx: &Ctx, email: String, password: Secret) -> Next {
        match sign_up_flow::sign_up(&ctx.state, &email, &password).await? {
            SignUpResult::Invalid(errors) => {
                let flash = Flash::default()
                    .field_error("email", errors.email)
                    .field_error("password", errors.password)
                    .value("email", &kept(&email));
                session::set_flash(&ctx.session, flash).await?;
                Ok("/sign-up".into())
            }
            SignUpResult::Closed => {
                session::set_flash(&ctx.session, Flash::error(sign_up_flow::CLOSED_MESSAGE))
                    .await?;
                Ok("/sign-up".into())
            }
            SignUpResult::CheckEmail(address) => {
                session::set_pending_email(&ctx.session, address.as_str()).await?;
                session::set_last_resend(&ctx.session, ctx.state.clock.now().millis()).await?;
                Ok("/check-email".into())
            }
        }
    }

    pub async fn handle_resend(ctx: &Ctx, typed: String) -> Next {
        let email = if typed.trim().is_empty() {
            session::pending_email(&ctx.session).await?
        } else {
            match EmailAddress::parse(&typed) {
                Ok(address) => {
                    session::set_pending_email(&ctx.session, address.as_str()).await?;
                    Some(address.to_string())
                }
                Err(err) => {
                    let flash = Flash::default()
                        .field_error("email", Some(err.to_string()))
                        .value("email", &kept(&typed));
                    session::set_flash(&ctx.session, flash).await?;
                    return Ok("/resend-confirmation".into());
                }
            }
        };
        let Some(email) = email else {
            session::set_flash(&ctx.session, Flash::error("Enter your email to continue.")).await?;
            return Ok("/resend-confirmation".into());
        };
        let now = ctx.state.clock.now();
        let interval = ctx.state.config.mail_interval.as_millis() as i64;
        if let Some(last) = session::last_resend(&ctx.session).await? {
            if now.millis().saturating_sub(last) < interval {
                let flash = Flash::error("We sent an email less than a minute ago. Please wait a minute before asking for another one.");
                session::set_flash(&ctx.session, flash).await?;
                return Ok("/check-email".into());
            }
        }
        session::set_last_resend(&ctx.session, now.millis()).await?;
        if let Ok(address) = EmailAddress::parse(&email) {
            sign_up_flow::resend_confirmation(&ctx.state, &address);
        }
        session::set_flash(
            &ctx.session,
            Flash::notice(format!(
                "If {email} is waiting to be confirmed, we sent it a new link. Earlier links no longer work."
            )),
        )
        .await?;
        Ok("/check-email".into())
    }

    pub async fn handle_sign_in_email(ctx: &Ctx, email: String) -> Next {
        match EmailAddress::parse(&email) {
            Err(err) => {
                let flash = Flash::default()
                    .field_error("email", Some(err.to_string()))
                    .value("email", &kept(&email));
                session::set_flash(&ctx.session, flash).await?;
                Ok("/sign-in".into())
            }
            Ok(address) => {
                session::set_sign_in_email(&ctx.session, address.as_str()).await?;
                match sign_in::decide_email_step(&ctx.state, &address).await? {
                    EmailStep::Password | EmailStep::PasswordOrSso(_) => {
                        Ok("/sign-in/password".into())
                    }
                    EmailStep::Sso(connection) => {
                        begin_sso(
                            ctx,
                            &connection,
                            address.as_str(),
                            SsoPurpose::SignIn,
                            "/sign-in",
                        )
                        .await
                    }
                }
            }
        }
    }

    /// Starts the OpenID Connect flow: keeps state, nonce and PKCE verifier in the session and
    /// answers 303 to the identity provider (or to `back` with a message).
    pub async fn begin_sso(
        ctx: &Ctx,
        connection: &SsoConnection,
        login_hint: &str,
        purpose: SsoPurpose,
        back: &str,
    ) -> Next {
        let redirect = sso::redirect_uri(&ctx.state);
        match ctx
            .state
            .oidc
            .start(
                &connection.issuer,
                &connection.client_id,
                &redirect,
                login_hint,
            )
            .await
        {
            Ok(start) => {
                let flow = session::SsoFlow {
                    connection_id: connection.id.clone(),
                    account_id: connection.account_id.clone(),
                    state: start.state,
                    nonce: start.nonce,
                    pkce_verifier: start.pkce_verifier,
                    started_at: ctx.state.clock.now().millis(),
                    purpose,
                };
                session::add_sso_flow(&ctx.session, flow).await?;
                Ok(start.authorize_url)
            }
            Err(err) => {
                tracing::warn!(error = %err, issuer = %connection.issuer, "could not start SSO");
                let flash = Flash::error(sso_login::SsoFailure::Unreachable.message());
                session::set_flash(&ctx.session, flash).await?;
                Ok(back.to_owned())
            }
        }
    }

    pub async fn handle_start_sso(ctx: &Ctx) -> Next {
        let email = session::sign_in_email(&ctx.session).await?;
        let Some(address) = email.as_deref().and_then(|e| EmailAddress::parse(e).ok()) else {
            return Ok("/sign-in".into());
        };
        match sign_in::decide_email_step(&ctx.state, &address).await? {
            EmailStep::PasswordOrSso(connection) | EmailStep::Sso(connection) => {
                begin_sso(
                    ctx,
                    &connection,
                    address.as_str(),
                    SsoPurpose::SignIn,
                    "/sign-in",
                )
                .await
            }
            EmailStep::Password => Ok("/sign-in/password".into()),
        }
    }

    pub async fn handle_sign_in_password(ctx: &Ctx, email: String, password: Secret) -> Next {
        let reservation = leptos_axum::extract::<Option<Extension<IpReservation>>>()
            .await
            .ok()
            .flatten()
            .map(|Extension(r)| r);
        let result =
            sign_in::sign_in_with_password(&ctx.state, &email, &password, &ctx.ip.0, reservation)
                .await?;
        match result {
            SignInResult::Refused => {
                session::set_sign_in_email(&ctx.session, &kept(email.trim())).await?;
                session::set_flash(&ctx.session, Flash::error(GENERIC_FAILURE)).await?;
                Ok("/sign-in/password".into())
            }
            SignInResult::Throttled(_) => {
                let flash = Flash::error(
                    "Too many failed sign-in attempts from your network. Please wait a few minutes and try again.",
                );
                session::set_flash(&ctx.session, flash).await?;
                Ok("/sign-in/password".into())
            }
            SignInResult::PasswordMissing => {
                session::set_sign_in_email(&ctx.session, &kept(email.trim())).await?;
                let flash =
                    Flash::default().field_error("password", Some("Enter your password.".into()));
                session::set_flash(&ctx.session, flash).await?;
                Ok("/sign-in/password".into())
            }
            SignInResult::SignedIn {
                user_id,
                session_epoch,
            } => {
                let memberships = ctx
                    .state
                    .store
                    .memberships(&user_id)
                    .await
                    .map_err(FlowError::from)?;
                // Exactly one account opens it; several (or none) go to the picker.
                let only = match memberships.as_slice() {
                    [one] => Some(one.account_id.clone()),
                    _ => None,
                };
                let landing = if only.is_some() { "/home" } else { "/accounts" };
                let auth = AuthState {
                    user_id,
                    account_id: only,
                    epoch: session_epoch,
                    signed_in_at: ctx.state.clock.now().millis(),
                    method: Some("password".into()),
                };
                session::sign_in(&ctx.session, auth).await?;
                Ok(session::take_return_to(&ctx.session)
                    .await?
                    .unwrap_or_else(|| landing.into()))
            }
        }
    }

    pub async fn handle_sign_out(ctx: &Ctx) -> Next {
        session::sign_out(&ctx.session).await?;
        session::set_flash(&ctx.session, Flash::notice("You have signed out.")).await?;
        Ok("/sign-in".into())
    }

    /// Uses the confirmation link whose token the session holds: creates the account.
    pub async fn handle_confirm(ctx: &Ctx) -> Next {
        let outcome = match session::link_token(&ctx.session, TokenPurpose::Confirm).await? {
            Some(hash) => sign_up_flow::confirm(&ctx.state, &hash).await?,
            None => ConfirmOutcome::Dead,
        };
        let flash = match outcome {
            ConfirmOutcome::Dead => {
                session::set_flash(&ctx.session, Flash::error(DEAD_LINK)).await?;
                return Ok("/confirm".into());
            }
            ConfirmOutcome::Created { .. } => Flash::notice(
                "Your email is confirmed and your account is ready. Sign in to continue.",
            ),
            ConfirmOutcome::AlreadyUser => {
                Flash::notice("This email address already has an account. Sign in to continue.")
            }
        };
        session::forget_link_token(&ctx.session, TokenPurpose::Confirm).await?;
        session::set_flash(&ctx.session, flash).await?;
        Ok("/sign-in".into())
    }

    /// Uses the unlock link whose token the session holds.
    pub async fn handle_unlock(ctx: &Ctx) -> Next {
        let used = match session::link_token(&ctx.session, TokenPurpose::Unlock).await? {
            Some(hash) => recovery::unlock(&ctx.state, &hash).await?,
            None => false,
        };
        if !used {
            session::set_flash(&ctx.session, Flash::error(DEAD_LINK)).await?;
            return Ok("/unlock".into());
        }
        session::forget_link_token(&ctx.session, TokenPurpose::Unlock).await?;
        let done = "Your account is unlocked. Sign in to continue.";
        session::set_flash(&ctx.session, Flash::notice(done)).await?;
        Ok("/sign-in".into())
    }

    pub async fn handle_forgot(ctx: &Ctx, email: String) -> Next {
        match EmailAddress::parse(&email) {
            Err(err) => {
                let flash = Flash::default()
                    .field_error("email", Some(err.to_string()))
                    .value("email", &kept(&email));
                session::set_flash(&ctx.session, flash).await?;
                Ok("/forgot".into())
            }
            Ok(address) => {
                recovery::forgot_password(&ctx.state, &address);
                session::set_pending_email(&ctx.session, address.as_str()).await?;
                Ok("/forgot/sent".into())
            }
        }
    }

    pub async fn handle_reset(ctx: &Ctx, password: Secret) -> Next {
        let Some(token) = session::link_token(&ctx.session, TokenPurpose::Reset).await? else {
            session::set_flash(&ctx.session, Flash::error(DEAD_RESET_LINK)).await?;
            return Ok("/forgot".into());
        };
        match recovery::reset_password(&ctx.state, &token, &password).await? {
            ResetResult::Done => {
                session::forget_link_token(&ctx.session, TokenPurpose::Reset).await?;
                let flash =
                    Flash::notice("Your password was changed. Sign in with your new password.");
                session::set_flash(&ctx.session, flash).await?;
                Ok("/sign-in".into())
            }
            ResetResult::InvalidPassword(message) => {
                session::set_flash(
                    &ctx.session,
                    Flash::default().field_error("password", Some(message)),
                )
                .await?;
                Ok("/reset".into())
            }
            ResetResult::LinkDead => {
                session::forget_link_token(&ctx.session, TokenPurpose::Reset).await?;
                session::set_flash(&ctx.session, Flash::error(DEAD_RESET_LINK)).await?;
                Ok("/forgot".into())
            }
        }
    }

    pub async fn handle_delete_api_key(ctx: &Ctx, id: String) -> Next {
        let actor = match actor(ctx).await? {
            Ok(a) => a,
            Err(path) => return Ok(path),
        };
        if !crate::domain::roles::can_administer(actor.role) {
            let flash = Flash::error("Only owners and admins can delete API keys.");
            session::set_flash(&ctx.session, flash).await?;
            return Ok("/home".into());
        }
        let deleted = crate::flows::api_keys::delete(
            &ctx.state,
            &actor.account_id,
            Some(&actor.user_id),
            &id,
        )
        .await
        .map_err(FlowError::from)?;
        let flash = if deleted {
            Flash::notice("The API key was deleted. Requests using it are refused from now on.")
        } else {
            Flash::error("That API key no longer exists.")
        };
        session::set_flash(&ctx.session, flash).await?;
        Ok("/settings/api-keys".into())
    }

    /// The signed-in person acting in their current account (role read now), or the page
    /// to go to instead.
    async fn actor(ctx: &Ctx) -> Result<Result<Actor, String>, ActionError> {
        let user = session::current_user(&ctx.state, &ctx.session)
            .await
            .map_err(|e| FlowError::Store(StoreError(e)))?;
        let Some(user) = user else {
            return Ok(Err("/sign-in".into()));
        };
        let Some(account_id) = user.auth.account_id.clone() else {
            return Ok(Err("/accounts".into()));
        };
        let role = ctx
            .state
            .store
            .role_in(&user.auth.user_id, &account_id)
            .await
            .map_err(FlowError::from)?;
        Ok(match role {
            Some(role) => Ok(Actor {
                user_id: user.auth.user_id,
                email: user.email,
                account_id,
                role,
            }),
            None => Err("/accounts".into()),
        })
    }

    pub async fn handle_switch_account(ctx: &Ctx, account_id: String) -> Next {
        let Some(user) = session::current_user(&ctx.state, &ctx.session)
            .await
            .map_err(|e| FlowError::Store(StoreError(e)))?
        else {
            return Ok("/sign-in".into());
        };
        let role = ctx
            .state
            .store
            .role_in(&user.auth.user_id, &account_id)
            .await
            .map_err(FlowError::from)?;
        if role.is_none() {
            session::set_flash(
                &ctx.session,
                Flash::error("You are not a member of that account."),
            )
            .await?;
            return Ok("/accounts".into());
        }
        session::set_current_account(&ctx.session, Some(account_id)).await?;
        Ok("/home".into())
    }

    pub async fn handle_create_account(ctx: &Ctx, name: String) -> Next {
        let Some(user) = session::current_user(&ctx.state, &ctx.session)
            .await
            .map_err(|e| FlowError::Store(StoreError(e)))?
        else {
            return Ok("/sign-in".into());
        };
        match accounts::account_name(&name) {
            Err(message) => {
                let flash = Flash::default()
                    .field_error("name", Some(message))
                    .value("name", &kept(&name));
                session::set_flash(&ctx.session, flash).await?;
                Ok("/accounts".into())
            }
            Ok(name) => {
                let id = accounts::create_account(&ctx.state, &user.auth.user_id, name.clone())
                    .await
                    .map_err(FlowError::from)?;
                session::set_current_account(&ctx.session, Some(id)).await?;
                session::set_flash(
                    &ctx.session,
                    Flash::notice(format!("Account \"{name}\" created.")),
                )
                .await?;
                Ok("/home".into())
            }
        }
    }

    fn parse_role(role: &str) -> Option<Role> {
        Role::parse(role.trim())
    }

    pub async fn handle_invite(ctx: &Ctx, email: String, role: String) -> Next {
        let actor = match actor(ctx).await? {
            Ok(a) => a,
            Err(path) => return Ok(path),
        };
        let Some(role) = parse_role(&role) else {
            let flash = Flash::default()
                .field_error("role", Some("Choose a role.".into()))
                .value("email", &kept(&email));
            session::set_flash(&ctx.session, flash).await?;
            return Ok("/settings/members".into());
        };
        let result = members::invite(&ctx.state, &actor, &email, role).await?;
        let flash = match &result {
            InviteResult::Sent(_) => Flash::notice(result.message()),
            InviteResult::InvalidEmail(_)
            | InviteResult::AlreadyMember(_)
            | InviteResult::RecipientThrottled(_) => Flash::default()
                .field_error("email", Some(result.message()))
                .value("email", &kept(&email)),
            InviteResult::NotAllowed | InviteResult::DailyLimitReached => {
                Flash::error(result.message())
            }
        };
        session::set_flash(&ctx.session, flash).await?;
        Ok("/settings/members".into())
    }

    async fn change_flash(ctx: &Ctx, result: ChangeResult, done: &str) -> Next {
        let flash = match result {
            ChangeResult::Done => Flash::notice(done),
            other => Flash::error(other.message()),
        };
        session::set_flash(&ctx.session, flash).await?;
        Ok("/settings/members".into())
    }

    pub async fn handle_change_role(ctx: &Ctx, user_id: String, role: String) -> Next {
        let actor = match actor(ctx).await? {
            Ok(a) => a,
            Err(path) => return Ok(path),
        };
        let Some(role) = parse_role(&role) else {
            session::set_flash(&ctx.session, Flash::error("Choose a role.")).await?;
            return Ok("/settings/members".into());
        };
        let result = members::change_role(&ctx.state, &actor, &user_id, role).await?;
        change_flash(ctx, result, "The role was changed.").await
    }

    pub async fn handle_remove(ctx: &Ctx, user_id: String) -> Next {
        let actor = match actor(ctx).await? {
            Ok(a) => a,
            Err(path) => return Ok(path),
        };
        let result = members::remove(&ctx.state, &actor, &user_id).await?;
        if result == ChangeResult::Done && user_id == actor.user_id {
            session::set_current_account(&ctx.session, None).await?;
            session::set_flash(&ctx.session, Flash::notice("You left the account.")).await?;
            return Ok("/accounts".into());
        }
        change_flash(ctx, result, "The member was removed.").await
    }

    pub async fn handle_resend_invitation(ctx: &Ctx, id: String) -> Next {
        let actor = match actor(ctx).await? {
            Ok(a) => a,
            Err(path) => return Ok(path),
        };
        let pending = members::resend(&ctx.state, &actor, &id).await?;
        invitation_flash(
            ctx,
            pending,
            "The invitation was sent again with a new link.",
        )
        .await
    }

    pub async fn handle_revoke_invitation(ctx: &Ctx, id: String) -> Next {
        let actor = match actor(ctx).await? {
            Ok(a) => a,
            Err(path) => return Ok(path),
        };
        let pending = members::revoke(&ctx.state, &actor, &id).await?;
        invitation_flash(
            ctx,
            pending,
            "The invitation was revoked: its link no longer works.",
        )
        .await
    }

    /// Back to the members page with `done`, or what stood in the way.
    async fn invitation_flash(ctx: &Ctx, outcome: PendingInvitation, done: &str) -> Next {
        let flash = match outcome {
            PendingInvitation::Done => Flash::notice(done),
            PendingInvitation::NotFound => Flash::error("That invitation is no longer pending."),
            PendingInvitation::NotAllowed => {
                Flash::error("Your role does not allow managing that invitation.")
            }
            PendingInvitation::Refused(refused) => Flash::error(refused.message()),
        };
        session::set_flash(&ctx.session, flash).await?;
        Ok("/settings/members".into())
    }

    /// Accepts the invitation whose link was opened: as the signed-in user (whose email must
    /// be the invited one), or as a new user with the password chosen here.
    pub async fn handle_accept_invitation(ctx: &Ctx, password: Secret) -> Next {
        let Some(token) = session::link_token(&ctx.session, TokenPurpose::Invite).await? else {
            session::set_flash(&ctx.session, Flash::error(DEAD_LINK)).await?;
            return Ok("/invite".into());
        };
        let now = ctx.state.clock.now();
        let Some(inv) = ctx
            .state
            .store
            .invitation_by_token(&token, now)
            .await
            .map_err(FlowError::from)?
        else {
            session::set_flash(&ctx.session, Flash::error(DEAD_LINK)).await?;
            return Ok("/invite".into());
        };
        let signed_in = session::current_user(&ctx.state, &ctx.session)
            .await
            .map_err(|e| FlowError::Store(StoreError(e)))?;
        let acceptor = match signed_in {
            Some(user) if user.email == inv.email.as_str() => Acceptor::Existing {
                user_id: user.auth.user_id,
            },
            Some(user) => {
                let message = format!(
                    "This invitation is for {}, but you are signed in as {}. Sign out, then open the link again.",
                    inv.email, user.email
                );
                session::set_flash(&ctx.session, Flash::error(message)).await?;
                return Ok("/invite".into());
            }
            None => {
                if ctx
                    .state
                    .store
                    .user_by_email(&inv.email)
                    .await
                    .map_err(FlowError::from)?
                    .is_some()
                {
                    session::set_return_to(&ctx.session, "/invite").await?;
                    session::set_sign_in_email(&ctx.session, inv.email.as_str()).await?;
                    return Ok("/sign-in/password".into());
                }
                if let Err(message) =
                    sign_up_flow::validate_new_password(&password, Some(&inv.email))
                {
                    session::set_flash(
                        &ctx.session,
                        Flash::default().field_error("password", Some(message)),
                    )
                    .await?;
                    return Ok("/invite".into());
                }
                let password_hash = ctx
                    .state
                    .passwords
                    .hash(&password)
                    .await
                    .map_err(FlowError::from)?;
                Acceptor::New {
                    user_id: new_id(ids::USER),
                    password_hash,
                }
            }
        };
        let new_user = matches!(acceptor, Acceptor::New { .. });
        let Some((inv, user_id)) = members::accept(&ctx.state, &token, acceptor).await? else {
            session::set_flash(&ctx.session, Flash::error(DEAD_LINK)).await?;
            return Ok("/invite".into());
        };
        session::forget_link_token(&ctx.session, TokenPurpose::Invite).await?;
        if new_user {
            let user = ctx
                .state
                .store
                .user_by_id(&user_id)
                .await
                .map_err(FlowError::from)?;
            let auth = AuthState {
                user_id,
                account_id: Some(inv.account_id.clone()),
                epoch: user.map(|u| u.session_epoch).unwrap_or_default(),
                signed_in_at: now.millis(),
                method: Some("password".into()),
            };
            session::sign_in(&ctx.session, auth).await?;
        } else {
            session::set_current_account(&ctx.session, Some(inv.account_id.clone())).await?;
        }
        session::set_flash(
            &ctx.session,
            Flash::notice(format!("Welcome to {}.", inv.account_name)),
        )
        .await?;
        Ok("/home".into())
    }

    /// The signed-in owner of the current account, or the page to go to instead (with a
    /// message for a member who is not an owner).
    pub async fn owner(ctx: &Ctx, back: &str) -> Result<Result<OwnerOf, String>, ActionError> {
        let actor = match actor(ctx).await? {
            Ok(a) => a,
            Err(path) => return Ok(Err(path)),
        };
        match actor.as_owner() {
            Some(owner) => Ok(Ok(owner)),
            None => {
                let flash = Flash::error("Only owners of this account can do that.");
                session::set_flash(&ctx.session, flash).await?;
                Ok(Err(back.to_owned()))
            }
        }
    }

    /// The SSO form's fields other than the secret (which is never kept for redisplay).
    pub struct SsoForm {
        pub issuer: String,
        pub client_id: String,
        pub domains: String,
    }

    pub async fn handle_create_sso(ctx: &Ctx, form: SsoForm, secret: Secret) -> Next {
        let owner = match owner(ctx, "/settings/sso").await? {
            Ok(o) => o,
            Err(path) => return Ok(path),
        };
        let input = sso::ConnectionInput {
            issuer: form.issuer.clone(),
            client_id: form.client_id.clone(),
            client_secret: secret,
            domains: sso::split_domains(&form.domains),
        };
        let flash = match sso::create(&ctx.state, &owner, input).await? {
            sso::SsoResult::Created(c) => Flash::notice(format!(
                "Connected {} for {}. Next: a test sign-in, then you can enforce it.",
                c.issuer,
                c.domain_names().join(", ")
            )),
            sso::SsoResult::Invalid(e) => Flash::default()
                .field_error(e.field, Some(e.message))
                .value("issuer", &kept(&form.issuer))
                .value("client_id", &kept(&form.client_id))
                .value("domains", &kept(&form.domains)),
        };
        session::set_flash(&ctx.session, flash).await?;
        Ok("/settings/sso".into())
    }

    /// Enforces (after the confirmation page) or stops enforcing a connection.
    pub async fn handle_set_sso_enforced(ctx: &Ctx, id: String, enforced: bool) -> Next {
        let owner = match owner(ctx, "/settings/sso").await? {
            Ok(o) => o,
            Err(path) => return Ok(path),
        };
        let flash = match sso::set_enforced(&ctx.state, &owner, &id, enforced).await? {
            EnforceResult::Enforced { sessions_ended } => Flash::notice(format!(
                "Single sign-on is now enforced for these domains. {sessions_ended} password session(s) of affected people were ended."
            )),
            EnforceResult::Stopped => {
                Flash::notice("Single sign-on is no longer enforced: passwords work again.")
            }
            EnforceResult::TestSignInRequired => Flash::error(
                "Complete a test sign-in through this provider before enforcing it.",
            ),
            EnforceResult::NotFound => Flash::error("That connection no longer exists."),
        };
        session::set_flash(&ctx.session, flash).await?;
        Ok("/settings/sso".into())
    }

    /// Starts an owner's test sign-in through a connection.
    pub async fn handle_start_sso_test(ctx: &Ctx, id: String) -> Next {
        let owner = match owner(ctx, "/settings/sso").await? {
            Ok(o) => o,
            Err(path) => return Ok(path),
        };
        let Some(connection) = sso::connection(&ctx.state, &owner.account_id, &id)
            .await
            .map_err(FlowError::from)?
        else {
            session::set_flash(
                &ctx.session,
                Flash::error("That connection no longer exists."),
            )
            .await?;
            return Ok("/settings/sso".into());
        };
        let purpose = SsoPurpose::Test {
            owner_user_id: owner.user_id.clone(),
        };
        begin_sso(ctx, &connection, "", purpose, "/settings/sso").await
    }

    /// Fetches the provider's discovery document and says plainly what is wrong, if anything.
    pub async fn handle_test_sso(ctx: &Ctx, id: String) -> Next {
        let owner = match owner(ctx, "/settings/sso").await? {
            Ok(o) => o,
            Err(path) => return Ok(path),
        };
        let flash = match sso::test_connection(&ctx.state, &owner, &id).await? {
            sso::TestConnection::NotFound => Flash::error("That connection no longer exists."),
            sso::TestConnection::Works(endpoint) => Flash::notice(format!(
                "The provider answers: discovery and signing keys found, sign-in goes to {endpoint}."
            )),
            sso::TestConnection::Fails(message) => Flash::error(message),
        };
        session::set_flash(&ctx.session, flash).await?;
        Ok("/settings/sso".into())
    }

    pub async fn handle_delete_sso(ctx: &Ctx, id: String) -> Next {
        let owner = match owner(ctx, "/settings/sso").await? {
            Ok(o) => o,
            Err(path) => return Ok(path),
        };
        let flash = if sso::delete(&ctx.state, &owner, &id).await? {
            Flash::notice("The connection was deleted: its domains no longer use single sign-on.")
        } else {
            Flash::error("That connection no longer exists.")
        };
        session::set_flash(&ctx.session, flash).await?;
        Ok("/settings/sso".into())
    }

    pub const DEAD_LINK: &str = "This link is invalid, has expired or was already used.";
    pub const DEAD_RESET_LINK: &str =
        "This reset link is invalid, has expired or was already used. Ask for a new one below.";
}
