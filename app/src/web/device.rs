//! The device cookie: a long-lived random id (HttpOnly, `SameSite=Lax`, `Secure` and
//! `__Host-` named when the session cookie is, a year) that tells this person's browsers
//! apart for the new-device notice. Only its SHA-256 is stored, per person
//! (`flows::notices`). The layer reads it from each request and hands a [`DeviceCookie`] to
//! the handlers; a sign-in asks it for the id (minting one when the browser has none), and
//! only then does the answer (re)set the cookie.
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tower_sessions::cookie::{time, Cookie, SameSite};

use crate::domain::devices::{cookie_name, device_hash, new_device_id, COOKIE_LIFETIME};

/// This request's device cookie: the id the browser sent (when it is one of ours), or one
/// minted on demand, which the answer then sets.
#[derive(Clone, Default)]
pub struct DeviceCookie {
    inner: Arc<Mutex<Slot>>,
}

#[derive(Default)]
struct Slot {
    id: Option<String>,
    /// The id was asked for (a sign-in): the answer sets the cookie, renewing its year.
    used: bool,
}

impl std::fmt::Debug for DeviceCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceCookie(..)")
    }
}

impl DeviceCookie {
    fn presented(id: Option<String>) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Slot { id, used: false })),
        }
    }

    /// This browser's device id (a new one when it sent none), for a sign-in: the answer
    /// sets the cookie.
    pub fn id(&self) -> String {
        let mut slot = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        slot.used = true;
        slot.id
            .get_or_insert_with(|| new_device_id().expose().to_owned())
            .clone()
    }

    fn to_set(&self) -> Option<String> {
        let slot = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        slot.used.then(|| slot.id.clone()).flatten()
    }
}

/// The layer's setting: whether cookies are `Secure` (and `__Host-` named).
#[derive(Debug, Clone, Copy)]
pub struct DeviceCookies {
    pub secure: bool,
}

/// Reads the device cookie into the request's extensions, and sets it on the answer when a
/// sign-in used it.
pub async fn keep(State(config): State<DeviceCookies>, mut req: Request, next: Next) -> Response {
    let name = cookie_name(config.secure);
    let presented = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
        .filter(|v| device_hash(v).is_some());
    let cookie = DeviceCookie::presented(presented);
    req.extensions_mut().insert(cookie.clone());
    let mut response = next.run(req).await;
    if let Some(id) = cookie.to_set() {
        let max_age = time::Duration::seconds(COOKIE_LIFETIME.as_secs() as i64);
        let set = Cookie::build((name, id))
            .path("/")
            .http_only(true)
            .secure(config.secure)
            .same_site(SameSite::Lax)
            .max_age(max_age)
            .build();
        if let Ok(value) = HeaderValue::from_str(&set.to_string()) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_minted_once_and_set_only_when_asked_for() {
        let cookie = DeviceCookie::presented(None);
        assert_eq!(cookie.to_set(), None, "no sign-in, no cookie");
        let id = cookie.id();
        assert!(device_hash(&id).is_some());
        assert_eq!(cookie.id(), id, "one id per request");
        assert_eq!(cookie.to_set(), Some(id));
        let known = DeviceCookie::presented(Some("kept".into()));
        assert_eq!(known.id(), "kept");
    }
}
