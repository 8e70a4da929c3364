//! Managing single sign-on connections, for owners: connect an OpenID provider for verified
//! domains of the account (discovery is checked before anything is saved), test it with a
//! sign-in, and only then enforce it. The client secret is sealed before it is stored and
//! never shown again.
use crate::auth::OwnerOf;
use crate::domain::ids::{AccountId, ConnectionId, DomainId};
use crate::domain::secret::Secret;
use crate::domain::sso::parse_issuer;
use crate::domain::sso::{EnforceOutcome, ServedDomain, SsoConnection, SsoCreated};
use crate::domain::text::clean_name;
use crate::flows::{FlowError, Outcome, Refusal};
use crate::paths;
use crate::ports::{SsoError, StoreError};
use crate::AppState;

/// What an owner submits.
#[derive(Debug)]
pub struct ConnectionInput {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub domains: Vec<String>,
    /// "Create users on first sign-in" (see [`crate::domain::sso::first_sign_in_creates_users`]).
    pub create_users: bool,
    /// Asked to start out enforced: refused, since no test sign-in can have happened yet.
    pub enforced: bool,
}

/// A change to a connection: enforcement, "create users on first sign-in", or both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectionChange {
    pub enforced: Option<bool>,
    pub create_users: Option<bool>,
}

/// Enforcement waits for an owner's completed test sign-in through the provider.
fn test_sign_in_required() -> Refusal {
    Refusal::conflict(
        "test_sign_in_required",
        "Complete a test sign-in through this provider (on the Single sign-on page) before enforcing it.",
    )
}

fn no_such_connection() -> Refusal {
    Refusal::NotFound("sso_connection")
}

/// One connection of an account, by id, whoever asks (the sign-in callback, whose actor is
/// the flow it started).
pub(crate) async fn find(
    state: &AppState,
    account_id: &AccountId,
    id: &ConnectionId,
) -> Result<Option<SsoConnection>, StoreError> {
    Ok(state
        .store
        .sso_connections(account_id)
        .await?
        .into_iter()
        .find(|c| c.id == *id))
}

/// One connection of the owner's account.
pub async fn connection(
    state: &AppState,
    owner: &OwnerOf,
    id: &ConnectionId,
) -> Outcome<SsoConnection> {
    find(state, owner.account_id(), id)
        .await?
        .ok_or_else(|| no_such_connection().into())
}

pub async fn list(state: &AppState, owner: &OwnerOf) -> Outcome<Vec<SsoConnection>> {
    Ok(state.store.sso_connections(owner.account_id()).await?)
}

/// The account's verified domains that no connection serves yet (what a new connection may
/// take).
pub async fn unconnected_domains(
    state: &AppState,
    owner: &OwnerOf,
    connections: &[SsoConnection],
) -> Outcome<Vec<String>> {
    Ok(state
        .store
        .domains(owner.account_id())
        .await?
        .into_iter()
        .filter(|d| d.verified_at.is_some())
        .map(|d| d.domain)
        .filter(|d| {
            !connections
                .iter()
                .any(|c| c.domains.iter().any(|s| &s.domain == d))
        })
        .collect())
}

/// The redirect URI to register at the identity provider.
pub fn redirect_uri(state: &AppState) -> String {
    state.config.link(paths::OIDC_CALLBACK)
}

/// What an owner may be told about a provider that does not work: the adapter's messages
/// never carry what the provider (or whatever answered) sent.
pub fn provider_problem(issuer: &str, err: &SsoError) -> String {
    match err {
        SsoError::ForbiddenAddress => format!(
            "{issuer} resolves to a loopback, private or reserved network address, which single sign-on may not use."
        ),
        SsoError::Unreachable(reason) => {
            format!("{issuer} does not work as an OpenID provider yet: {reason}")
        }
        SsoError::Rejected(_) => format!("{issuer} refused the request."),
    }
}

