//! `Idempotency-Key` on every `POST` (Stripe's convention): the first answer under a key is
//! kept for 24 hours, per account, in the database (so every instance sees it); a retry with
//! the same request gets it again (with `Idempotent-Replayed: true`), the same key with
//! another request `409 idempotency_key_reused`, and a retry while the first is still being
//! answered `409 idempotency_key_in_use`. An answer our side failed (5xx) is not kept: the
//! retry runs again. Kept bodies are sealed with the server's key (a new API key is in one).
use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use app::domain::idempotency::{valid_key, Claim, KeptAnswer, KEPT_FOR};
use app::domain::ids::AccountId;
use app::domain::secret::Secret;

use super::body::MAX_BODY_BYTES;
use super::error::ApiError;
use super::ApiState;

const HEADER: &str = "idempotency-key";
/// The largest answer kept (a record is at most 256 KiB of JSON).
const MAX_KEPT_ANSWER: usize = 4 * 1024 * 1024;

/// Whether `req` asks to be done once: a `POST` with the header.
pub fn applies(req: &Request) -> bool {
    req.method() == Method::POST && req.headers().contains_key(HEADER)
}

fn request_hash(req: &axum::http::request::Parts, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(req.method.as_str());
    hash.update([0]);
    hash.update(req.uri.path_and_query().map(|p| p.as_str()).unwrap_or(""));
    hash.update([0]);
    hash.update(body);
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn conflict(code: &'static str, message: &str) -> Response {
    let mut err = ApiError::unprocessable(code, message);
    err.status = StatusCode::CONFLICT;
    err.param("Idempotency-Key").into_response()
}

/// Runs `req` (already authorized, for `account_id`) at most once per key.
pub async fn once(api: &ApiState, account_id: &AccountId, req: Request, next: Next) -> Response {
    let key = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if !valid_key(&key) {
        return ApiError::bad_request(
            "idempotency_key_invalid",
            "Idempotency-Key must be 1 to 255 visible ASCII characters, such as a UUID",
        )
        .param("Idempotency-Key")
        .into_response();
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
        return ApiError::too_large(
            "body_too_large",
            format!("The request body is larger than {MAX_BODY_BYTES} bytes"),
        )
        .into_response();
    };
    let hash = request_hash(&parts, &bytes);
    let now = api.app.clock.now();
    let store = &api.app.store;
    let claim = store
        .claim_idempotency_key(account_id, &key, &hash, now, now.plus(KEPT_FOR))
        .await;
    match claim {
        Err(err) => ApiError::from(err).into_response(),
        Ok(Claim::Mismatch) => conflict(
            "idempotency_key_reused",
            "This Idempotency-Key was used for another request in the last 24 hours: use a new key for a new request",
        ),
        Ok(Claim::InProgress) => conflict(
            "idempotency_key_in_use",
            "A request with this Idempotency-Key is still being answered: retry in a moment",
        ),
        Ok(Claim::Replay(kept)) => replay(api, kept),
        Ok(Claim::New) => {
            let res = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            keep(api, account_id, &key, res).await
        }
    }
}

/// The first answer again.
fn replay(api: &ApiState, kept: KeptAnswer) -> Response {
    let Ok(body) = api.app.sealing.open(&kept.body_sealed) else {
        tracing::error!("a kept idempotent answer could not be opened (was the key rotated?)");
        return ApiError::internal().into_response();
    };
    let status = StatusCode::from_u16(kept.status).unwrap_or(StatusCode::OK);
    let mut res = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.expose().to_owned(),
    )
        .into_response();
    let headers = res.headers_mut();
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    if let Some(location) = kept.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(header::LOCATION, location);
    }
    if status == StatusCode::CREATED {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// Keeps the first answer (unless our side failed it), then sends it on.
async fn keep(api: &ApiState, account_id: &AccountId, key: &str, res: Response) -> Response {
    let store = &api.app.store;
    if res.status().is_server_error() {
        if let Err(err) = store.release_idempotency_key(account_id, key).await {
            tracing::error!(error = %err, "an idempotency key could not be released");
        }
        return res;
    }
    let (parts, body) = res.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_KEPT_ANSWER).await else {
        tracing::error!("an answer too large to keep for Idempotency-Key retries");
        return ApiError::internal().into_response();
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let sealed = api.app.sealing.seal(&Secret::new(text));
    let kept = match sealed {
        Ok(body_sealed) => {
            let answer = KeptAnswer {
                status: parts.status.as_u16(),
                body_sealed,
                location: parts
                    .headers
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
            };
            store.keep_idempotent_answer(account_id, key, answer).await
        }
        Err(err) => Err(app::ports::StoreError(err.to_string())),
    };
    if let Err(err) = kept {
        // The change is made; only a retry would not be answered the same: say so in the log.
        tracing::error!(error = %err, "an idempotent answer could not be kept");
    }
    Response::from_parts(parts, Body::from(bytes))
}
