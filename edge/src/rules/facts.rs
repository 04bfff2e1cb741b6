//! What conditions are evaluated over: the visitor's stored state plus the request being
//! decided, gathered once per decision so a hundred rules share one pass over the history.

use std::cell::{Cell, OnceCell};

use crate::event::{Event, TimedEvent};
use crate::model::person::{LeadFacts, Stage};
use crate::model::{Session, Visitor};

use super::pages::{GlobIndex, Mask, PageGlob, PagePlan};
use super::path_masks::PathMasks;
use crate::glob::{Glob, query_params, url_path};

/// The facts for one page view.
pub struct Facts<'a> {
    pub now: i64,
    pub identified: bool,
    /// Visits ever, the one this page view belongs to included.
    pub visits_total: u32,
    /// Stored sessions, oldest first.
    pub sessions: &'a [Session],
    /// The page view starts a new visit (the previous one timed out, or there was none).
    pub new_session: bool,
    pub visit_started: i64,
    /// The page being viewed now.
    pub page_url: &'a str,
    /// The first page of the current visit and its referrer: where the visitor came from.
    pub landing_url: Option<&'a str>,
    pub landing_referrer: Option<&'a str>,
    pub company: Option<&'a ipdb::Company>,
    /// The company conditions may target (see `named_company`), worked out once per decision
    /// rather than once per company condition of every rule.
    pub named: Option<&'a ipdb::Company>,
    /// The landing page's UTM values in `UTM_NAMES` order, read on the first UTM condition
    /// rather than by every rule that has one.
    utm: OnceCell<[Option<&'a str>; 5]>,
    /// The lead score, rounded, and the owner's stage (`None` while anonymous).
    pub score: Option<i64>,
    pub stage: Option<&'a str>,
    /// How page conditions see the history.
    history: History<'a>,
    /// Distinct (glob, window) pairs of the rule set: the size of `memo`.
    slots: usize,
    /// Page and visit counts per slot, computed on first use; unset until then, so a
    /// decision that never reaches a count allocates nothing for it. Cells rather than a
    /// `RefCell`: reading a count, which most conditions of a decision do, checks no borrow.
    memo: OnceCell<Box<[Cell<u32>]>>,
}

/// The UTM parameters conditions can name, in the order `Facts` keeps their values.
pub const UTM_NAMES: [&str; 5] = [
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
];

/// Marks a slot not computed yet.
const UNKNOWN: u32 = u32::MAX;

/// How page conditions are answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageMatching {
    /// Through the rule set's glob index when it has one: each page view's path is matched
    /// once against every glob, on the first page condition evaluated. Decisions use it.
    Indexed,
    /// Each glob matched against every page view: the general path, which explain uses and
    /// which the indexed one must always agree with.
    Scan,
}

enum History<'a> {
    /// Every known page view: (edge time, path); empty if no rule looks at the history.
    Scan(Vec<(i64, &'a str)>),
    Indexed {
        index: &'a GlobIndex,
        /// The request's events: their page views are part of the history.
        incoming: &'a [TimedEvent],
        /// Page views before this time count for no condition and are not matched.
        oldest: i64,
        /// Per glob id, its page-count slots and windows.
        windows: &'a [Vec<(usize, Option<i64>)>],
        /// Every page count is in the memo.
        counted: Cell<bool>,
        /// The globs the current page matches.
        current: OnceCell<Mask>,
    },
}

/// What is being decided: the request's events and the page view they end with.
pub struct Incoming<'a> {
    pub now: i64,
    pub session_timeout_ms: i64,
    pub events: &'a [TimedEvent],
    pub company: Option<&'a ipdb::Company>,
    pub page_url: &'a str,
    /// The visitor's score and its owner's stage, read with the visitor.
    pub lead: Option<LeadFacts>,
}