/// Connects a provider for verified domains of the owner's account, once its discovery
/// document answers; returns the connection (never enforced yet).
pub async fn create(
    state: &AppState,
    owner: &OwnerOf,
    input: ConnectionInput,
) -> Outcome<SsoConnection> {
    owner.recently_authenticated(state)?;
    if input.enforced {
        return Err(test_sign_in_required().into());
    }
    let issuer = parse_issuer(&input.issuer, state.config.issuer_policy)
        .map_err(|e| Refusal::invalid("issuer", e.to_string()))?;
    let client_id = clean_name(&input.client_id, 255).map_err(|e| Refusal::Invalid {
        field: "client_id",
        code: e.code(),
        message: client_id_problem(e),
    })?;
    let secret = input.client_secret.expose().trim();
    if secret.is_empty() || secret.len() > 1024 {
        return Err(Refusal::invalid(
            "client_secret",
            "Enter the client secret the identity provider gave you.",
        )
        .into());
    }
    if input.domains.is_empty() {
        return Err(Refusal::Invalid {
            field: "domains",
            code: "parameter_missing",
            message: "Choose at least one verified domain for this connection.".into(),
        }
        .into());
    }
    let verified = state.store.domains(owner.account_id()).await?;
    let mut served: Vec<ServedDomain> = Vec::new();
    let mut domain_ids: Vec<DomainId> = Vec::new();
    for input in &input.domains {
        let name =
            crate::domain::domains::normalise(input).unwrap_or_else(|_| input.trim().to_owned());
        let Some(d) = verified
            .iter()
            .find(|d| d.domain == name && d.verified_at.is_some())
        else {
            return Err(Refusal::Invalid {
                field: "domains",
                code: "domain_not_verified",
                message: format!("{name} is not a verified domain of this account: add it on the Domains page and verify it first."),
            }
            .into());
        };
        if !domain_ids.contains(&d.id) {
            domain_ids.push(d.id.clone());
            served.push(ServedDomain {
                domain: d.domain.clone(),
                verified: true,
            });
        }
    }
    if let Err(e) = state.oidc.check(&issuer).await {
        tracing::info!(error = %e, "SSO discovery check failed");
        return Err(Refusal::Invalid {
            field: "issuer",
            code: "issuer_unreachable",
            message: provider_problem(&issuer, &e),
        }
        .into());
    }
    let sealed = state
        .sealing
        .seal(&Secret::new(secret))
        .map_err(FlowError::from)?;
    let now = state.clock.now();
    let connection = SsoConnection {
        id: ConnectionId::new(),
        account_id: owner.account_id().to_owned(),
        issuer,
        client_id,
        client_secret_sealed: sealed,
        enforced: false,
        create_users: input.create_users,
        domains: served,
        tested_at: None,
        created_at: now,
    };
    let audit = owner.audit(
        "sso.connection_created",
        format!(
            "{} for {}{}",
            connection.issuer,
            connection.domain_names().join(", "),
            if connection.create_users {
                " (creates users on first sign-in)"
            } else {
                ""
            }
        ),
        now,
    );
    match state
        .store
        .create_sso_connection(&connection, &domain_ids, audit)
        .await?
    {
        SsoCreated::DomainTaken(domain) => Err(Refusal::conflict_at(
            "domains",
            "domain_taken",
            format!("{domain} is already served by another connection of this account."),
        )
        .into()),
        SsoCreated::Created => Ok(connection),
    }
}

/// What a change of enforcement did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforcement {
    /// Enforced; this many password sessions of affected people were ended.
    Enforced { sessions_ended: u64 },
    /// No longer enforced: passwords work again.
    Stopped,
}

/// What enforcing a connection would do: the connection and how many people it affects.
pub async fn enforcement_preview(
    state: &AppState,
    owner: &OwnerOf,
    id: &ConnectionId,
) -> Outcome<(SsoConnection, u64)> {
    let c = connection(state, owner, id).await?;
    let affected = state
        .store
        .sso_enforcement_affects(owner.account_id(), id)
        .await?;
    Ok((c, affected))
}

