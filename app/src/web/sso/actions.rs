//! The server functions of sso's forms (under `/_fn`): each parses, calls its flow,
//! keeps the outcome in the session (a flash) and answers 303 to the next page.
use leptos::prelude::*;

use crate::domain::ids::ConnectionId;
use crate::paths;

use crate::domain::secret::Secret;
use crate::domain::sso::SsoConnection;
use crate::flows::sso::Enforcement;
use crate::flows::{sso, sso_login};
use crate::session::{self, SsoPurpose};
use crate::web::forms::{Ctx, Next};

#[server(prefix = "/_fn", endpoint = "create_sso_connection")]
pub async fn create_sso_connection(
    #[server(default)] issuer: String,
    #[server(default)] client_id: String,
    #[server(default)] client_secret: String,
    #[server(default)] domains: String,
    #[server(default)] create_users: String,
) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let form = SsoForm {
        issuer,
        client_id,
        domains,
        create_users: create_users == "true",
    };
    let result = handle_create_sso(&ctx, form, Secret::new(client_secret)).await;
    ctx.finish(result, paths::SSO).await
}

/// Posted by the enforcement confirmation page ("true") and by "Stop enforcing" ("false").
#[server(prefix = "/_fn", endpoint = "set_sso_enforced")]
pub async fn set_sso_enforced(id: String, enforced: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_set_sso_enforced(&ctx, id, enforced == "true").await;
    ctx.finish(result, paths::SSO).await
}

/// "Create users on first sign-in": on ("true") or off ("false").
#[server(prefix = "/_fn", endpoint = "set_sso_create_users")]
pub async fn set_sso_create_users(id: String, create_users: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_set_sso_create_users(&ctx, id, create_users == "true").await;
    ctx.finish(result, paths::SSO).await
}

#[server(prefix = "/_fn", endpoint = "test_sso_connection")]
pub async fn test_sso_connection(id: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_test_sso(&ctx, id).await;
    ctx.finish(result, paths::SSO).await
}

/// An owner's test sign-in through the provider: the step before enforcement.
#[server(prefix = "/_fn", endpoint = "start_sso_test")]
pub async fn start_sso_test(id: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_start_sso_test(&ctx, id).await;
    ctx.finish(result, paths::SSO).await
}

#[server(prefix = "/_fn", endpoint = "delete_sso_connection")]
pub async fn delete_sso_connection(id: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_delete_sso(&ctx, id).await;
    ctx.finish(result, paths::SSO).await
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
            ctx.error(sso_login::SsoFailure::Unreachable.message(), back)
                .await
        }
    }
}

/// The SSO form's fields other than the secret (which is never kept for redisplay).
pub struct SsoForm {
    pub issuer: String,
    pub client_id: String,
    pub domains: String,
    pub create_users: bool,
}

const SSO: &str = paths::SSO;

pub async fn handle_create_sso(ctx: &Ctx, form: SsoForm, secret: Secret) -> Next {
    let owner = ctx.owner(SSO).await?;
    let input = sso::ConnectionInput {
        issuer: form.issuer.clone(),
        client_id: form.client_id.clone(),
        client_secret: secret,
        domains: sso::split_domains(&form.domains),
        create_users: form.create_users,
        enforced: false,
    };
    let created = sso::create(&ctx.state, &owner, input).await;
    let typed = [
        ("issuer", form.issuer.as_str()),
        ("client_id", form.client_id.as_str()),
        ("domains", form.domains.as_str()),
    ];
    let c = ctx.settle_keeping(created, SSO, &typed).await?;
    let message = format!(
        "Connected {} for {}. Next: a test sign-in, then you can enforce it.",
        c.issuer,
        c.domain_names().join(", ")
    );
    ctx.notice(message, SSO).await
}

/// Enforces (after the confirmation page) or stops enforcing a connection.
pub async fn handle_set_sso_enforced(ctx: &Ctx, id: String, enforced: bool) -> Next {
    let owner = ctx.owner(SSO).await?;
    let changed =
        sso::set_enforced(&ctx.state, &owner, &ConnectionId::from_input(&id), enforced).await;
    let message = match ctx.settle(changed, SSO).await? {
        Enforcement::Enforced { sessions_ended } => format!(
            "Single sign-on is now enforced for these domains. {sessions_ended} password session(s) of affected people were ended."
        ),
        Enforcement::Stopped => {
            "Single sign-on is no longer enforced: passwords work again.".to_owned()
        }
    };
    ctx.notice(message, SSO).await
}

/// Turns "create users on first sign-in" on or off for a connection.
pub async fn handle_set_sso_create_users(ctx: &Ctx, id: String, create_users: bool) -> Next {
    let owner = ctx.owner(SSO).await?;
    let changed = sso::set_create_users(
        &ctx.state,
        &owner,
        &ConnectionId::from_input(&id),
        create_users,
    )
    .await;
    ctx.settle(changed, SSO).await?;
    let message = if create_users {
        "The connection now creates users at their first sign-in: anyone your provider signs in on its domains becomes a member of this account."
    } else {
        "The connection no longer creates users at a first sign-in: on an invite-only server, only invited people (and people who already have a user here) get in through it."
    };
    ctx.notice(message, SSO).await
}

/// Starts an owner's test sign-in through a connection.
pub async fn handle_start_sso_test(ctx: &Ctx, id: String) -> Next {
    let owner = ctx.owner(SSO).await?;
    let found = sso::connection(&ctx.state, &owner, &ConnectionId::from_input(&id)).await;
    let connection = ctx.settle(found, SSO).await?;
    let purpose = SsoPurpose::Test {
        owner_user_id: owner.user_id().to_owned(),
    };
    begin_sso(ctx, &connection, "", purpose, SSO).await
}

/// Fetches the provider's discovery document and says plainly what is wrong, if anything.
pub async fn handle_test_sso(ctx: &Ctx, id: String) -> Next {
    let owner = ctx.owner(SSO).await?;
    let tested = sso::test_connection(&ctx.state, &owner, &ConnectionId::from_input(&id)).await;
    let endpoint = ctx.settle(tested, SSO).await?;
    let message = format!(
        "The provider answers: discovery and signing keys found, sign-in goes to {endpoint}."
    );
    ctx.notice(message, SSO).await
}

pub async fn handle_delete_sso(ctx: &Ctx, id: String) -> Next {
    let owner = ctx.owner(SSO).await?;
    ctx.settle(
        sso::delete(&ctx.state, &owner, &ConnectionId::from_input(&id)).await,
        SSO,
    )
    .await?;
    ctx.notice(
        "The connection was deleted: its domains no longer use single sign-on.",
        SSO,
    )
    .await
}
