//! The Domains page, for owners, and the server functions its forms post to: add a domain,
//! see the TXT record to publish, verify it, delete it.
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::web::forms::Ctx;

#[server(prefix = "/_fn", endpoint = "add_domain")]
pub async fn add_domain(#[server(default)] domain: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = ssr::handle_add(&ctx, domain).await;
    ctx.finish(result, ssr::PATH).await
}

#[server(prefix = "/_fn", endpoint = "verify_domain")]
pub async fn verify_domain(#[server(default)] id: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = ssr::handle_verify(&ctx, id).await;
    ctx.finish(result, ssr::PATH).await
}

#[server(prefix = "/_fn", endpoint = "delete_domain")]
pub async fn delete_domain(#[server(default)] id: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = ssr::handle_delete(&ctx, id).await;
    ctx.finish(result, ssr::PATH).await
}

#[cfg(feature = "ssr")]
pub use ssr::domains_page;

#[cfg(feature = "ssr")]
mod ssr {
    use axum::extract::State;
    use axum::http::StatusCode;
    use leptos::prelude::*;
    use leptos::server_fn::ServerFn as _;
    use tower_sessions::Session;

    use super::{AddDomain, DeleteDomain, VerifyDomain};
    use crate::domain::ids::DomainId;
    use crate::domain::paging::PageRequest;
    use crate::flows::domains;
    use crate::paths;
    use crate::session::take_flash;
    use crate::web::forms::{Ctx, Next};
    use crate::web::respond::PageResult;
    use crate::web::shell::human_time;
    use crate::web::shell::{render_page, CopyScript, Copyable, Field, Messages, SignedIn};
    use crate::web::signed;
    use crate::AppState;

    pub const PATH: &str = paths::DOMAINS;

    pub async fn handle_add(ctx: &Ctx, input: String) -> Next {
        let owner = ctx.owner(PATH).await?;
        let added = domains::add(&ctx.state, &owner, &input).await;
        let d = ctx
            .settle_keeping(added, PATH, &[("domain", &input)])
            .await?;
        let message = format!(
            "{} added. Publish the TXT record below, then press Verify.",
            d.domain
        );
        ctx.notice(message, PATH).await
    }

    pub async fn handle_verify(ctx: &Ctx, id: String) -> Next {
        let owner = ctx.owner(PATH).await?;
        let d = ctx
            .settle(
                domains::verify(&ctx.state, &owner, &DomainId::from_input(&id)).await,
                PATH,
            )
            .await?;
        let message = format!(
            "{} is verified. Single sign-on connections of this account can now serve it.",
            d.domain
        );
        ctx.notice(message, PATH).await
    }

    pub async fn handle_delete(ctx: &Ctx, id: String) -> Next {
        let owner = ctx.owner(PATH).await?;
        ctx.settle(
            domains::delete(&ctx.state, &owner, &DomainId::from_input(&id)).await,
            PATH,
        )
        .await?;
        let message = "The domain was deleted: single sign-on no longer serves it.";
        ctx.notice(message, PATH).await
    }

    pub async fn domains_page(State(state): State<AppState>, session: Session) -> PageResult {
        let (member, owner) = signed::owner(&state, &session).await?;
        let flash = take_flash(&session).await?;
        let list = domains::list(&state, &owner, &PageRequest::everything())
            .await?
            .items;
        let chrome = member.chrome();
        Ok(render_page(StatusCode::OK, "Domains", move || {
            let rows = list
                .iter()
                .map(|d| {
                    let record = domains::record_for(d);
                    let status = match d.verified_at {
                        Some(at) => format!("Verified {}", human_time(at)),
                        None => "Not verified".to_owned(),
                    };
                    let verified = d.verified_at.is_some();
                    view! {
                        <tr>
                            <td>
                                <strong>{d.domain.clone()}</strong>
                            </td>
                            <td>{status}</td>
                            <td>
                                {(!verified)
                                    .then(|| {
                                        view! {
                                            <p class="hint">
                                                "Publish this TXT record at your DNS provider:"
                                            </p>
                                            <dl class="record">
                                                <dt>"Name"</dt>
                                                <dd>
                                                    <Copyable
                                                        id=format!("txt-name-{}", d.id)
                                                        text=record.name.clone()
                                                        what=format!("the record name for {}", d.domain)
                                                    />
                                                </dd>
                                                <dt>"Value"</dt>
                                                <dd>
                                                    <Copyable
                                                        id=format!("txt-value-{}", d.id)
                                                        text=record.value.clone()
                                                        what=format!("the record value for {}", d.domain)
                                                    />
                                                </dd>
                                            </dl>
                                            <form
                                                method="post"
                                                action=VerifyDomain::PATH
                                                class="inline"
                                            >
                                                <input type="hidden" name="id" value=d.id.clone() />
                                                <button type="submit" class="secondary small">
                                                    "Verify"
                                                </button>
                                            </form>
                                        }
                                    })}
                                <form method="post" action=DeleteDomain::PATH class="inline">
                                    <input type="hidden" name="id" value=d.id.clone() />
                                    <button type="submit" class="link danger-link">
                                        "Delete"
                                    </button>
                                </form>
                            </td>
                        </tr>
                    }
                })
                .collect_view();
            let empty = list.is_empty();
            view! {
                <SignedIn chrome=chrome.clone() current=PATH>
                    <h1>"Domains"</h1>
                    <Messages notice=flash.notice.clone() error=flash.error.clone() />
                    <p class="muted">
                        "Prove that this account controls an email domain by publishing a DNS TXT record. Only verified domains can use single sign-on; a mailbox on a domain proves nothing about it."
                    </p>
                    {if empty {
                        view! { <p class="empty">"No domains yet."</p> }.into_any()
                    } else {
                        view! {
                            <table class="domains">
                                <thead>
                                    <tr>
                                        <th scope="col">"Domain"</th>
                                        <th scope="col">"Status"</th>
                                        <th scope="col">
                                            <span class="visually-hidden">"Actions"</span>
                                        </th>
                                    </tr>
                                </thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }
                            .into_any()
                    }}
                    <h2>"Add a domain"</h2>
                    <form method="post" action=AddDomain::PATH class="stack" novalidate=true>
                        <Field
                            label="Domain"
                            name="domain"
                            kind="text"
                            autocomplete="off"
                            value=flash.value_of("domain")
                            error=flash.field("domain")
                            autofocus=flash.field("domain").is_some()
                            hint=Some(
                                "For example example.com. Public mail providers cannot be added.",
                            )
                        />
                        <button type="submit" class="primary">
                            "Add domain"
                        </button>
                    </form>
                    {(!empty).then(|| view! { <CopyScript /> })}
                </SignedIn>
            }
        }))
    }
}
