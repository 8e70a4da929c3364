//! Lists that come a page at a time, with one cursor rule for every list (Stripe's): newest
//! first (ids are time-ordered, so newest first is descending id); a page starts after the
//! item whose id is `starting_after`, or ends just before the item whose id is
//! `ending_before` (the newer items, paging backwards), and is in the list's order either way.
//!
//! Stores fetch a page walking away from its cursor: newest first below `starting_after`,
//! oldest first above `ending_before` (nearest the cursor first in both), up to `limit + 1`
//! rows; [`Page::from_fetched`] cuts the extra row off and puts the page in the list's order.

/// A page of a list: at most `limit` items, after the cursor `starting_after` or before the
/// cursor `ending_before` (ids). At most one cursor is given (the API refuses both); were both
/// set, `ending_before` would be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub starting_after: Option<String>,
    pub ending_before: Option<String>,
}

impl PageRequest {
    /// Everything, for pages of the web app that show a whole (short) list.
    pub fn everything() -> Self {
        Self {
            limit: u32::MAX,
            starting_after: None,
            ending_before: None,
        }
    }

    /// Whether the page is fetched backwards, towards newer items (`ending_before`): stores
    /// then read oldest first from just above the cursor.
    pub fn backwards(&self) -> bool {
        self.ending_before.is_some()
    }

    /// The id the page is fetched from: `ending_before` when paging backwards, else
    /// `starting_after` (none: the page starts at the newest item).
    pub fn cursor(&self) -> Option<&str> {
        self.ending_before
            .as_deref()
            .or(self.starting_after.as_deref())
    }

    /// Whether `id` lies on the page's side of its cursor (below `starting_after`, above
    /// `ending_before`); every id does without a cursor.
    pub fn admits(&self, id: &str) -> bool {
        match self.cursor() {
            None => true,
            Some(cursor) if self.backwards() => id > cursor,
            Some(cursor) => id < cursor,
        }
    }

    fn limit(&self) -> usize {
        usize::try_from(self.limit).unwrap_or(usize::MAX)
    }
}

/// One page of a list, and whether more follow it: after its last item, or, for a page
/// fetched backwards (`ending_before`), before its first (Stripe's `has_more`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_more: bool,
}

impl<T> Page<T> {
    /// From up to `limit + 1` rows a store fetched by the rule, walking away from the cursor
    /// (newest first after `starting_after`, oldest first before `ending_before`): the extra
    /// row only says that more follow. The page is in the list's order (newest first).
    pub fn from_fetched(mut rows: Vec<T>, request: &PageRequest) -> Self {
        let has_more = rows.len() > request.limit();
        rows.truncate(request.limit());
        if request.backwards() {
            rows.reverse();
        }
        Self {
            items: rows,
            has_more,
        }
    }

    /// Like [`Page::of`], but `None` when the cursor names no item of the list: a cursor
    /// from elsewhere is an error to report, not a page to guess (a paging loop fed an id
    /// of another list would otherwise go on).
    pub fn of_known(all: Vec<T>, request: &PageRequest, id: impl Fn(&T) -> &str) -> Option<Self> {
        if let Some(cursor) = request.cursor() {
            if !all.iter().any(|item| id(item) == cursor) {
                return None;
            }
        }
        Some(Self::of(all, request, id))
    }

