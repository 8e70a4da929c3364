//! Reading JSON bodies with precise errors: 415 for a wrong content type, 413 for too large,
//! 400 for malformed JSON, 422 (with `param` and a JSON Pointer `path`) for a wrong field.
use std::collections::BTreeMap;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::error::ApiError;

/// Bodies above this are refused before parsing.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A JSON object body, checked field by field by the handler; the text as sent is kept for
/// members that are stored rather than read (see [`JsonObject::raw`]).
pub struct JsonObject(pub Map<String, Value>, Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime.eq_ignore_ascii_case("application/json")
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            });
        if !is_json {
            return Err(ApiError::unsupported_media_type());
        }
        let bytes = axum::body::to_bytes(Body::new(req.into_body()), MAX_BODY_BYTES)
            .await
            .map_err(|_| {
                ApiError::too_large(
                    "body_too_large",
                    format!("The request body is larger than {MAX_BODY_BYTES} bytes"),
                )
            })?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::bad_request(
                "invalid_json",
                // (serde's message already ends with "at line L column C".)
                format!("The body is not valid JSON: {e}"),
            )
        })?;
        match value {
            Value::Object(map) => Ok(JsonObject(map, bytes)),
            _ => Err(
                ApiError::bad_request("invalid_json", "The body must be a JSON object").at("", ""),
            ),
        }
    }
}

impl JsonObject {
    /// Refuses fields the endpoint does not know (a typo should not be silently ignored).
    pub fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.0.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(unknown) => Err(ApiError::unprocessable(
                "parameter_unknown",
                format!(
                    "Received unknown parameter: {unknown}. Allowed: {}",
                    allowed.join(", ")
                ),
            )
            .at(unknown, &pointer(unknown))),
            None => Ok(()),
        }
    }

    /// Refuses fields that the request type `T` (the body's documented shape) does not have.
    pub fn only_fields_of<'de, T: serde::Deserialize<'de>>(&self) -> Result<(), ApiError> {
        self.only(fields_of::<T>())
    }

    /// A top-level member's JSON text exactly as it was sent: numbers of any precision within
    /// a float's range (the body parsed as a `Value` first, which refuses `1e400` and nesting
    /// of 128 levels), `-0`, key order and spacing untouched (parsing into a `Value` would turn
    /// `12345678901234567890123` into a float and sort keys).
    pub fn raw(&self, name: &str) -> Option<Box<RawValue>> {
        // The body parsed as a `Value` above, so it parses as members here too; a repeated
        // member counts once, the last one, as in `Value`.
        let members: BTreeMap<String, &RawValue> = serde_json::from_slice(&self.1).ok()?;
        members.get(name).map(|raw| (*raw).to_owned())
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    /// A required string of 1 to `max` characters (trimmed).
    pub fn name(&self, name: &str, max: usize) -> Result<String, ApiError> {
        match self.get(name) {
            None => Err(ApiError::unprocessable(
                "parameter_missing",
                format!("Missing required parameter: {name}"),
            )
            .at(name, &pointer(name))),
            Some(v) => string_field(v, name, max),
        }
    }

    pub fn optional_name(&self, name: &str, max: usize) -> Result<Option<String>, ApiError> {
        self.get(name)
            .map(|v| string_field(v, name, max))
            .transpose()
    }
}

fn string_field(value: &Value, name: &str, max: usize) -> Result<String, ApiError> {
    let Value::String(s) = value else {
        return Err(ApiError::unprocessable(
            "parameter_invalid",
            format!("{name} must be a string"),
        )
        .at(name, &pointer(name)));
    };
    // Names follow the same hygiene as everywhere else (no control, invisible or bidi
    // characters; NFC), so a name cannot forge a log line or disguise itself.
    app::domain::text::clean_name(s, max).map_err(|e| {
        let message = match e {
            app::domain::text::NameError::Empty => format!("{name} must not be empty"),
            app::domain::text::NameError::TooLong(max) => {
                format!("{name} must be at most {max} characters")
            }
            app::domain::text::NameError::ForbiddenCharacter => format!(
                "{name} must not contain control characters, line breaks, or invisible or direction-changing characters"
            ),
        };
        ApiError::unprocessable(e.code(), message).at(name, &pointer(name))
    })
}

/// The member names of a request type as serde reads them: the one list of fields a body may
/// have, shared by the check above and the OpenAPI document (derived from the same type).
pub fn fields_of<'de, T: serde::Deserialize<'de>>() -> &'static [&'static str] {
    match T::deserialize(FieldNames) {
        Err(FieldsOf(fields)) => fields,
        Ok(_) => &[],
    }
}

/// A deserializer that reads nothing: asked for a struct, it answers with the struct's field
/// names (as its "error"), so they come from serde's derive instead of a second list.
struct FieldNames;

#[derive(Debug)]
struct FieldsOf(&'static [&'static str]);

impl std::fmt::Display for FieldsOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "fields {:?}", self.0)
    }
}

impl std::error::Error for FieldsOf {}

impl serde::de::Error for FieldsOf {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        FieldsOf(&[])
    }
}

impl<'de> serde::Deserializer<'de> for FieldNames {
    type Error = FieldsOf;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, FieldsOf> {
        Err(FieldsOf(&[]))
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, FieldsOf> {
        Err(FieldsOf(fields))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// The JSON Pointer (RFC 6901) of a top-level member.
pub fn pointer(name: &str) -> String {
    format!("/{}", name.replace('~', "~0").replace('/', "~1"))
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Example {
        name: String,
        #[serde(rename = "expires_at")]
        expiry: Option<String>,
    }

    #[test]
    fn a_request_type_names_its_fields() {
        assert_eq!(super::fields_of::<Example>(), ["name", "expires_at"]);
    }

    #[test]
    fn pointers_escape() {
        assert_eq!(super::pointer("a/b~c"), "/a~1b~0c");
    }
}