/// Enforces a connection (only after an owner's test sign-in through it), or stops.
pub async fn set_enforced(
    state: &AppState,
    owner: &OwnerOf,
    id: &ConnectionId,
    enforced: bool,
) -> Outcome<Enforcement> {
    owner.recently_authenticated(state)?;
    let now = state.clock.now();
    if !enforced {
        let audit = owner.audit("sso.not_enforced", id, now);
        return if state
            .store
            .stop_enforcing_sso(owner.account_id(), id, now, audit)
            .await?
        {
            tracing::warn!(
                event = "sso.not_enforced",
                user_id = owner.user_id().as_str(),
                account_id = owner.account_id().as_str(),
                connection_id = id.as_str(),
                client_ip = crate::web::request::client_ip(),
                "single sign-on is no longer enforced"
            );
            Ok(Enforcement::Stopped)
        } else {
            Err(no_such_connection().into())
        };
    }
    let audit = owner.audit("sso.enforced", id, now);
    match state
        .store
        .enforce_sso(owner.account_id(), id, now, audit)
        .await?
    {
        EnforceOutcome::Enforced { sessions_ended } => {
            tracing::warn!(
                event = "sso.enforced",
                user_id = owner.user_id().as_str(),
                account_id = owner.account_id().as_str(),
                connection_id = id.as_str(),
                sessions_ended,
                client_ip = crate::web::request::client_ip(),
                "single sign-on is now enforced"
            );
            Ok(Enforcement::Enforced { sessions_ended })
        }
        EnforceOutcome::NotTested => Err(test_sign_in_required().into()),
        EnforceOutcome::NotFound => Err(no_such_connection().into()),
    }
}

/// Changes a connection (enforcement first: when it is refused, nothing changes) and returns
/// it as it is now.
pub async fn update(
    state: &AppState,
    owner: &OwnerOf,
    id: &ConnectionId,
    change: ConnectionChange,
) -> Outcome<SsoConnection> {
    owner.recently_authenticated(state)?;
    if change == ConnectionChange::default() {
        return Err(Refusal::Invalid {
            field: "enforced",
            code: "parameter_missing",
            message: "Give enforced, create_users or both.".into(),
        }
        .into());
    }
    if let Some(enforced) = change.enforced {
        set_enforced(state, owner, id, enforced).await?;
    }
    if let Some(create_users) = change.create_users {
        set_create_users(state, owner, id, create_users).await?;
    }
    connection(state, owner, id).await
}

/// Turns "create users on first sign-in" on or off (the owner's choice: on an invite-only
/// server it lets anyone the provider signs in on a served domain become a member). False
/// when there is no such connection.
pub async fn set_create_users(
    state: &AppState,
    owner: &OwnerOf,
    id: &ConnectionId,
    create_users: bool,
) -> Outcome<()> {
    owner.recently_authenticated(state)?;
    let action = if create_users {
        "sso.create_users_on"
    } else {
        "sso.create_users_off"
    };
    let now = state.clock.now();
    let audit = owner.audit(action, id, now);
    if state
        .store
        .set_sso_create_users(owner.account_id(), id, create_users, now, audit)
        .await?
    {
        Ok(())
    } else {
        Err(no_such_connection().into())
    }
}

pub async fn delete(state: &AppState, owner: &OwnerOf, id: &ConnectionId) -> Outcome<()> {
    owner.recently_authenticated(state)?;
    let audit = owner.audit("sso.connection_deleted", id, state.clock.now());
    if state
        .store
        .delete_sso_connection(owner.account_id(), id, audit)
        .await?
    {
        Ok(())
    } else {
        Err(no_such_connection().into())
    }
}

/// Fetches the provider's discovery document: the authorization endpoint sign-in goes to,
/// or (refused) what is wrong, in words safe to show (never a fetched body).
pub async fn test_connection(
    state: &AppState,
    owner: &OwnerOf,
    id: &ConnectionId,
) -> Outcome<String> {
    let c = connection(state, owner, id).await?;
    state.oidc.check(&c.issuer).await.map_err(|e| {
        Refusal::unavailable("issuer_unreachable", provider_problem(&c.issuer, &e)).into()
    })
}

/// Splits a comma- or whitespace-separated list of domains as typed in a form.
pub fn split_domains(input: &str) -> Vec<String> {
    input
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
        .collect()
}

