//! A visitor's state and the one function that changes it. Every backend applies batches through
//! `Visitor::apply`, and recovery replays the log through it too, so live state and recovered
//! state cannot drift apart.

use std::sync::Arc;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::Batch;
use super::ledger::{self, PopupHistory};
use super::person::{PersonId, Score};
use crate::event::{Event, TimedEvent};
use crate::visitor_id::VisitorId;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Visitor {
    pub site: Arc<str>,
    pub id: VisitorId,
    /// The last log position applied: replay skips what a snapshot already holds.
    pub last_seq: u64,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    /// Sessions ever started, including those no longer kept in memory.
    pub visits: u32,
    pub pageviews: u64,
    pub events: u64,
    pub network: Option<IpNet>,
    /// The company (or ISP, carrier, cloud) behind the latest address.
    #[serde(with = "crate::model::company::stored")]
    pub company: Option<Arc<ipdb::Company>>,
    /// The most recent sessions, oldest first.
    pub sessions: Vec<Session>,
    /// Popup caps and experiment arms; absent until a rule first met the visitor, so idle
    /// visitors pay one pointer for it.
    pub popups: Option<Box<PopupHistory>>,
    /// Who this device belonged to over time: each link holds from its `since_ms` on.
    pub links: Vec<Link>,
    /// An email click waiting for a sign of a human before it identifies anyone.
    /// Boxed: rare, and an idle visitor then pays one pointer for it.
    pub pending_click: Option<Box<PendingClick>>,
    pub score: Score,
}

/// Owners a visitor remembers at most (see `Visitor::add_link`).
pub const MAX_LINKS: usize = 64;

/// From `since_ms` on, the visitor's activity is `person`'s (`None`: anonymous again).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The log position that made the link.
    pub seq: u64,
    /// `i64::MIN` for a first join: the person owns every earlier session too.
    pub since_ms: i64,
    pub person: Option<PersonId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingClick {
    pub email: String,
    pub seq: u64,
    /// The session the click landed in: it expires with it.
    pub session_id: u64,
}

/// A visit: events with less than the session timeout between them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// The log position of the batch that opened it: unique and stable.
    pub id: u64,
    pub started_ms: i64,
    pub last_ms: i64,
    pub pageviews: u32,
    pub events: Vec<StoredEvent>,
    /// Events past the per-session bound: counted, not kept.
    pub dropped_events: u32,
    /// The log position of the last change to the session (new events, a new owner): the
    /// sessions feed is ordered by it.
    pub updated_seq: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    pub received_ms: i64,
    pub client_ts: Option<i64>,
    pub event: Event,
}

/// Makes room for `more` elements growing by half, not double, and exactly at first. `Vec`
/// starts at four elements, which for the one session and one page view of an idle visitor
/// is most of its memory; at a million visitors that is the difference between fitting in a
/// gigabyte and not.
fn grow_gently<T>(items: &mut Vec<T>, more: usize) {
    let needed = items.len() + more;
    if needed > items.capacity() {
        let target = needed.max(items.len() + items.len() / 2);
        items.reserve_exact(target - items.len());
    }
}

/// How events are cut into sessions and how much of them is kept.
#[derive(Clone, Copy, Debug)]
pub struct SessionRules {
    pub timeout_ms: i64,
    pub max_sessions: usize,
    pub max_events_per_session: usize,
}

/// What the visitor looks like after a batch: enough for the response and for rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VisitSummary {
    pub session_id: u64,
    pub new_session: bool,
    pub visits: u32,
    pub pageviews: u64,
    pub first_seen_ms: i64,
}

impl Visitor {
    pub fn new(site: Arc<str>, id: VisitorId, now_ms: i64) -> Self {
        Visitor {
            site,
            id,
            last_seq: 0,
            first_seen_ms: now_ms,
            last_seen_ms: now_ms,
            visits: 0,
            pageviews: 0,
            events: 0,
            network: None,
            company: None,
            sessions: Vec::new(),
            links: Vec::new(),
            pending_click: None,
            score: Score::default(),
            popups: None,
        }
    }

