//! What conditions are evaluated over: the visitor's stored state plus the request being
//! decided, gathered once per decision so a hundred rules share one pass over the history.

use std::cell::RefCell;

use crate::collect::event::{Event, TimedEvent};
use crate::store::{Session, Visitor};

use super::glob::{Glob, url_path};

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
    /// Path of the page being viewed now.
    pub current_path: &'a str,
    /// The first page of the current visit and its referrer: where the visitor came from.
    pub landing_url: Option<&'a str>,
    pub landing_referrer: Option<&'a str>,
    pub company: Option<&'a ipdb::Company>,
    /// Filled by scoring once it exists; conditions on them do not hold until then.
    pub score: Option<i64>,
    pub stage: Option<&'a str>,
    /// Every known page view: (edge time, path).
    pub pages: Vec<(i64, &'a str)>,
    /// Page counts per (glob, window) slot, computed on first use.
    memo: RefCell<Vec<u32>>,
}

/// Marks a slot not computed yet.
const UNKNOWN: u32 = u32::MAX;

/// What is being decided: the request's events and the page view they end with.
pub struct Incoming<'a> {
    pub now: i64,
    pub session_timeout_ms: i64,
    pub events: &'a [TimedEvent],
    pub company: Option<&'a ipdb::Company>,
    pub page_url: &'a str,
}

impl<'a> Facts<'a> {
    /// `slots` is the rule set's number of (glob, window) pairs; `want_pages` whether any rule
    /// looks at past page views at all (if none does, the history is not walked).
    pub fn gather(
        visitor: Option<&'a Visitor>,
        incoming: &Incoming<'a>,
        slots: usize,
        want_pages: bool,
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
        let mut pages = Vec::new();
        if want_pages {
            for session in sessions {
                for stored in &session.events {
                    if let Event::PageView { url, .. } = &stored.event {
                        pages.push((stored.received_ms, url_path(url)));
                    }
                }
            }
            pages.extend(incoming_pages.map(|(url, _)| (now, url_path(url))));
        }
        Facts {
            now,
            identified: visitor.is_some_and(|v| v.identified)
                || incoming.events.iter().any(|e| e.event.identifies()),
            visits_total,
            sessions,
            new_session,
            visit_started,
            current_path: url_path(incoming.page_url),
            landing_url: landing.map(|(url, _)| url),
            landing_referrer: landing.and_then(|(_, referrer)| referrer),
            company: incoming
                .company
                .or_else(|| visitor.and_then(|v| v.company.as_deref())),
            score: None,
            stage: None,
            pages,
            memo: RefCell::new(vec![UNKNOWN; slots]),
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

    /// Page views whose path matches `glob` in the last `within_ms`, memoised in `slot`.
    pub fn page_count(&self, glob: &Glob, slot: usize, within_ms: Option<i64>) -> u32 {
        if let Some(&known) = self.memo.borrow().get(slot)
            && known != UNKNOWN
        {
            return known;
        }
        let cutoff = within_ms.map_or(i64::MIN, |w| self.now.saturating_sub(w));
        let count = self
            .pages
            .iter()
            .filter(|(at, path)| *at >= cutoff && glob.matches(path))
            .count() as u32;
        if let Some(cell) = self.memo.borrow_mut().get_mut(slot) {
            *cell = count;
        }
        count
    }

    pub fn visit_age_ms(&self) -> i64 {
        self.now.saturating_sub(self.visit_started)
    }
}
