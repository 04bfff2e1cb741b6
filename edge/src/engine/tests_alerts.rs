//! Alerts through `Engine::apply`: cooldowns, replay, per-destination state, dead letters.

use std::sync::Arc;

use super::*;
use crate::event::{Event, TimedEvent};
use crate::model::record::AdminOp;
use crate::notice::Alert;
use crate::visitor_id::VisitorId;

const HOUR: i64 = 3_600_000;

pub(crate) fn engine() -> Engine {
    Engine::new(Model {
        sessions: SessionRules {
            timeout_ms: 30 * 60_000,
            max_sessions: 100,
            max_events_per_session: 100,
        },
        scoring: ScoringRules::default(),
        key_pages: Vec::new(),
        webhooks: false,
    })
}

pub(crate) fn raised(visitor: u8, at: i64) -> LogRecord {
    let alert = Alert {
        rule: "hot".into(),
        kind: "account.hot".into(),
        subject: "account:corp.example".into(),
        cooldown_ms: 24 * HOUR,
        destinations: vec!["slack".into(), "teams".into()],
        lang: "ja".into(),
        company: None,
        person: None,
        heat: 20.0,
        visits: 2,
        visitors: 1,
        pages: vec!["/pricing".into()],
        known_people: Vec::new(),
    };
    LogRecord::Batch(Batch {
        site: Arc::from("demo"),
        visitor: VisitorId([visitor; 16]),
        received_ms: at,
        network: None,
        company: None,
        events: vec![
            TimedEvent {
                client_ts: None,
                event: Event::PageView {
                    url: "http://site.test/pricing".into(),
                    referrer: None,
                    title: None,
                },
            },
            TimedEvent {
                client_ts: None,
                event: Event::Alert(Box::new(alert)),
            },
        ],
    })
}

fn ids(engine: &Engine) -> Vec<u64> {
    lock(&engine.alerts).entries.keys().copied().collect()
}

#[test]
fn an_alert_is_queued_once_per_cooldown_and_never_again_on_replay() {
    let e = engine();
    e.apply(1, &raised(1, 0));
    assert_eq!(ids(&e).len(), 1);
    // Another visitor of the same company inside the cooldown: held back.
    e.apply(2, &raised(2, HOUR));
    assert_eq!(ids(&e).len(), 1);
    assert_eq!(lock(&e.alerts).suppressed, 1);
    // The visitor is not told about the alert; its sessions keep only its own events.
    let visitor = e
        .visitors
        .get(&VisitorKey {
            site: Arc::from("demo"),
            id: VisitorId([1; 16]),
        })
        .map(|v| (v.events, v.sessions[0].events.len()));
    assert_eq!(visitor, Some((1, 1)));
    // Delivered to slack only: still waiting for teams.
    e.apply(
        3,
        &LogRecord::Admin(AdminOp::AlertDelivered {
            alert: ids(&e)[0],
            destination: "slack".into(),
        }),
    );
    assert_eq!(
        lock(&e.alerts).pending()[0].pending,
        vec!["teams".to_string()]
    );
    // Replayed from a snapshot holding the cooldown but not the visitor: nothing new.
    let replay = engine();
    for entry in image::entries(&e).filter(|x| !matches!(x, image::Entry::Visitor(_))) {
        replay.load(entry);
    }
    replay.apply(1, &raised(1, 0));
    replay.apply(2, &raised(2, HOUR));
    assert_eq!(
        lock(&replay.alerts).pending()[0].pending,
        vec!["teams".to_string()]
    );
    assert_eq!(ids(&replay), ids(&e));
    // Past the cooldown it fires again, with a new id.
    e.apply(4, &raised(3, 25 * HOUR));
    assert_eq!(ids(&e).len(), 2);
}

#[test]
fn a_dead_destination_is_listed_and_a_retry_queues_it_again() {
    let e = engine();
    e.apply(1, &raised(1, 0));
    let id = ids(&e)[0];
    e.apply(
        2,
        &LogRecord::Admin(AdminOp::AlertDeadLettered {
            alert: id,
            destination: "teams".into(),
            reason: "answered 500".into(),
            attempts: 8,
            at_ms: HOUR,
        }),
    );
    e.apply(
        3,
        &LogRecord::Admin(AdminOp::AlertDelivered {
            alert: id,
            destination: "slack".into(),
        }),
    );
    let dead = lock(&e.alerts).dead_letters();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].1.destination, "teams");
    assert!(lock(&e.alerts).pending().is_empty());
    e.apply(
        4,
        &LogRecord::Admin(AdminOp::AlertRetried {
            alert: id,
            destination: "teams".into(),
        }),
    );
    assert!(lock(&e.alerts).dead_letters().is_empty());
    assert_eq!(
        lock(&e.alerts).pending()[0].pending,
        vec!["teams".to_string()]
    );
    e.apply(
        5,
        &LogRecord::Admin(AdminOp::AlertDelivered {
            alert: id,
            destination: "teams".into(),
        }),
    );
    assert!(
        ids(&e).is_empty(),
        "every destination took it: it leaves the table"
    );
}
