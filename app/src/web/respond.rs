//! How a page answers: a rendered page, a 303 to the next one, or a logged failure shown as
//! the generic error page.
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

/// A failure while building a page: logged, and shown as a generic error page.
#[derive(Debug)]
pub struct PageError(pub String);

impl From<crate::ports::StoreError> for PageError {
    fn from(e: crate::ports::StoreError) -> Self {
        PageError(e.to_string())
    }
}

impl From<crate::flows::FlowError> for PageError {
    fn from(e: crate::flows::FlowError) -> Self {
        PageError(e.to_string())
    }
}

impl From<crate::auth::AuthError> for PageError {
    fn from(e: crate::auth::AuthError) -> Self {
        PageError(e.to_string())
    }
}

impl From<tower_sessions::session::Error> for PageError {
    fn from(e: tower_sessions::session::Error) -> Self {
        PageError(format!("session: {e}"))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self.0, "page failed");
        crate::web::errors::internal_error()
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
