//! The decision the rules benchmarks measure: one page view against 100 rules, over a
//! visitor with five visits and thirty page views, from a mid-size company's network. Shared
//! by the criterion benchmark (time) and `rules-instructions` (instructions under callgrind).
//!
//! Cases: no rule eligible (every rule is evaluated, the common case), the lowest-priority
//! rule winning (every rule evaluated, then caps, assignment and the popup), both over rules
//! that share a dozen key-page globs as real sites do; and the worst case where fifty rules
//! each count page views of their own glob, once as every decision after the first meets it
//! (each path's mask remembered) and once on first sight (every path matched afresh).

use std::path::Path;
use std::sync::Arc;

use mikomi_edge::event::{Event, TimedEvent};
use mikomi_edge::model::{Batch, SessionRules, Visitor};
use mikomi_edge::rules::{DecideRequest, Decision, Incoming, Lang, RuleSet};
use mikomi_edge::visitor_id::VisitorId;

const NOW: i64 = 1_700_000_000_000;
const DAY: i64 = 86_400_000;
const SESSIONS: SessionRules = SessionRules {
    timeout_ms: 30 * 60 * 1000,
    max_sessions: 100,
    max_events_per_session: 200,
};

/// 100 rules of four shapes, each with its own globs and values, none matching the visitor
/// unless `last_wins` adds a catch-all at the lowest priority.
fn rules(last_wins: bool, distinct_globs: bool) -> Arc<RuleSet> {
    let mut text = String::from(
        "[[sites]]\nkey = \"demo\"\norigins = [\"https://a.jp\"]\n[popups]\nmax_per_day = 16\n",
    );
    let count = if last_wins { 99 } else { 100 };
    for i in 0..count {
        let g = if distinct_globs { i } else { i % 12 };
        let when = match i % 4 {
            0 => format!(
                "[{{ anonymous = true }}, {{ visits = {{ at_least = 3, within = \"7d\" }} }}, {{ pages = {{ glob = \"*/product-{g}*\", at_least = 2, within = \"30d\" }} }}]"
            ),
            1 => format!(
                "[{{ anonymous = true }}, {{ pages_all = {{ globs = [\"*/faq*\", \"*/pricing-{g}*\"], within = \"30d\" }} }}]"
            ),
            2 => format!(
                "[{{ company_size = [\"enterprise\"] }}, {{ industry = [\"industry-{i}\"] }}, {{ page = \"*/pricing*\" }}]"
            ),
            _ => format!(
                "[{{ utm = {{ source = \"campaign-{i}\" }} }}, {{ referrer = \"*search-{i}*\" }}]"
            ),
        };
        text.push_str(&format!(
            "[[rules]]\nid = \"rule-{i}\"\ntemplate = \"brochure\"\npriority = {}\nholdout = 0.1\nwhen = {when}\n",
            i + 1
        ));
    }
    if last_wins {
        text.push_str("[[rules]]\nid = \"catch-all\"\ntemplate = \"brochure\"\npriority = 0\nwhen = [{ anonymous = true }, { visits = { at_least = 2 } }]\n");
    }
    match mikomi_edge::rules::parse(Path::new("bench.toml"), &text) {
        Ok((_, set)) => set,
        Err(e) => panic!("{e}"),
    }
}

fn company() -> Arc<ipdb::Company> {
    Arc::new(ipdb::Company {
        name: Some("見込み工業".into()),
        domain: Some("mikomi-kogyo.example".into()),
        industry: Some("Manufacturing".into()),
        employees: Some(300),
        size_band: ipdb::SizeBand::Mid,
        country: Some("JP".into()),
        asn: None,
        as_org: None,
        network_kind: ipdb::NetworkKind::Business,
        network_kind_confidence: ipdb::Confidence::High,
        source: "bench".into(),
        network: "192.0.2.0/24".parse().unwrap_or_else(|_| unreachable!()),
    })
}

fn page(url: String) -> TimedEvent {
    TimedEvent {
        client_ts: None,
        event: Event::PageView {
            url,
            referrer: Some("https://www.google.com/".into()),
            title: Some("製品".into()),
        },
    }
}

/// Five visits over four days, six page views each.
fn visitor() -> Visitor {
    let id = VisitorId([5; 16]);
    let mut visitor = Visitor::new("demo".into(), id, NOW - 4 * DAY);
    let mut seq = 0;
    for visit in 0..5i64 {
        for view in 0..6i64 {
            seq += 1;
            let path = match view {
                0 => "/demo/?utm_source=mail".to_string(),
                1 => "/demo/faq.html".into(),
                2 => "/demo/pricing.html".into(),
                n => format!("/demo/product-{}.html", visit * 6 + n),
            };
            let batch = Batch {
                site: "demo".into(),
                visitor: id,
                received_ms: NOW - (4 - visit) * DAY + view * 60_000,
                network: None,
                company: Some(company()),
                events: vec![page(format!("https://a.jp{path}"))],
            };
            visitor.apply(seq, &batch, &SESSIONS);
        }
    }
    visitor
}

const PAGE_URL: &str = "https://a.jp/demo/pricing.html";

/// One benchmark case: a rule set, the visitor and the page view being decided.
pub struct DecideCase {
    pub name: &'static str,
    pub set: Arc<RuleSet>,
    /// Whether a rule (the lowest-priority one) wins.
    pub popup: bool,
    /// Each decision matches every path afresh, as if the thread had never seen the site.
    pub first_sight: bool,
    pub visitor: Visitor,
    company: Arc<ipdb::Company>,
    events: [TimedEvent; 1],
}

impl DecideCase {
    /// One decision, as the benchmark times it.
    pub fn decide(&self, request: &DecideRequest<'_>) -> Decision {
        if self.first_sight {
            mikomi_edge::rules::forget_page_masks();
        }
        self.set.decide(Some(&self.visitor), request)
    }

    pub fn request(&self) -> DecideRequest<'_> {
        DecideRequest {
            site: "demo",
            visitor: self.visitor.id,
            incoming: Incoming {
                now: NOW + 3_600_000,
                session_timeout_ms: SESSIONS.timeout_ms,
                events: &self.events,
                company: Some(&self.company),
                page_url: PAGE_URL,
                lead: None,
            },
            lang: Lang::Ja,
            preview: None,
        }
    }
}

/// The cases, in the order the benchmark reports them.
pub fn decide_cases() -> Vec<DecideCase> {
    [
        ("100_rules_none_eligible", false, false, false),
        ("100_rules_last_wins", true, false, false),
        ("100_rules_50_distinct_page_globs", false, true, false),
        (
            "100_rules_50_distinct_page_globs_first_sight",
            false,
            true,
            true,
        ),
    ]
    .into_iter()
    .map(|(name, last_wins, distinct, first_sight)| DecideCase {
        name,
        set: rules(last_wins, distinct),
        popup: last_wins,
        first_sight,
        visitor: visitor(),
        company: company(),
        events: [page(PAGE_URL.to_string())],
    })
    .collect()
}