impl<'a> Facts<'a> {
    /// `plan` is the rule set's page globs; the history is only walked if some rule looks at
    /// past page views, and with `PageMatching::Indexed` only once a page condition is reached.
    pub fn gather(
        visitor: Option<&'a Visitor>,
        incoming: &Incoming<'a>,
        plan: &'a PagePlan,
        matching: PageMatching,
    ) -> Facts<'a> {
        let now = incoming.now;
        let sessions: &[Session] = visitor.map_or(&[], |v| v.sessions.as_slice());
        let new_session = sessions
            .last()
            .is_none_or(|s| now.saturating_sub(s.last_ms) >= incoming.session_timeout_ms);
        let visits_total = visitor.map_or(0, |v| v.visits) + u32::from(new_session);
        let visit_started = match (new_session, sessions.last()) {
            (false, Some(s)) => s.started_ms,
            _ => now,
        };
        let incoming_pages = incoming.events.iter().filter_map(|e| match &e.event {
            Event::PageView { url, referrer, .. } => Some((url.as_str(), referrer.as_deref())),
            _ => None,
        });
        let stored_landing = if new_session {
            None
        } else {
            sessions.last().and_then(|s| {
                s.events.iter().find_map(|e| match &e.event {
                    Event::PageView { url, referrer, .. } => {
                        Some((url.as_str(), referrer.as_deref()))
                    }
                    _ => None,
                })
            })
        };
        let landing = stored_landing.or_else(|| incoming_pages.clone().next());
        let history = match (&plan.index, matching) {
            (Some(index), PageMatching::Indexed) => History::Indexed {
                index,
                incoming: incoming.events,
                oldest: plan.oldest_ms.map_or(i64::MIN, |w| now.saturating_sub(w)),
                windows: &plan.windows,
                counted: Cell::new(false),
                current: OnceCell::new(),
            },
            _ => {
                let mut pages = Vec::new();
                if plan.looks_back {
                    for session in sessions {
                        for stored in &session.events {
                            if let Event::PageView { url, .. } = &stored.event {
                                pages.push((stored.received_ms, url_path(url)));
                            }
                        }
                    }
                    pages.extend(incoming_pages.map(|(url, _)| (now, url_path(url))));
                }
                History::Scan(pages)
            }
        };
        let company = incoming
            .company
            .or_else(|| visitor.and_then(|v| v.company.as_deref()));
        Facts {
            now,
            identified: visitor.is_some_and(|v| v.owner().is_some())
                || incoming.events.iter().any(|e| e.event.identifies()),
            visits_total,
            sessions,
            new_session,
            visit_started,
            page_url: incoming.page_url,
            landing_url: landing.map(|(url, _)| url),
            landing_referrer: landing.and_then(|(_, referrer)| referrer),
            company,
            named: company.filter(|c| super::condition::is_named(c)),
            utm: OnceCell::new(),
            score: incoming.lead.map(|l| l.score.round() as i64),
            stage: incoming.lead.and_then(|l| l.stage).map(Stage::as_str),
            history,
            slots: plan.slots,
            memo: OnceCell::new(),
        }
    }

    /// Visits with activity in the last `within_ms` (or ever), the current one included.
    pub fn visits_within(&self, within_ms: Option<i64>) -> u32 {
        let Some(within) = within_ms else {
            return self.visits_total;
        };
        let cutoff = self.now.saturating_sub(within);
        // The current visit counts: it is active now. Stored ones count if active in the window.
        let stored_before_current = if self.new_session {
            self.sessions
        } else {
            &self.sessions[..self.sessions.len().saturating_sub(1)]
        };
        let earlier = stored_before_current
            .iter()
            .filter(|s| s.last_ms >= cutoff)
            .count() as u32;
        earlier + 1
    }

    /// Visits within `within_ms`, memoised in `slot`: every rule with the same window shares
    /// one count. Inlined: after the first rule, the count is known.
    #[inline]
    pub fn visits_in(&self, slot: usize, within_ms: Option<i64>) -> u32 {
        match self.known(slot) {
            Some(known) => known,
            None => self.count_visits(slot, within_ms),
        }
    }

    fn count_visits(&self, slot: usize, within_ms: Option<i64>) -> u32 {
        let count = self.visits_within(within_ms);
        self.remember(slot, count);
        count
    }

    /// The count in `slot`, if computed.
    #[inline]
    fn known(&self, slot: usize) -> Option<u32> {
        let cell = self.memo.get()?.get(slot)?;
        Some(cell.get()).filter(|&n| n != UNKNOWN)
    }

    /// The memo, every count unknown on first use.
    fn memo(&self) -> &[Cell<u32>] {
        self.memo
            .get_or_init(|| vec![Cell::new(UNKNOWN); self.slots].into_boxed_slice())
    }

    /// The landing page's value of the UTM parameter at `at` in `UTM_NAMES`, if it has one.
    pub fn utm(&self, at: usize) -> Option<&'a str> {
        let values = self.utm.get_or_init(|| {
            self.landing_url
                .map_or([None; 5], |url| query_params(url, &UTM_NAMES))
        });
        values.get(at).copied().flatten()
    }

    fn remember(&self, slot: usize, count: u32) {
        if let Some(cell) = self.memo().get(slot) {
            cell.set(count);
        }
    }

    /// Page views whose path matches `page` in the last `within_ms`, memoised in its slot.
    /// Inlined: after the first page condition of a decision, every count is known.
    #[inline]
    pub fn page_count(&self, page: &PageGlob, within_ms: Option<i64>) -> u32 {
        match self.known(page.slot) {
            Some(known) => known,
            None => self.count_page(page, within_ms),
        }
    }

    fn count_page(&self, page: &PageGlob, within_ms: Option<i64>) -> u32 {
        let cutoff = within_ms.map_or(i64::MIN, |w| self.now.saturating_sub(w));
        let count = match &self.history {
            History::Scan(pages) => pages
                .iter()
                .filter(|(at, path)| *at >= cutoff && page.glob.matches(path))
                .count(),
            History::Indexed { .. } => {
                self.count_pages();
                self.known(page.slot).unwrap_or(0) as usize
            }
        } as u32;
        self.remember(page.slot, count);
        count
    }

    /// Path of the page being viewed now.
    pub fn current_path(&self) -> &'a str {
        url_path(self.page_url)
    }

    /// Whether the current page matches `glob`, whose id in the rule set is `id`.
    pub fn on_page(&self, glob: &Glob, id: usize) -> bool {
        match &self.history {
            History::Indexed { index, current, .. } => {
                let mask = current.get_or_init(|| self.current_mask(index));
                mask & bit(id) != 0
            }
            History::Scan(_) => glob.matches(self.current_path()),
        }
    }

    /// The globs the current page matches. Not inlined: the first page condition of a
    /// decision asks, and every condition test that inlines `on_page` stays small.
    #[inline(never)]
    fn current_mask(&self, index: &GlobIndex) -> Mask {
        PathMasks::with(index, |masks| masks.url_mask(self.page_url))
    }

    /// Fills the memo with every page count of the rule set, on the first page condition:
    /// one pass over the history, each page's mask from the thread's remembered ones
    /// (`path_masks`), its globs' slots counted.
    fn count_pages(&self) {
        let History::Indexed {
            index,
            incoming,
            oldest,
            windows,
            counted,
            ..
        } = &self.history
        else {
            return;
        };
        if counted.replace(true) {
            return;
        }
        let memo = self.memo();
        for &(slot, _) in windows.iter().flatten() {
            if let Some(cell) = memo.get(slot) {
                cell.set(0);
            }
        }
        let now = self.now;
        let sessions = self.sessions;
        PathMasks::with(index, |masks| {
            let mut add = |at: i64, url: &str| {
                if at < *oldest {
                    return;
                }
                let mut mask = masks.url_mask(url);
                while mask != 0 {
                    let id = mask.trailing_zeros() as usize;
                    mask &= mask - 1;
                    for &(slot, within_ms) in windows.get(id).into_iter().flatten() {
                        let cutoff = within_ms.map_or(i64::MIN, |w| now.saturating_sub(w));
                        if at >= cutoff
                            && let Some(cell) = memo.get(slot)
                        {
                            cell.set(cell.get().saturating_add(1));
                        }
                    }
                }
            };
            for session in sessions {
                for stored in &session.events {
                    if let Event::PageView { url, .. } = &stored.event {
                        add(stored.received_ms, url);
                    }
                }
            }
            for event in *incoming {
                if let Event::PageView { url, .. } = &event.event {
                    add(now, url);
                }
            }
        });
    }

    pub fn visit_age_ms(&self) -> i64 {
        self.now.saturating_sub(self.visit_started)
    }
}

/// The mask bit of glob `id`; ids of an indexed set are always below `Mask::BITS`.
fn bit(id: usize) -> Mask {
    u32::try_from(id)
        .ok()
        .and_then(|id| Mask::from(1u8).checked_shl(id))
        .unwrap_or(0)
}
