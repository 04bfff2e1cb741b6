//! The morning digest under a manual clock, over a real embedded store.

use std::sync::Arc;

use super::*;
use crate::clock::ManualClock;
use crate::engine::Model;
use crate::engine::alerts::Message;
use crate::event::TimedEvent;
use crate::metrics::StoreMetrics;
use crate::model::{Batch, SessionRules};
use crate::store::embedded::{EmbeddedOptions, EmbeddedStore};
use crate::visitor_id::VisitorId;

const HOUR: i64 = 3_600_000;
/// 2026-12-02 00:00 in Tokyo (2026-12-01 15:00 UTC).
const TODAY_TOKYO: i64 = 1_796_137_200_000;

fn open(dir: &std::path::Path) -> Arc<dyn Store> {
    let store = EmbeddedStore::open(EmbeddedOptions {
        dir: dir.to_path_buf(),
        model: Model {
            sessions: SessionRules {
                timeout_ms: 30 * 60_000,
                max_sessions: 100,
                max_events_per_session: 100,
            },
            scoring: crate::scoring::ScoringRules::default(),
            key_pages: vec![crate::glob::Glob::new("/pricing*").expect("glob")],
            webhooks: false,
        },
        snapshot_after_bytes: u64::MAX,
        metrics: StoreMetrics::default(),
    })
    .expect("open the store");
    Arc::new(store)
}

fn batch(visitor: u8, at_ms: i64, events: Vec<Event>) -> Batch {
    Batch {
        site: "demo".into(),
        visitor: VisitorId([visitor; 16]),
        received_ms: at_ms,
        network: None,
        company: None,
        events: events
            .into_iter()
            .map(|event| TimedEvent {
                client_ts: None,
                event,
            })
            .collect(),
    }
}

fn page(path: &str) -> Event {
    Event::PageView {
        url: format!("https://example.jp{path}"),
        referrer: None,
        title: None,
    }
}

/// A person of `domain` on visitor `visitor`, then `pages` views at `at_ms`, an hour apart
/// per visit when `visits` > 1.
async fn company(store: &Arc<dyn Store>, visitor: u8, domain: &str, at_ms: i64, pages: &[&str]) {
    let conversion = Event::Conversion {
        form: "contact".into(),
        url: "https://example.jp/contact".into(),
        fields: vec![("email".into(), format!("someone@{domain}"))],
    };
    store
        .record(batch(visitor, at_ms, vec![conversion]))
        .await
        .expect("record");
    for (i, path) in pages.iter().enumerate() {
        store
            .record(batch(visitor, at_ms + 1000 + i as i64, vec![page(path)]))
            .await
            .expect("record");
    }
}

fn schedule() -> Schedule {
    Schedule {
        name: "morning".into(),
        site: "demo".into(),
        every: DigestPeriod::Day,
        at_minute: 8 * 60 + 30,
        tz: TimeZone::get("Asia/Tokyo").expect("zone"),
        lang: "ja".into(),
        to: vec!["sales-mail".into()],
        top: 10,
    }
}

fn digests(store: &Arc<dyn Store>) -> Vec<Digest> {
    lock(&store.engine().alerts)
        .entries
        .values()
        .filter_map(|e| match &e.message {
            Message::Digest(d) => Some((**d).clone()),
            Message::Alert(_) => None,
        })
        .collect()
}

#[tokio::test]
async fn the_morning_digest_lists_yesterdays_accounts_in_heat_order_once() {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(dir.path());
    let yesterday = TODAY_TOKYO - 24 * HOUR;
    // Yesterday (Tokyo): beta a little, alpha a lot, gamma the most but only at 23:30.
    company(
        &store,
        1,
        "beta.example",
        yesterday + 10 * HOUR,
        &["/about"],
    )
    .await;
    company(
        &store,
        2,
        "alpha.example",
        yesterday + 11 * HOUR,
        &["/pricing", "/pricing/plan", "/product"],
    )
    .await;
    company(
        &store,
        3,
        "gamma.example",
        yesterday + 23 * HOUR + HOUR / 2,
        &["/pricing", "/pricing", "/pricing", "/pricing"],
    )
    .await;
    // Today at 07:00 and the day before yesterday: not yesterday's.
    company(
        &store,
        4,
        "today.example",
        TODAY_TOKYO + 7 * HOUR,
        &["/pricing"; 9],
    )
    .await;
    company(
        &store,
        5,
        "older.example",
        yesterday - 2 * HOUR,
        &["/pricing"; 9],
    )
    .await;

    let clock = ManualClock::at(TODAY_TOKYO + 8 * HOUR); // 08:00: not yet
    let schedules = vec![schedule()];
    assert_eq!(tick(&store, &schedules, &clock).await, 0);
    clock.advance_ms(30 * 60_000); // 08:30
    assert_eq!(tick(&store, &schedules, &clock).await, 1);
    assert_eq!(tick(&store, &schedules, &clock).await, 0, "once per period");

    let digest = &digests(&store)[0];
    assert_eq!(digest.period, "2026-12-01");
    let order: Vec<&str> = digest
        .accounts
        .iter()
        .map(|a| a.company.domain.as_str())
        .collect();
    assert_eq!(
        order,
        ["gamma.example", "alpha.example", "beta.example"],
        "{digest:?}"
    );
    assert!(digest.accounts[0].heat > digest.accounts[1].heat);
    assert!(digest.accounts[1].heat > digest.accounts[2].heat);
    assert_eq!(digest.new_leads, 3);
    assert_eq!(digest.destinations, ["sales-mail"]);

    // The store reopened (a restart): the digest is still queued, and not made again.
    drop(store);
    let store = open(dir.path());
    assert_eq!(digests(&store).len(), 1);
    assert_eq!(tick(&store, &schedules, &clock).await, 0);
    // The next morning: the next period.
    clock.advance_ms(24 * HOUR);
    assert_eq!(tick(&store, &schedules, &clock).await, 1);
    let periods: Vec<String> = digests(&store).into_iter().map(|d| d.period).collect();
    assert_eq!(periods, ["2026-12-01", "2026-12-02"]);
}

#[test]
fn weekly_digests_cover_the_week_before_monday() {
    let mut weekly = schedule();
    weekly.every = DigestPeriod::Week;
    // 2026-12-02 is a Wednesday: the latest Monday 08:30 is two days ago, too late to send.
    assert_eq!(due(&weekly, TODAY_TOKYO + 9 * HOUR), None);
    let monday = TODAY_TOKYO - 2 * 24 * HOUR;
    let period = due(&weekly, monday + 9 * HOUR).expect("due on Monday morning");
    assert_eq!(period.label, "2026-11-23..2026-11-29");
    assert_eq!(period.to_ms - period.from_ms, 7 * 24 * HOUR);
    assert_eq!(period.to_ms, monday);
}