    /// Applies a batch stored at log position `seq`.
    pub fn apply(&mut self, seq: u64, batch: &Batch, rules: &SessionRules) -> VisitSummary {
        let now = batch.received_ms;
        let expired = self
            .sessions
            .last()
            .is_none_or(|s| now.saturating_sub(s.last_ms) >= rules.timeout_ms);
        if expired {
            self.visits = self.visits.saturating_add(1);
            grow_gently(&mut self.sessions, 1);
            self.sessions.push(Session {
                id: seq,
                started_ms: now,
                last_ms: now,
                pageviews: 0,
                events: Vec::new(),
                dropped_events: 0,
                updated_seq: seq,
            });
            if self.sessions.len() > rules.max_sessions {
                let excess = self.sessions.len() - rules.max_sessions;
                self.sessions.drain(..excess);
            }
        }
        let pageviews = batch
            .events
            .iter()
            .filter(|e| e.event.is_page_view())
            .count();
        if let Some(session) = self.sessions.last_mut() {
            session.updated_seq = seq;
            session.last_ms = session.last_ms.max(now);
            session.pageviews = session.pageviews.saturating_add(pageviews as u32);
            let room = rules
                .max_events_per_session
                .saturating_sub(session.events.len());
            grow_gently(&mut session.events, batch.events.len().min(room));
            for TimedEvent { client_ts, event } in &batch.events {
                if matches!(event, Event::Alert(_)) {
                    continue; // the engine's, not the visitor's: see `engine::alerts`
                }
                if session.events.len() < rules.max_events_per_session {
                    session.events.push(StoredEvent {
                        received_ms: now,
                        client_ts: *client_ts,
                        event: event.clone(),
                    });
                } else {
                    session.dropped_events = session.dropped_events.saturating_add(1);
                }
            }
        }
        self.last_seq = seq;
        self.first_seen_ms = self.first_seen_ms.min(now);
        self.last_seen_ms = self.last_seen_ms.max(now);
        self.pageviews += pageviews as u64;
        self.events += batch
            .events
            .iter()
            .filter(|e| !matches!(e.event, Event::Alert(_)))
            .count() as u64;
        if batch.network.is_some() {
            self.network = batch.network;
        }
        if let Some(company) = &batch.company {
            self.company = Some(Arc::clone(company));
        }
        for TimedEvent { event, .. } in &batch.events {
            if ledger::touches(event) {
                let history = match (&mut self.popups, event) {
                    (Some(history), _) => history,
                    // Only the edge's own decision starts a history.
                    (popups @ None, Event::PopupDecision { .. }) => popups.insert(Box::default()),
                    (None, _) => continue,
                };
                history.apply(now, event);
            }
        }
        self.summary(expired)
    }

    /// The person the visitor belongs to now.
    /// Records who holds the device from now on. At `MAX_LINKS` (a kiosk or a shared office
    /// PC passed between that many people) the oldest link goes: the sessions it covered count
    /// as the next link's owner's, or as anonymous before the first one kept.
    pub fn add_link(&mut self, link: Link) {
        if self.links.len() >= MAX_LINKS {
            self.links.remove(0);
        }
        self.links.push(link);
    }

    pub fn owner(&self) -> Option<PersonId> {
        self.links.last().and_then(|l| l.person)
    }

    /// Who owned the visitor's activity at `ms`.
    pub fn owner_at(&self, ms: i64) -> Option<PersonId> {
        self.links
            .iter()
            .rev()
            .find(|l| l.since_ms <= ms)
            .and_then(|l| l.person)
    }

    /// The owner of a session: whoever held the visitor when it last saw activity.
    pub fn session_owner(&self, session: &Session) -> Option<PersonId> {
        self.owner_at(session.last_ms)
    }

