//! Error pages: not found, cross-site refusal, too many attempts, internal error.
use axum::http::StatusCode;
use axum::response::Response;
use leptos::prelude::*;

use crate::web::shell::{render_page, AuthCard};

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

pub fn internal_error() -> Response {
    render_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        || {
            view! {
                <AuthCard title="Something went wrong">
                    <p>"Something went wrong on our side. Please try again in a moment."</p>
                    <p><a href="/">"Go to Terminus Hub"</a></p>
                </AuthCard>
            }
        },
    )
}

/// 403 for a signed-in person whose role does not allow the page.
pub fn forbidden(message: &'static str) -> Response {
    render_page(StatusCode::FORBIDDEN, "Not allowed", move || {
        view! {
            <AuthCard title="Not allowed">
                <p role="alert" class="alert">{message}</p>
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
