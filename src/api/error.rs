//! The one JSON error envelope of `/api/v1`:
//! `{"error":{"type","code","message","param","path"}}`.
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What kind of error: `authentication_error` (401), `permission_error` (403),
/// `invalid_request_error` (400, 404, 405, 409, 413, 415, 422), `rate_limit_error` (429),
/// `api_error` (500, 503).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorType {
    AuthenticationError,
    PermissionError,
    InvalidRequestError,
    RateLimitError,
    ApiError,
}

/// An API error: a status and the envelope's fields.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: ErrorType,
    pub code: Option<&'static str>,
    pub message: String,
    pub param: Option<String>,
    pub path: Option<String>,
    pub retry_after: Option<u64>,
}

/// Every error answer of the API.
#[derive(Serialize, ToSchema)]
#[schema(as = Error, example = json!({"error": {"type": "invalid_request_error", "code": "parameter_missing", "message": "Missing required parameter: name", "param": "name", "path": "/name"}}))]
pub struct Envelope {
    error: Body,
}

/// The error itself.
#[derive(Serialize, ToSchema)]
#[schema(as = ErrorBody)]
struct Body {
    #[serde(rename = "type")]
    kind: ErrorType,
    /// A stable code for programs (`null` for authentication errors, which all read the same).
    #[schema(required = true, value_type = Option<ErrorCode>)]
    code: Option<&'static str>,
    /// A sentence for people; it may change.
    message: String,
    /// The offending parameter.
    #[schema(required = true)]
    param: Option<String>,
    /// A JSON Pointer (RFC 6901) to the offending value in the body.
    #[schema(required = true)]
    path: Option<String>,
}

/// Every `code` an error of this API can carry. The envelope's `code` is a string so flows
/// can name theirs; this enum is its documented vocabulary, and the integration tests check
/// every code they meet against it (through the served document).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    AccountLimitReached,
    AdminOnly,
    AlreadyMember,
    ApiKeyExpired,
    BodyTooLarge,
    CrossSiteRequest,
    DnsRecordNotFound,
    DnsUnavailable,
    DomainExists,
    DomainNotVerified,
    DomainTaken,
    DomainVerifiedElsewhere,
    DuplicateAuthorizationHeader,
    EmailTaken,
    Forbidden,
    HeadersTooLarge,
    IdempotencyKeyInUse,
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
    InsufficientScope,
    InternalError,
    InvalidJson,
    InvalidRequest,
    InvitationLimitReached,
    IssuerUnreachable,
    LastOwner,
    MethodNotAllowed,
    NotAMember,
    NotInvited,
    NotYourself,
    OwnerOnly,
    ParameterInvalid,
    ParameterInvalidCharacters,
    ParameterInvalidEmpty,
    ParameterInvalidStringTooLong,
    ParameterMissing,
    ParameterUnknown,
    ProviderUnreachable,
    PublicMailDomain,
    RateLimited,
    ReauthenticationRequired,
    RecentlySent,
    RecipientRecentlyEmailed,
    RecordTooLarge,
    RequestTimeout,
    ResourceMissing,
    RoleNotAllowed,
    RouteNotFound,
    SecondFactorRequired,
    SoleOwner,
    TestSignInRequired,
    TooManyRequests,
    UnreadableSecret,
    UnsupportedMediaType,
    UriTooLong,
}

use app::flows::Refusal;