    fn summary(&self, new_session: bool) -> VisitSummary {
        VisitSummary {
            session_id: self.sessions.last().map_or(0, |s| s.id),
            new_session,
            visits: self.visits,
            pageviews: self.pageviews,
            first_seen_ms: self.first_seen_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_device_remembers_at_most_max_links_owners() {
        let mut v = Visitor::new("demo".into(), VisitorId([1; 16]), 0);
        for n in 0..=MAX_LINKS as u64 {
            v.add_link(Link {
                seq: n,
                since_ms: n as i64,
                person: Some(PersonId(n)),
            });
        }
        assert_eq!(v.links.len(), MAX_LINKS);
        assert_eq!(v.links[0].person, Some(PersonId(1)));
        assert_eq!(v.owner(), Some(PersonId(MAX_LINKS as u64)));
    }

    use super::*;

    const MIN: i64 = 60_000;
    const RULES: SessionRules = SessionRules {
        timeout_ms: 30 * MIN,
        max_sessions: 3,
        max_events_per_session: 2,
    };

    fn page(at_ms: i64, path: &str) -> Batch {
        Batch {
            site: "demo".into(),
            visitor: VisitorId([7; 16]),
            received_ms: at_ms,
            network: None,
            company: None,
            events: vec![TimedEvent {
                client_ts: None,
                event: Event::PageView {
                    url: format!("https://a.jp{path}"),
                    referrer: None,
                    title: None,
                },
            }],
        }
    }

    fn visitor() -> Visitor {
        Visitor::new("demo".into(), VisitorId([7; 16]), 0)
    }

    #[test]
    fn a_visit_ends_after_thirty_idle_minutes() {
        let mut v = visitor();
        let cases = [
            (0, true, 1),
            (29 * MIN, false, 1),
            (58 * MIN, false, 1),
            (88 * MIN, true, 2),
            (200 * MIN, true, 3),
        ];
        for (seq, (at, new_session, visits)) in cases.into_iter().enumerate() {
            let summary = v.apply(seq as u64 + 1, &page(at, "/"), &RULES);
            assert_eq!(summary.new_session, new_session, "at {at}");
            assert_eq!(summary.visits, visits, "at {at}");
        }
        assert_eq!(v.pageviews, 5);
        assert_eq!(v.sessions[0].pageviews, 3);
        assert_eq!(v.last_seen_ms, 200 * MIN);
        assert_eq!(v.last_seq, 5);
    }

    #[test]
    fn sessions_and_events_are_bounded_but_counted() {
        let mut v = visitor();
        for i in 0..5 {
            v.apply(i + 1, &page(i as i64 * 31 * MIN, "/a"), &RULES);
        }
        assert_eq!(v.visits, 5);
        assert_eq!(v.sessions.len(), 3);
        assert_eq!(v.sessions[0].id, 3, "the oldest sessions go first");
        for i in 0..4 {
            v.apply(10 + i, &page(200 * MIN, "/b"), &RULES);
        }
        assert_eq!(v.visits, 6);
        let last = v.sessions.last().expect("session");
        assert_eq!(last.id, 10);
        assert_eq!(last.events.len(), 2);
        assert_eq!(last.dropped_events, 2);
        assert_eq!(last.pageviews, 4, "dropped events still count");
        assert_eq!(v.events, 9);
    }

    #[test]
    fn an_idle_visitor_holds_no_spare_room() {
        let mut v = visitor();
        v.apply(1, &page(0, "/"), &RULES);
        assert_eq!(v.sessions.capacity(), 1);
        assert_eq!(v.sessions[0].events.capacity(), 1);
        for i in 2..12 {
            v.apply(i, &page(i as i64, "/"), &RULES);
        }
        let events = &v.sessions[0].events;
        assert!(events.capacity() >= events.len() && events.capacity() <= events.len() * 2);
    }

    #[test]
    fn a_batch_from_an_earlier_clock_does_not_move_time_back() {
        let mut v = visitor();
        v.apply(1, &page(10 * MIN, "/"), &RULES);
        let summary = v.apply(2, &page(5 * MIN, "/"), &RULES);
        assert!(!summary.new_session);
        assert_eq!(v.last_seen_ms, 10 * MIN);
        assert_eq!(v.first_seen_ms, 0);
    }
}