/// What to do about a client id that is not a clean name, in one sentence (the name rules'
/// own messages speak of "a name").
fn client_id_problem(e: crate::domain::text::NameError) -> String {
    use crate::domain::text::NameError;
    match e {
        NameError::Empty => "Enter the client id the identity provider gave you.".into(),
        NameError::TooLong(max) => format!("A client id has at most {max} characters."),
        NameError::ForbiddenCharacter => "A client id cannot contain line breaks, control characters, or invisible or direction-changing characters.".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::roles::Role;
    use crate::ports::prelude::*;
    use crate::testing::{code, refused, refused_code, Harness};

    #[test]
    fn client_id_problems_are_one_sentence_about_the_client_id() {
        for (input, expected) in [
            ("   ", "Enter the client id the identity provider gave you."),
            ("a\nb", "A client id cannot contain line breaks, control characters, or invisible or direction-changing characters."),
        ] {
            let problem = client_id_problem(clean_name(input, 255).unwrap_err());
            assert_eq!(problem, expected);
            assert!(!problem.contains("name"), "{problem}");
        }
        let long = "x".repeat(256);
        assert_eq!(
            client_id_problem(clean_name(&long, 255).unwrap_err()),
            "A client id has at most 255 characters."
        );
    }

    #[test]
    fn domains_split_on_commas_and_spaces() {
        assert_eq!(
            split_domains(" a.com, b.org  c.net,,"),
            vec!["a.com", "b.org", "c.net"]
        );
    }

    const ISSUER: &str = "https://login.example.com";

    fn input(domains: &[&str]) -> ConnectionInput {
        ConnectionInput {
            issuer: ISSUER.into(),
            client_id: "hub".into(),
            client_secret: Secret::new("s3cret"),
            domains: domains.iter().map(|d| (*d).to_owned()).collect(),
            create_users: false,
            enforced: false,
        }
    }

    /// An owner of Corp, which verified corp.test.
    async fn corp(h: &Harness) -> OwnerOf {
        let account = h.account("Corp");
        let owner = h.owner(&account, "owner@corp.test");
        h.verified_domain(&account, "corp.test").await;
        owner
    }

    #[tokio::test]
    async fn an_owner_connects_a_provider_with_a_sealed_secret_not_yet_enforced() {
        let h = Harness::new();
        let owner = corp(&h).await;
        let made = create(&h.state, &owner, input(&["CORP.test"]))
            .await
            .unwrap();
        assert!(!made.enforced);
        assert_eq!(made.tested_at, None);
        assert_eq!(made.domain_names(), vec!["corp.test"]);
        assert!(!made.client_secret_sealed.contains("s3cret"));
        let opened = h.state.sealing.open(&made.client_secret_sealed).unwrap();
        assert_eq!(opened.expose(), "s3cret");
        let listed = list(&h.state, &owner).await.unwrap();
        assert_eq!(listed, vec![made.clone()]);
        assert_eq!(
            h.store
                .sso_for_domain("corp.test")
                .await
                .unwrap()
                .map(|c| c.id),
            Some(made.id)
        );
        assert!(h
            .store
            .audit_actions()
            .contains(&"sso.connection_created".to_owned()));
    }

    #[tokio::test]
    async fn a_connection_cannot_start_out_enforced() {
        let h = Harness::new();
        let owner = corp(&h).await;
        let enforced = ConnectionInput {
            enforced: true,
            ..input(&["corp.test"])
        };
        assert_eq!(
            refused_code(create(&h.state, &owner, enforced).await),
            "test_sign_in_required"
        );
        assert!(list(&h.state, &owner).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn the_input_is_checked_field_by_field_and_nothing_is_saved() {
        let h = Harness::new();
        let owner = corp(&h).await;
        h.account_domain(owner.account_id(), "unverified.test")
            .await;
        let cases = [
            (
                ConnectionInput {
                    issuer: "http://login.example.com".into(),
                    ..input(&["corp.test"])
                },
                "issuer",
                "parameter_invalid",
            ),
            (
                ConnectionInput {
                    client_id: " ".into(),
                    ..input(&["corp.test"])
                },
                "client_id",
                "parameter_invalid_empty",
            ),
            (
                ConnectionInput {
                    client_secret: Secret::new("  "),
                    ..input(&["corp.test"])
                },
                "client_secret",
                "parameter_invalid",
            ),
            (input(&[]), "domains", "parameter_missing"),
            (
                input(&["unverified.test"]),
                "domains",
                "domain_not_verified",
            ),
            (input(&["elsewhere.test"]), "domains", "domain_not_verified"),
        ];
        for (bad, field, expected) in cases {
            let refusal = refused(create(&h.state, &owner, bad).await);
            assert_eq!((refusal.field(), code(&refusal)), (Some(field), expected));
        }
        assert!(list(&h.state, &owner).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_unreachable_provider_saves_nothing() {
        let h = Harness::new();
        let owner = corp(&h).await;
        h.oidc.set_unreachable(true);
        let refusal = refused(create(&h.state, &owner, input(&["corp.test"])).await);
        assert_eq!(
            (refusal.field(), code(&refusal)),
            (Some("issuer"), "issuer_unreachable")
        );
        assert!(list(&h.state, &owner).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_domain_serves_one_connection() {
        let h = Harness::new();
        let owner = corp(&h).await;
        create(&h.state, &owner, input(&["corp.test"]))
            .await
            .unwrap();
        let second = refused(create(&h.state, &owner, input(&["corp.test"])).await);
        assert_eq!(
            (code(&second), second.field()),
            ("domain_taken", Some("domains"))
        );
        assert_eq!(list(&h.state, &owner).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn enforcing_waits_for_a_test_sign_in_then_ends_affected_password_sessions() {
        let h = Harness::new();
        let owner = corp(&h).await;
        let account = owner.account_id().to_owned();
        let c = create(&h.state, &owner, input(&["corp.test"]))
            .await
            .unwrap();
        let dev = h.user_in(&account, "dev@corp.test", Role::Member).await;
        h.store.add_session(&dev, Some(&account), "password");
        h.store.add_session(&dev, Some(&account), "sso");
        h.store
            .add_session(owner.user_id(), Some(&account), "password");
        let early = set_enforced(&h.state, &owner, &c.id, true).await;
        assert_eq!(refused_code(early), "test_sign_in_required");
        assert!(!connection(&h.state, &owner, &c.id).await.unwrap().enforced);

        let (_, affected) = enforcement_preview(&h.state, &owner, &c.id).await.unwrap();
        assert_eq!(affected, 1, "the member, not the owner");
        h.oidc.sign_in_as("owner-sub", "owner@corp.test", true);
        crate::flows::sso_login::complete_test(&h.state, &owner, callback(&c))
            .await
            .unwrap();
        let done = set_enforced(&h.state, &owner, &c.id, true).await.unwrap();
        assert_eq!(done, Enforcement::Enforced { sessions_ended: 1 });
        let left: Vec<_> = h
            .store
            .sessions()
            .into_iter()
            .map(|s| (s.user_id, s.method))
            .collect();
        assert_eq!(
            left,
            vec![
                (dev.clone(), "sso".to_owned()),
                (owner.user_id().to_owned(), "password".to_owned())
            ]
        );
        assert!(
            h.store
                .sso_for_domain("corp.test")
                .await
                .unwrap()
                .unwrap()
                .enforced
        );
        // Passwords work again when it stops.
        let stopped = set_enforced(&h.state, &owner, &c.id, false).await.unwrap();
        assert_eq!(stopped, Enforcement::Stopped);
        assert!(
            !h.store
                .sso_for_domain("corp.test")
                .await
                .unwrap()
                .unwrap()
                .enforced
        );
    }

    fn callback(c: &SsoConnection) -> crate::flows::sso_login::Callback<'_> {
        crate::flows::sso_login::Callback {
            connection_id: &c.id,
            account_id: &c.account_id,
            code: "code",
            pkce_verifier: "verifier",
            nonce: "nonce",
        }
    }

    #[tokio::test]
    async fn a_refused_enforcement_changes_nothing_else_in_the_same_update() {
        let h = Harness::new();
        let owner = corp(&h).await;
        let c = create(&h.state, &owner, input(&["corp.test"]))
            .await
            .unwrap();
        let both = ConnectionChange {
            enforced: Some(true),
            create_users: Some(true),
        };
        assert_eq!(
            refused_code(update(&h.state, &owner, &c.id, both).await),
            "test_sign_in_required"
        );
        assert!(
            !connection(&h.state, &owner, &c.id)
                .await
                .unwrap()
                .create_users
        );
        let nothing = refused(update(&h.state, &owner, &c.id, ConnectionChange::default()).await);
        assert_eq!(code(&nothing), "parameter_missing");
        let only_users = ConnectionChange {
            enforced: None,
            create_users: Some(true),
        };
        let changed = update(&h.state, &owner, &c.id, only_users).await.unwrap();
        assert!(changed.create_users);
        assert!(h
            .store
            .audit_actions()
            .contains(&"sso.create_users_on".to_owned()));
    }

    #[tokio::test]
    async fn another_account_s_connection_is_not_found() {
        let h = Harness::new();
        let owner = corp(&h).await;
        let theirs = create(&h.state, &owner, input(&["corp.test"]))
            .await
            .unwrap();
        let other = h.account("Other");
        let stranger = h.owner(&other, "owner@other.test");
        let not_found = Refusal::NotFound("sso_connection");
        let id = &theirs.id;
        assert_eq!(
            refused(connection(&h.state, &stranger, id).await),
            not_found
        );
        assert_eq!(
            refused(set_enforced(&h.state, &stranger, id, false).await),
            not_found
        );
        assert_eq!(
            refused(set_enforced(&h.state, &stranger, id, true).await),
            not_found
        );
        assert_eq!(
            refused(set_create_users(&h.state, &stranger, id, true).await),
            not_found
        );
        assert_eq!(refused(delete(&h.state, &stranger, id).await), not_found);
        assert_eq!(
            refused(test_connection(&h.state, &stranger, id).await),
            not_found
        );
        assert_eq!(list(&h.state, &owner).await.unwrap(), vec![theirs]);
    }

    #[tokio::test]
    async fn testing_a_connection_fetches_its_discovery_document() {
        let h = Harness::new();
        let owner = corp(&h).await;
        let c = create(&h.state, &owner, input(&["corp.test"]))
            .await
            .unwrap();
        let endpoint = test_connection(&h.state, &owner, &c.id).await.unwrap();
        assert_eq!(endpoint, format!("{ISSUER}/authorize"));
        h.oidc.set_unreachable(true);
        let down = refused(test_connection(&h.state, &owner, &c.id).await);
        assert!(matches!(
            down,
            Refusal::Unavailable {
                code: "issuer_unreachable",
                ..
            }
        ));
    }

    #[tokio::test]
    async fn new_connections_may_take_the_verified_domains_no_connection_serves() {
        let h = Harness::new();
        let owner = corp(&h).await;
        let account = owner.account_id().to_owned();
        h.verified_domain(&account, "corp.example").await;
        h.account_domain(&account, "pending.test").await;
        let c = create(&h.state, &owner, input(&["corp.test"]))
            .await
            .unwrap();
        let free = unconnected_domains(&h.state, &owner, &[c]).await.unwrap();
        assert_eq!(free, vec!["corp.example"]);
    }

    #[tokio::test]
    async fn deleting_a_connection_stops_single_sign_on_for_its_domains() {
        let h = Harness::new();
        let owner = corp(&h).await;
        let c = create(&h.state, &owner, input(&["corp.test"]))
            .await
            .unwrap();
        delete(&h.state, &owner, &c.id).await.unwrap();
        assert!(h.store.sso_for_domain("corp.test").await.unwrap().is_none());
        assert_eq!(
            refused(delete(&h.state, &owner, &c.id).await),
            Refusal::NotFound("sso_connection")
        );
        assert!(h
            .store
            .audit_actions()
            .contains(&"sso.connection_deleted".to_owned()));
    }

    #[test]
    fn an_owner_never_reads_what_a_provider_sent() {
        let rejected = provider_problem(ISSUER, &SsoError::Rejected("<html>secret</html>".into()));
        assert_eq!(rejected, format!("{ISSUER} refused the request."));
        let forbidden = provider_problem(ISSUER, &SsoError::ForbiddenAddress);
        assert!(forbidden.contains("loopback, private or reserved"));
        let h = Harness::new();
        assert_eq!(redirect_uri(&h.state), "http://hub.test/auth/oidc/callback");
    }
}