impl ApiError {
    fn new(
        status: StatusCode,
        kind: ErrorType,
        code: Option<&'static str>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            kind,
            code,
            message: message.into(),
            param: None,
            path: None,
            retry_after: None,
        }
    }

    /// Missing, malformed, unknown, revoked and expired keys: one answer for all.
    pub fn invalid_key() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorType::AuthenticationError,
            None,
            "Invalid API key",
        )
    }

    pub fn permission(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ErrorType::PermissionError,
            Some(code),
            message,
        )
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorType::InvalidRequestError,
            Some("resource_missing"),
            format!("No such {what}"),
        )
    }

    pub fn route_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorType::InvalidRequestError,
            Some("route_not_found"),
            "Unrecognized request URL. See /openapi.json for the routes of this API.",
        )
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorType::InvalidRequestError,
            Some("method_not_allowed"),
            "This route does not accept this HTTP method",
        )
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorType::InvalidRequestError,
            Some(code),
            message,
        )
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorType::InvalidRequestError,
            Some(code),
            message,
        )
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorType::InvalidRequestError,
            Some("unsupported_media_type"),
            "Send the body as JSON with Content-Type: application/json",
        )
    }

    pub fn too_large(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorType::InvalidRequestError,
            Some(code),
            message,
        )
    }

    pub fn rate_limited(retry_after: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorType::RateLimitError,
            Some("rate_limited"),
            "Too many requests for this account. Retry after the number of seconds in Retry-After.",
        );
        e.retry_after = Some(retry_after.max(1));
        e
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorType::ApiError,
            Some("internal_error"),
            "Something went wrong on our side. Quote the x-request-id header when you report it.",
        )
    }

    /// 414: the request's address is longer than this server reads.
    pub fn uri_too_long(max: usize) -> Self {
        Self::new(
            StatusCode::URI_TOO_LONG,
            ErrorType::InvalidRequestError,
            Some("uri_too_long"),
            format!("The request URL is longer than {max} bytes"),
        )
    }

    /// 431: the request's headers are larger than this server reads.
    pub fn headers_too_large(max: usize) -> Self {
        Self::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ErrorType::InvalidRequestError,
            Some("headers_too_large"),
            format!("The request headers are larger than {max} bytes in all"),
        )
    }

    /// The envelope for an error answer that something other than the API's own code made (a
    /// path or query string that could not be decoded, the session layer failing, a route
    /// outside the API's router): the same status, in this shape.
    pub fn for_status(status: StatusCode) -> Self {
        match status {
            StatusCode::UNAUTHORIZED => Self::invalid_key(),
            StatusCode::NOT_FOUND => Self::route_not_found(),
            StatusCode::METHOD_NOT_ALLOWED => Self::method_not_allowed(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::unsupported_media_type(),
            StatusCode::PAYLOAD_TOO_LARGE => Self::too_large(
                "body_too_large",
                "The request body is larger than this route accepts",
            ),
            StatusCode::FORBIDDEN => Self::permission("forbidden", "This request is not allowed"),
            StatusCode::TOO_MANY_REQUESTS => Self::rate_limited(1),
            StatusCode::REQUEST_TIMEOUT => Self::new(
                status,
                ErrorType::InvalidRequestError,
                Some("request_timeout"),
                "The request was not answered in time (TERMINUS_REQUEST_TIMEOUT_SECS): nothing was changed unless a retry shows otherwise",
            ),
            s if s.is_server_error() => {
                let mut e = Self::internal();
                e.status = s;
                e
            }
            s => Self::new(
                s,
                ErrorType::InvalidRequestError,
                Some("invalid_request"),
                "The request could not be read: check its path, query string and headers",
            ),
        }
    }

    /// The offending parameter and its JSON Pointer in the body.
    pub fn at(mut self, param: &str, path: &str) -> Self {
        self.param = Some(param.to_owned());
        self.path = Some(path.to_owned());
        self
    }

    pub fn param(mut self, param: &str) -> Self {
        self.param = Some(param.to_owned());
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let envelope = Envelope {
            error: Body {
                kind: self.kind,
                code: self.code,
                message: self.message,
                param: self.param,
                path: self.path,
            },
        };
        let body = serde_json::to_vec(&envelope).unwrap_or_default();
        let mut res = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        res
    }
}

/// Infrastructure failures are logged and become a 500 `api_error`.
impl From<app::ports::StoreError> for ApiError {
    fn from(err: app::ports::StoreError) -> Self {
        tracing::error!(error = %err, "API request failed");
        ApiError::internal()
    }
}

impl From<app::flows::FlowError> for ApiError {
    fn from(err: app::flows::FlowError) -> Self {
        tracing::error!(error = %err, "API request failed");
        ApiError::internal()
    }
}

/// The one mapping of a flow's refusal to the error envelope.
impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        let message = refusal.message();
        match refusal {
            Refusal::NotAllowed { code, .. } => ApiError::permission(code, message),
            // `param` names the scope the key lacks.
            Refusal::MissingScope(scope) => {
                ApiError::permission("insufficient_scope", message).param(scope.as_str())
            }
            Refusal::NotFound(what) => ApiError::not_found(what),
            Refusal::Conflict { code, field, .. } => {
                let mut e = ApiError::unprocessable(code, message);
                e.status = StatusCode::CONFLICT;
                match field {
                    Some(field) => e.at(field, &format!("/{field}")),
                    None => e,
                }
            }
            Refusal::TooSoon {
                code,
                retry_after_secs,
                ..
            } => {
                let mut e = ApiError::rate_limited(retry_after_secs);
                e.code = Some(code);
                e.message = message;
                e
            }
            Refusal::Invalid { field, code, .. } => {
                ApiError::unprocessable(code, message).at(field, &format!("/{field}"))
            }
            Refusal::Unmet { code, .. } => ApiError::unprocessable(code, message),
            Refusal::Unavailable { code, .. } => {
                let mut e = ApiError::internal();
                e.code = Some(code);
                e.message = message;
                e.status = StatusCode::SERVICE_UNAVAILABLE;
                e
            }
        }
    }
}

impl From<app::flows::Stopped> for ApiError {
    fn from(stopped: app::flows::Stopped) -> Self {
        match stopped {
            app::flows::Stopped::Refused(refusal) => refusal.into(),
            app::flows::Stopped::Broken(err) => err.into(),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn invalid_key_is_exactly_the_documented_body() {
        let res = ApiError::invalid_key().into_response();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(res.headers()["www-authenticate"], "Bearer");
        let body = axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"error":{"type":"authentication_error","code":null,"message":"Invalid API key","param":null,"path":null}}"#
        );
    }
}
