//! The pages (GET handlers). Each reads what it needs from the session and the store, then
//! renders a Leptos view to plain HTML.
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

pub mod account;
pub mod accounts;
pub mod api_keys;
pub mod errors;
pub mod invite;
pub mod links;
pub mod members;
pub mod sign_in;
pub mod sign_up;
pub mod sso;
pub mod sso_callback;

/// A failure while building a page: logged, and shown as a generic error page.
#[derive(Debug)]
pub struct PageError(pub String);

impl<E: std::fmt::Display> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.to_string())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self.0, "page failed");
        errors::internal_error()
    }
}

pub type PageResult = Result<Response, PageError>;

/// 303 See Other: the answer of every redirect in the web app.
pub fn see_other(path: &str) -> Response {
    let mut res = Redirect::to(path).into_response();
    *res.status_mut() = StatusCode::SEE_OTHER;
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    res
}
