//! Opaque, prefixed identifiers over UUIDv7 (time-ordered, so indexes stay append-mostly).

/// A new id such as `usr_0190f0c4…`. The prefix tells a reader what kind of thing it names.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

pub const USER: &str = "usr";
pub const ACCOUNT: &str = "acct";
pub const WORKSPACE: &str = "ws";
pub const AUDIT: &str = "evt";

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_prefixed_unique_and_ordered() {
        let a = super::new_id("ws");
        let b = super::new_id("ws");
        assert!(a.starts_with("ws_"));
        assert_eq!(a.len(), 3 + 32);
        assert_ne!(a, b);
        assert!(a < b, "UUIDv7 ids sort by creation time");
    }
}
