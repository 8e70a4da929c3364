//! Error pages: not found, cross-site refusal, too many attempts, requests refused before they
//! were read, internal error. Every one shows the request id, so a person can quote it and
//! support can find the log line.
use axum::http::StatusCode;
use axum::response::Response;
use leptos::prelude::*;

use crate::paths;

use crate::web::request;
use crate::web::shell::{render_page, AuthCard};

/// The id of the request being served, when there is one.
pub fn request_id() -> Option<String> {
    request::request_id()
}

/// "Request id: …" under an error page's message (nothing outside a request).
#[component]
fn RequestId() -> impl IntoView {
    request_id().map(|id| {
        view! { <p class="muted">"If you contact support, quote this request id: "<code>{id}</code></p> }
    })
}

/// An error page: `title`, one message, the request id and a way back.
fn error_page(status: StatusCode, title: &'static str, message: String, back: Back) -> Response {
    render_page(status, title, move || {
        view! {
            <AuthCard title=title>
                <p role="alert" class="alert">
                    {message}
                </p>
                <RequestId />
                <p>
                    <a href=back.href>{back.text}</a>
                </p>
            </AuthCard>
        }
    })
}

#[derive(Clone, Copy)]
struct Back {
    href: &'static str,
    text: &'static str,
}

const HOME: Back = Back {
    href: "/",
    text: "Go to Terminus Hub",
};

pub fn not_found() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is no page at this address.".into(),
        HOME,
    )
}

pub async fn fallback() -> Response {
    not_found()
}

pub fn cross_site_refused() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "Request refused",
        "This form was sent from another site, so it was refused to protect your account.".into(),
        HOME,
    )
}

pub fn too_many_attempts(retry_after_secs: u64) -> Response {
    let minutes = retry_after_secs.div_ceil(60);
    error_page(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many attempts",
        format!("There were too many failed sign-in attempts from your network. Try again in {minutes} minute(s)."),
        Back {
            href: paths::FORGOT,
            text: "Forgot your password?",
        },
    )
}

/// 500: a failure on our side (a database or session store that failed), with the request id.
pub fn internal_error() -> Response {
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Something went wrong on our side. Please try again in a moment.".into(),
        HOME,
    )
}

/// A request refused before it was read or served: an address or headers too long for
/// this server (414, 431), a form too large (413), one that took too long (408).
pub fn request_refused(status: StatusCode, message: &'static str) -> Response {
    error_page(status, "Request refused", message.into(), HOME)
}

/// The page for an error answer that came without one (a framework's plain-text refusal):
/// the same status, in words a person can act on.
pub fn for_status(status: StatusCode) -> Response {
    let message = match status {
        StatusCode::BAD_REQUEST => "This request could not be read, so nothing was done. Go back, reload the page and try again.",
        StatusCode::METHOD_NOT_ALLOWED => "This address does not take this kind of request.",
        StatusCode::REQUEST_TIMEOUT => "This request took too long to be answered. Please try again.",
        StatusCode::PAYLOAD_TOO_LARGE => "This form is larger than the server accepts (2 MiB), so nothing was done. Go back and send less.",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "This form was sent in a format the server does not read, so nothing was done. Go back, reload the page and try again.",
        StatusCode::UNPROCESSABLE_ENTITY => "A field of the form was missing, sent more than once or not understood, so nothing was done. Go back, reload the page and try again.",
        s if s.is_server_error() => return with_status(internal_error(), s),
        _ => "This request was refused.",
    };
    request_refused(status, message)
}

fn with_status(mut page: Response, status: StatusCode) -> Response {
    *page.status_mut() = status;
    page
}

const WORKSPACES: Back = Back {
    href: paths::HOME,
    text: "Back to your workspaces",
};

/// 403 for a signed-in person whose role does not allow the page.
pub fn forbidden(message: impl Into<String>) -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "Not allowed",
        message.into(),
        WORKSPACES,
    )
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
    error_page(status, "That did not work", refusal.message(), WORKSPACES)
}

/// 429 at a door that sends mail (sign-up, resend, forgot password, unlock): the client's
/// network used its hourly budget. Says nothing about any address.
pub fn too_many_requests(retry_after_secs: u64) -> Response {
    let minutes = retry_after_secs.div_ceil(60);
    error_page(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many requests",
        format!("There were too many requests like this one from your network. Try again in {minutes} minute(s)."),
        Back {
            href: paths::SIGN_IN,
            text: "Back to sign in",
        },
    )
}

/// 400 for a form post that could not be read: a field missing, or sent more than once.
pub fn unreadable_form() -> Response {
    error_page(
        StatusCode::BAD_REQUEST,
        "This form could not be read",
        "A field of the form was missing or sent more than once, so nothing was done. Go back, reload the page and try again.".into(),
        HOME,
    )
}
