//! Lists that come a page at a time, with one cursor rule for every list: newest first (ids
//! are time-ordered, so newest first is descending id), and a page starts after the item
//! whose id is `starting_after`.

/// A page of a list: at most `limit` items, after the cursor `starting_after` (an id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub starting_after: Option<String>,
}

impl PageRequest {
    /// Everything, for pages of the web app that show a whole (short) list.
    pub fn everything() -> Self {
        Self {
            limit: u32::MAX,
            starting_after: None,
        }
    }

    fn limit(&self) -> usize {
        usize::try_from(self.limit).unwrap_or(usize::MAX)
    }
}

/// One page of a list, and whether more follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_more: bool,
}

impl<T> Page<T> {
    /// From up to `limit + 1` rows a store fetched by the rule (newest first, after the
    /// cursor): the extra row only says that more follow.
    pub fn from_fetched(mut rows: Vec<T>, request: &PageRequest) -> Self {
        let has_more = rows.len() > request.limit();
        rows.truncate(request.limit());
        Self {
            items: rows,
            has_more,
        }
    }

    /// From a whole list in any order, for lists short enough to read at once (members,
    /// invitations, domains): sorted by the rule, then cut after the cursor.
    pub fn of(mut all: Vec<T>, request: &PageRequest, id: impl Fn(&T) -> &str) -> Self {
        all.sort_by(|a, b| id(b).cmp(id(a)));
        let after: Vec<T> = match &request.starting_after {
            Some(cursor) => all
                .into_iter()
                .filter(|item| id(item) < cursor.as_str())
                .collect(),
            None => all,
        };
        Self::from_fetched(after, request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(limit: u32, after: Option<&str>) -> PageRequest {
        PageRequest {
            limit,
            starting_after: after.map(str::to_owned),
        }
    }

    #[test]
    fn whole_lists_page_newest_first_after_the_cursor() {
        let ids = vec!["a1", "a3", "a2", "a5", "a4"];
        let first = Page::of(ids.clone(), &request(2, None), |s| s);
        assert_eq!(first.items, vec!["a5", "a4"]);
        assert!(first.has_more);
        let next = Page::of(ids.clone(), &request(2, Some("a4")), |s| s);
        assert_eq!(next.items, vec!["a3", "a2"]);
        assert!(next.has_more);
        let last = Page::of(ids, &request(2, Some("a2")), |s| s);
        assert_eq!(last.items, vec!["a1"]);
        assert!(!last.has_more);
    }

    #[test]
    fn fetched_rows_say_whether_more_follow() {
        let page = Page::from_fetched(vec![3, 2, 1], &request(2, None));
        assert_eq!((page.items, page.has_more), (vec![3, 2], true));
        let page = Page::from_fetched(vec![3, 2], &request(2, None));
        assert_eq!((page.items, page.has_more), (vec![3, 2], false));
        assert!(!Page::from_fetched(vec![1], &PageRequest::everything()).has_more);
    }
}
