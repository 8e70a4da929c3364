//! Error pages: not found, cross-site refusal, too many attempts, internal error. The internal
//! error page shows the request id, so a person can quote it and support can find the log.
use std::future::Future;

use axum::http::StatusCode;
use axum::response::Response;
use leptos::prelude::*;

use crate::web::shell::{render_page, AuthCard};

tokio::task_local! {
    /// The id of the request being served (its `x-request-id`), for the error page.
    static REQUEST_ID: String;
}

/// Serves `inner` with `id` as the request id its error pages show. The process's outermost
/// middleware calls it, so every handler and layer within sees the id.
pub async fn with_request_id<F: Future>(id: String, inner: F) -> F::Output {
    REQUEST_ID.scope(id, inner).await
}

/// The id of the request being served, when the middleware set one.
pub fn request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

pub fn not_found() -> Response {
    render_page(StatusCode::NOT_FOUND, "Page not found", || {
        view! {
            <AuthCard title="Page not found">
                <p>"There is no page at this address."</p>
                <p><a href="/">"Go to Terminus Hub"</a></p>
            </AuthCard>
        }
    })
}

pub async fn fallback() -> Response {
    not_found()
}

pub fn cross_site_refused() -> Response {
    render_page(StatusCode::FORBIDDEN, "Request refused", || {
        view! {
            <AuthCard title="Request refused">
                <p>"This form was sent from another site, so it was refused to protect your account."</p>
                <p><a href="/">"Go to Terminus Hub"</a></p>
            </AuthCard>
        }
    })
}

pub fn too_many_attempts(retry_after_secs: u64) -> Response {
    let minutes = retry_after_secs.div_ceil(60);
    render_page(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many attempts",
        move || {
            view! {
                <AuthCard title="Too many attempts">
                    <p role="alert" class="alert">
                        {format!("There were too many failed sign-in attempts from your network. Try again in {minutes} minute(s).")}
                    </p>
                    <p><a href="/forgot">"Forgot your password?"</a></p>
                </AuthCard>
            }
        },
    )
}

/// 429 at a door that sends mail (sign-up, resend, forgot password, unlock): the client's
/// network used its hourly budget. Says nothing about any address.
pub fn too_many_requests(retry_after_secs: u64) -> Response {
    let minutes = retry_after_secs.div_ceil(60);
    render_page(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many requests",
        move || {
            view! {
                <AuthCard title="Too many requests">
                    <p role="alert" class="alert">
                        {format!("There were too many requests like this one from your network. Try again in {minutes} minute(s).")}
                    </p>
                    <p><a href="/sign-in">"Back to sign in"</a></p>
                </AuthCard>
            }
        },
    )
}

/// 500: a failure on our side (a database or session store that failed), with the request id.
pub fn internal_error() -> Response {
    let id = request_id();
    render_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        move || {
            view! {
                <AuthCard title="Something went wrong">
                    <p>"Something went wrong on our side. Please try again in a moment."</p>
                    {id.map(|id| view! {
                        <p class="muted">"If it keeps happening, quote this request id: "<code>{id}</code></p>
                    })}
                    <p><a href="/">"Go to Terminus Hub"</a></p>
                </AuthCard>
            }
        },
    )
}

/// A request refused before it was read: an address or headers too long for this server
/// (414, 431).
pub fn request_refused(status: StatusCode, message: &'static str) -> Response {
    render_page(status, "Request refused", move || {
        view! {
            <AuthCard title="Request refused">
                <p role="alert" class="alert">{message}</p>
                <p><a href="/">"Go to Terminus Hub"</a></p>
            </AuthCard>
        }
    })
}

/// 403 for a signed-in person whose role does not allow the page.
pub fn forbidden(message: impl Into<String>) -> Response {
    let message = message.into();
    render_page(StatusCode::FORBIDDEN, "Not allowed", move || {
        view! {
            <AuthCard title="Not allowed">
                <p role="alert" class="alert">{message.clone()}</p>
                <p><a href="/home">"Back to your workspaces"</a></p>
            </AuthCard>
        }
    })
}

/// The page for a flow's refusal met while building a page (the one mapping for pages, as
/// `forms::refused` is for forms): 403 for a role or scope, 404 for what is not there, the
/// refusal's own status and message otherwise.
pub fn refused(refusal: &crate::flows::Refusal) -> Response {
    use crate::flows::Refusal;
    let status = match refusal {
        Refusal::NotAllowed { .. } | Refusal::MissingScope(_) => StatusCode::FORBIDDEN,
        Refusal::NotFound(_) => return not_found(),
        Refusal::Conflict { .. } => StatusCode::CONFLICT,
        Refusal::TooSoon { .. } => StatusCode::TOO_MANY_REQUESTS,
        Refusal::Invalid { .. } | Refusal::Unmet { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        Refusal::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
    };
    if status == StatusCode::FORBIDDEN {
        return forbidden(refusal.message());
    }
    let message = refusal.message();
    render_page(status, "That did not work", move || {
        view! {
            <AuthCard title="That did not work">
                <p role="alert" class="alert">{message.clone()}</p>
                <p><a href="/home">"Back to your workspaces"</a></p>
            </AuthCard>
        }
    })
}

/// 400 for a form post that could not be read: a field missing, or sent more than once.
pub fn unreadable_form(request_id: String) -> Response {
    render_page(
        StatusCode::BAD_REQUEST,
        "This form could not be read",
        move || {
            view! {
                <AuthCard title="This form could not be read">
                    <p role="alert" class="alert">"A field of the form was missing or sent more than once, so nothing was done. Go back, reload the page and try again."</p>
                    <p class="muted">{format!("Request id: {request_id}")}</p>
                    <p><a href="/">"Go to Terminus Hub"</a></p>
                </AuthCard>
            }
        },
    )
}