    /// From a whole list in any order, for lists short enough to read at once (members,
    /// invitations, domains): cut at the cursor, fetched by the rule, then put in order.
    pub fn of(all: Vec<T>, request: &PageRequest, id: impl Fn(&T) -> &str) -> Self {
        let mut rows: Vec<T> = all
            .into_iter()
            .filter(|item| request.admits(id(item)))
            .collect();
        if request.backwards() {
            rows.sort_by(|a, b| id(a).cmp(id(b)));
        } else {
            rows.sort_by(|a, b| id(b).cmp(id(a)));
        }
        Self::from_fetched(rows, request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(limit: u32, after: Option<&str>) -> PageRequest {
        PageRequest {
            limit,
            starting_after: after.map(str::to_owned),
            ending_before: None,
        }
    }

    fn before(limit: u32, cursor: &str) -> PageRequest {
        PageRequest {
            limit,
            starting_after: None,
            ending_before: Some(cursor.to_owned()),
        }
    }

    #[test]
    fn a_cursor_that_names_no_item_is_refused_not_guessed() {
        let ids = vec!["a1", "a2", "a3"];
        assert!(Page::of_known(ids.clone(), &request(2, Some("a9")), |s| s).is_none());
        assert!(Page::of_known(ids.clone(), &before(2, "a0"), |s| s).is_none());
        let page = Page::of_known(ids.clone(), &request(2, Some("a3")), |s| s).unwrap();
        assert_eq!(page.items, vec!["a2", "a1"]);
        assert!(Page::of_known(ids, &request(2, None), |s| s).is_some());
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
    fn whole_lists_page_back_before_the_cursor_still_newest_first() {
        let ids = vec!["a1", "a3", "a2", "a5", "a4", "a6"];
        // Just before a2: the two newer ones next to it, and more before them.
        let page = Page::of(ids.clone(), &before(2, "a2"), |s| s);
        assert_eq!(page.items, vec!["a4", "a3"]);
        assert!(page.has_more);
        let page = Page::of(ids.clone(), &before(2, "a4"), |s| s);
        assert_eq!(page.items, vec!["a6", "a5"]);
        assert!(!page.has_more, "nothing is newer than a6");
        // Fewer than a page before the cursor: those, and nothing more.
        let page = Page::of(ids.clone(), &before(5, "a5"), |s| s);
        assert_eq!((page.items, page.has_more), (vec!["a6"], false));
        let page = Page::of(ids, &before(2, "a6"), |s| s);
        assert!(page.items.is_empty() && !page.has_more);
    }

    #[test]
    fn paging_back_gives_the_pages_paging_forward_gave() {
        let ids: Vec<String> = (0..7).map(|i| format!("id{i}")).collect();
        let mut forward = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = Page::of(ids.clone(), &request(3, cursor.as_deref()), |s| s.as_str());
            cursor = page.items.last().cloned();
            let more = page.has_more;
            forward.push(page.items);
            if !more {
                break;
            }
        }
        assert_eq!(forward.len(), 3);
        // From the last page, back before each page's first item.
        let mut back = vec![forward[2].clone()];
        let mut first = forward[2][0].clone();
        loop {
            let page = Page::of(ids.clone(), &before(3, &first), |s| s.as_str());
            first = page.items[0].clone();
            let more = page.has_more;
            back.push(page.items);
            if !more {
                break;
            }
        }
        back.reverse();
        assert_eq!(back, forward);
    }

    #[test]
    fn fetched_rows_say_whether_more_follow() {
        let page = Page::from_fetched(vec![3, 2, 1], &request(2, None));
        assert_eq!((page.items, page.has_more), (vec![3, 2], true));
        let page = Page::from_fetched(vec![3, 2], &request(2, None));
        assert_eq!((page.items, page.has_more), (vec![3, 2], false));
        assert!(!Page::from_fetched(vec![1], &PageRequest::everything()).has_more);
    }

    #[test]
    fn rows_fetched_backwards_come_out_newest_first() {
        // Oldest first from just above the cursor; the extra (newest) row says more precede.
        let page = Page::from_fetched(vec![4, 5, 6], &before(2, "3"));
        assert_eq!((page.items, page.has_more), (vec![5, 4], true));
        let page = Page::from_fetched(vec![4, 5], &before(2, "3"));
        assert_eq!((page.items, page.has_more), (vec![5, 4], false));
    }

    #[test]
    fn the_cursor_and_its_side() {
        let after = request(2, Some("m"));
        assert_eq!((after.cursor(), after.backwards()), (Some("m"), false));
        assert!(after.admits("a") && !after.admits("m") && !after.admits("z"));
        let back = before(2, "m");
        assert_eq!((back.cursor(), back.backwards()), (Some("m"), true));
        assert!(back.admits("z") && !back.admits("m") && !back.admits("a"));
        assert!(PageRequest::everything().admits("anything"));
    }
}
