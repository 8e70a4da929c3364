//! How a page answers: a rendered page, a 303 to the next one, another page instead (sign-in
//! for the signed out, 403 for a role that may not see it), or a logged failure shown as the
//! generic error page.
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

/// Why a page is not the one asked for: another page answers instead (so `?` can leave a
/// page handler early), or a failure, logged and shown as the generic error page.
#[derive(Debug)]
pub enum PageError {
    Instead(Response),
    Failed(String),
}

impl From<crate::ports::StoreError> for PageError {
    fn from(e: crate::ports::StoreError) -> Self {
        PageError::Failed(e.to_string())
    }
}

impl From<crate::flows::FlowError> for PageError {
    fn from(e: crate::flows::FlowError) -> Self {
        PageError::Failed(e.to_string())
    }
}

impl From<crate::auth::AuthError> for PageError {
    fn from(e: crate::auth::AuthError) -> Self {
        PageError::Failed(e.to_string())
    }
}

impl From<tower_sessions::session::Error> for PageError {
    fn from(e: tower_sessions::session::Error) -> Self {
        PageError::Failed(format!("session: {e}"))
    }
}

/// A flow that stopped while building a page: a refusal shows its page (403, 404, or the
/// message), a failure the generic error page.
impl From<crate::flows::Stopped> for PageError {
    fn from(stopped: crate::flows::Stopped) -> Self {
        match stopped {
            crate::flows::Stopped::Refused(refusal) => {
                PageError::Instead(crate::web::errors::refused(&refusal))
            }
            crate::flows::Stopped::Broken(err) => err.into(),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Instead(page) => page,
            PageError::Failed(error) => {
                tracing::error!(error = %error, "page failed");
                crate::web::errors::internal_error()
            }
        }
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
