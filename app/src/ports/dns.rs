//! DNS TXT lookups, for proving control of a domain.
use async_trait::async_trait;

/// A DNS lookup that could not be answered (as opposed to an answer without records).
#[derive(Debug, thiserror::Error)]
#[error("DNS lookup failed: {0}")]
pub struct DnsError(pub String);

/// TXT lookups, for proving control of a domain.
#[async_trait]
pub trait DnsTxt: Send + Sync + 'static {
    /// The TXT strings at `name` (each record's character-strings joined); empty when the
    /// name does not exist or has no TXT record.
    async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError>;
}
