//! Lists that come a page at a time.

/// A page of a list: newest first, after the cursor `starting_after` (an id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub starting_after: Option<String>,
}
