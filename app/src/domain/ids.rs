//! Opaque, prefixed identifiers over UUIDv7 (time-ordered, so indexes stay append-mostly), one
//! type per kind of thing they name, so an account id cannot be passed where a user id is
//! meant. Each is made three ways:
//! - `new()`: a fresh id such as `usr_0190f0c4…` (the prefix tells a reader what it names);
//! - `parse(&str)`: from untrusted input (a path segment, a form field, a JSON body); only
//!   `<prefix>_` and 32 lowercase hex digits pass, and anything else is `None`, which callers
//!   answer as they answer an unknown id;
//! - `from_stored(String)`: a value read back from storage (the store adapters, the in-memory
//!   fake, a session), taken as it was written.
//!
//! They serialize as their string, byte for byte (the REST API, the session store).

/// A new untyped id such as `evt_0190f0c4…` (audit events, whose ids nothing reads back).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

pub const AUDIT: &str = "evt";

/// Is `s` `prefix` + `_` + 32 lowercase hex digits (a UUID in its simple form)?
fn well_formed(prefix: &str, s: &str) -> bool {
    s.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|hex| {
            hex.len() == 32
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// What every id of this kind starts with (before the `_`).
            pub const PREFIX: &'static str = $prefix;

            /// A new id of this kind, later ones sorting after earlier ones.
            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                Self(new_id($prefix))
            }

            /// An id from untrusted input, if it is well formed for this kind; `None` is
            /// answered as an unknown id is.
            pub fn parse(s: &str) -> Option<Self> {
                well_formed($prefix, s).then(|| Self(s.to_owned()))
            }

            /// An id from untrusted input to look something up by: the id if it is well formed,
            /// else one that names nothing (`<prefix>_` and 32 zeros: `new()` never makes it,
            /// its UUID version being 7). So a malformed id is answered exactly as an unknown
            /// one, after the same checks in the same order.
            pub fn from_input(s: &str) -> Self {
                Self::parse(s).unwrap_or_else(|| Self(format!("{}_{}", $prefix, "0".repeat(32))))
            }

            /// An id read back from storage, taken as it was written.
            pub fn from_stored(s: impl Into<String>) -> Self {
                Self(s.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        /// Lets a stored id be compared with one passed by reference, as strings are.
        impl PartialEq<&$name> for $name {
            fn eq(&self, other: &&$name) -> bool {
                self.0 == other.0
            }
        }

        /// Unit tests name ids as literals (`"usr_1".into()`), as stored values.
        #[cfg(test)]
        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        /// An id as text (an audit event's detail, a message).
        impl From<&$name> for String {
            fn from(id: &$name) -> String {
                id.0.clone()
            }
        }

        /// An id in a page's attribute (a hidden field, a link) is its string.
        impl leptos::attr::IntoAttributeValue for $name {
            type Output = String;

            fn into_attribute_value(self) -> String {
                self.0
            }
        }

        /// Only for values read back from storage (a session): taken as they were written.
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d).map(Self)
            }
        }
    };
}

id_type!(
    /// An account (a tenant): `acct_…`.
    AccountId,
    "acct"
);
id_type!(
    /// A person: `usr_…`.
    UserId,
    "usr"
);
id_type!(
    /// A workspace of an account: `ws_…`.
    WorkspaceId,
    "ws"
);
id_type!(
    /// A data record in a workspace: `rec_…`.
    RecordId,
    "rec"
);
id_type!(
    /// An API key: `key_…`.
    ApiKeyId,
    "key"
);
id_type!(
    /// A domain claimed by an account: `dom_…`.
    DomainId,
    "dom"
);
id_type!(
    /// A single sign-on connection: `sso_…`.
    ConnectionId,
    "sso"
);
id_type!(
    /// An invitation to an account: `inv_…`.
    InvitationId,
    "inv"
);
id_type!(
    /// A person's passkey: `pk_…`.
    PasskeyId,
    "pk"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_unique_and_ordered() {
        let a = WorkspaceId::new();
        let b = WorkspaceId::new();
        assert!(a.as_str().starts_with("ws_"));
        assert_eq!(a.as_str().len(), 3 + 32);
        assert_ne!(a, b);
        assert!(a < b, "UUIDv7 ids sort by creation time");
        assert!(a.as_str() < b.as_str(), "and so do their strings");
    }

    #[test]
    fn each_kind_has_its_prefix() {
        let prefixes = [
            AccountId::new().to_string(),
            UserId::new().to_string(),
            WorkspaceId::new().to_string(),
            RecordId::new().to_string(),
            ApiKeyId::new().to_string(),
            DomainId::new().to_string(),
            ConnectionId::new().to_string(),
            InvitationId::new().to_string(),
        ]
        .map(|id| id.split('_').next().unwrap_or_default().to_owned());
        assert_eq!(
            prefixes,
            ["acct", "usr", "ws", "rec", "key", "dom", "sso", "inv"]
        );
    }

    #[test]
    fn parse_takes_back_what_new_made() {
        let id = AccountId::new();
        assert_eq!(AccountId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(id.to_string(), id.as_str());
        let key = ApiKeyId::new();
        assert_eq!(ApiKeyId::parse(&key.to_string()), Some(key));
    }

    #[test]
    fn parse_refuses_anything_else() {
        let hex = "0190f0c4a1b27c3d8e9f00112233aabb";
        assert!(UserId::parse(&format!("usr_{hex}")).is_some());
        for bad in [
            format!("acct_{hex}"),                           // another kind's prefix
            format!("usrx{hex}"),                            // no underscore
            format!("usr_{}", hex.to_uppercase()),           // uppercase hex
            format!("usr_{}", &hex[1..]),                    // too short
            format!("usr_{hex}0"),                           // too long
            format!("usr_{}g", &hex[1..]),                   // not hex
            format!(" usr_{hex}"),                           // padded
            format!("usr_{}", hex.replace('0', "\u{0660}")), // other digits
            String::new(),
            "usr_".to_owned(),
            "usr_1".to_owned(),
        ] {
            assert_eq!(UserId::parse(&bad), None, "{bad:?}");
        }
        assert_eq!(AccountId::parse(&UserId::new().to_string()), None);
        assert_eq!(WorkspaceId::parse(&ApiKeyId::new().to_string()), None);
    }

    #[test]
    fn malformed_input_names_nothing_that_new_makes() {
        let id = DomainId::new();
        assert_eq!(DomainId::from_input(id.as_str()), id);
        let nothing = DomainId::from_input("dom_x");
        assert_eq!(nothing.as_str(), format!("dom_{}", "0".repeat(32)));
        assert_eq!(DomainId::from_input("../etc"), nothing);
        assert_ne!(DomainId::new(), nothing);
    }

    #[test]
    fn serializes_as_its_string() {
        let id = ConnectionId::new();
        let json = serde_json::to_string(&id).unwrap_or_default();
        assert_eq!(json, format!("\"{id}\""));
        let back: ConnectionId = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
    }

    #[test]
    fn stored_values_are_taken_as_written() {
        assert_eq!(UserId::from_stored("usr_1").as_str(), "usr_1");
    }
}
