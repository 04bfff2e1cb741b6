//! Table-driven tests of conditions, combinators, caps and decisions, over visitors built by
//! the store's own `Visitor::apply` and a manual clock, so days pass without sleeping.

mod agree;
mod caps;
mod conditions;
mod config;
mod decide;
mod fuzz;
mod sieve;

use std::path::Path;
use std::sync::Arc;

use crate::clock::{Clock, ManualClock};
use crate::event::{Event, PopupAction, TimedEvent};
use crate::model::{Batch, SessionRules, Visitor};
use crate::visitor_id::VisitorId;

use super::{DecideRequest, Decision, Incoming, Lang, PreviewGrant, RuleSet};

pub const MIN: i64 = 60_000;
pub const HOUR: i64 = 60 * MIN;
pub const DAY: i64 = 24 * HOUR;
const SESSIONS: SessionRules = SessionRules {
    timeout_ms: 30 * MIN,
    max_sessions: 100,
    max_events_per_session: 200,
};

/// A configuration with one site and the given popup sections.
pub fn rule_set(rules: &str) -> Arc<RuleSet> {
    let text = format!("[[sites]]\nkey = \"demo\"\norigins = [\"http://a.jp\"]\n{rules}");
    match crate::rules::parse(Path::new("edge.toml"), &text) {
        Ok((_, set)) => set,
        Err(e) => panic!("{e}\n{text}"),
    }
}

/// One visitor browsing one site, with its own clock and log positions.
pub struct World {
    pub set: Arc<RuleSet>,
    pub clock: ManualClock,
    pub visitor: Visitor,
    pub company: Option<Arc<ipdb::Company>>,
    seq: u64,
    pub preview: Option<PreviewGrant>,
    pub lang: Lang,
}

impl World {
    pub fn new(set: Arc<RuleSet>) -> World {
        World::with_id(set, VisitorId([7; 16]))
    }

    pub fn with_id(set: Arc<RuleSet>, id: VisitorId) -> World {
        let clock = ManualClock::at(1_700_000_000_000);
        World {
            set,
            visitor: Visitor::new("demo".into(), id, clock.now_ms()),
            clock,
            company: None,
            seq: 0,
            preview: None,
            lang: Lang::Ja,
        }
    }

    pub fn pass(&self, ms: i64) -> &Self {
        self.clock.advance_ms(ms);
        self
    }

    fn apply(&mut self, events: Vec<TimedEvent>) {
        self.seq += 1;
        let batch = Batch {
            site: "demo".into(),
            visitor: self.visitor.id,
            received_ms: self.clock.now_ms(),
            network: None,
            company: self.company.clone(),
            events,
        };
        self.visitor.apply(self.seq, &batch, &SESSIONS);
        // The visitor side of identity, as the store applies it: a conversion with an email
        // joins the visitor to a person.
        crate::identity::stitch::decide(
            &mut self.visitor,
            self.seq,
            &batch,
            &|_| None,
            &mut crate::model::ids::RecordIds::new(self.seq),
        );
    }

    /// Decides for the page view as collect does, then stores both.
    pub fn view(&mut self, url: &str) -> Decision {
        self.view_with(url, None, Vec::new())
    }

    pub fn view_with(
        &mut self,
        url: &str,
        referrer: Option<&str>,
        mut extra: Vec<TimedEvent>,
    ) -> Decision {
        extra.push(page(url, referrer));
        let decision = self.decide(&extra, url);
        if let Some(event) = decision.record.clone() {
            extra.push(TimedEvent {
                client_ts: None,
                event,
            });
        }
        self.apply(extra);
        decision
    }

    /// What collect hands a decision for a view of `url` by this visitor now.
    pub fn incoming<'a>(&'a self, events: &'a [TimedEvent], url: &'a str) -> Incoming<'a> {
        Incoming {
            now: self.clock.now_ms(),
            session_timeout_ms: SESSIONS.timeout_ms,
            events,
            company: self.company.as_deref(),
            page_url: url,
            lead: None,
        }
    }

    pub fn decide(&self, events: &[TimedEvent], url: &str) -> Decision {
        let request = DecideRequest {
            site: "demo",
            visitor: self.visitor.id,
            incoming: self.incoming(events, url),
            lang: self.lang,
            preview: self.preview.as_ref(),
        };
        self.set.decide(Some(&self.visitor), &request)
    }

    pub fn answer(&mut self, rule: &str, action: PopupAction) {
        self.apply(vec![TimedEvent {
            client_ts: None,
            event: Event::Popup {
                rule: rule.into(),
                variant: "default".into(),
                action,
                url: None,
            },
        }]);
    }

    pub fn convert(&mut self) {
        self.apply(vec![TimedEvent {
            client_ts: None,
            event: Event::Conversion {
                form: "contact".into(),
                url: "https://a.jp/contact".into(),
                fields: vec![("email".into(), "a@corp.jp".into())],
            },
        }]);
    }

    /// The id of the rule whose popup this decision shows.
    pub fn shown(decision: &Decision) -> Option<&str> {
        decision.popup.as_ref().map(|p| p.rule.as_str())
    }
}

pub fn page(url: &str, referrer: Option<&str>) -> TimedEvent {
    TimedEvent {
        client_ts: None,
        event: Event::PageView {
            url: url.into(),
            referrer: referrer.map(str::to_string),
            title: None,
        },
    }
}

pub fn company(kind: ipdb::NetworkKind, employees: u32) -> Arc<ipdb::Company> {
    Arc::new(ipdb::Company {
        name: (kind == ipdb::NetworkKind::Business).then(|| "見込み工業".into()),
        domain: Some("mikomi-kogyo.example".into()),
        industry: Some("Manufacturing".into()),
        employees: Some(employees),
        size_band: ipdb::SizeBand::from_employees(Some(employees)),
        country: Some("JP".into()),
        asn: None,
        as_org: None,
        network_kind: kind,
        network_kind_confidence: ipdb::Confidence::High,
        source: "test".into(),
        network: "192.0.2.0/24".parse().unwrap_or_else(|_| unreachable!()),
    })
}
