//! Retention through `Engine::apply`: what expires, what stays, and that the record decides.

use super::*;
use crate::retention::Policy;

fn policy() -> Policy {
    Policy {
        anonymous_ms: 90 * DAY,
        people_ms: 760 * DAY,
        events_ms: 400 * DAY,
        keep_stages: vec![Stage::Customer],
    }
}

fn key(n: u8) -> VisitorKey {
    VisitorKey {
        site: "demo".into(),
        id: VisitorId([n; 16]),
    }
}

fn kept(log: &Log, n: u8) -> bool {
    log.state.visitors.get(&key(n)).is_some()
}

/// One pass as the edge runs it: search at `now`, store every record.
fn expire_at(log: &mut Log, now: i64) -> usize {
    let records = log.state.expired(&policy(), now);
    let n = records.len();
    for record in records {
        log.admin(AdminOp::Expire(Box::new(record)));
    }
    n
}

#[test]
fn quiet_anonymous_visitors_go_and_active_or_identified_ones_stay() {
    let mut log = Log::new();
    log.batch(1, 0, vec![page("/")]); // quiet since day 0
    log.batch(2, 0, vec![page("/")]);
    log.batch(2, 80 * DAY, vec![page("/again")]); // active since
    log.batch(3, 0, vec![form("a@x.jp", "A")]); // identified
    expire_at(&mut log, 100 * DAY);
    assert!(!kept(&log, 1));
    assert!(kept(&log, 2) && kept(&log, 3));
    let expired = &log.state.expired;
    assert_eq!(
        expired.visitors.load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

#[test]
fn a_visit_between_the_search_and_the_record_keeps_the_visitor() {
    let mut log = Log::new();
    log.batch(1, 0, vec![page("/")]);
    let records = log.state.expired(&policy(), 100 * DAY);
    assert_eq!(records.len(), 1);
    log.batch(1, 100 * DAY, vec![page("/back")]);
    log.admin(AdminOp::Expire(Box::new(records[0].clone())));
    assert!(
        kept(&log, 1),
        "the record's cutoff is checked when it is applied"
    );
}

#[test]
fn quiet_people_go_with_their_devices_unless_their_stage_or_a_shared_device_keeps_them() {
    let mut log = Log::new();
    log.batch(1, 0, vec![form("gone@x.jp", "G")]);
    log.batch(2, 0, vec![form("customer@x.jp", "C")]);
    let customer = log.person("customer@x.jp");
    log.admin(AdminOp::UpdatePerson {
        site: "demo".into(),
        person: customer.id,
        stage: Some(Stage::Customer),
        fields: Vec::new(),
    });
    // A device first used by one quiet person, then by someone active.
    log.batch(3, 0, vec![form("quiet@x.jp", "Q")]);
    log.batch(3, 700 * DAY, vec![form("active@x.jp", "Act")]);
    expire_at(&mut log, 800 * DAY);
    assert!(!kept(&log, 1));
    assert!(
        log.state
            .emails
            .get(&(Arc::from("demo"), "gone@x.jp".to_string()))
            .is_none()
    );
    assert!(kept(&log, 2), "a customer is kept");
    assert_eq!(log.person("customer@x.jp").id, customer.id);
    assert!(kept(&log, 3), "a device someone active uses");
    assert_eq!(log.person("quiet@x.jp").email, "quiet@x.jp");
    let expired = &log.state.expired;
    assert_eq!(expired.people.load(std::sync::atomic::Ordering::Relaxed), 1);
}

#[test]
fn old_visits_lose_their_events_and_keep_their_counts() {
    let mut log = Log::new();
    log.batch(1, 0, vec![form("a@x.jp", "A"), page("/old")]);
    log.batch(1, 500 * DAY, vec![page("/new")]);
    expire_at(&mut log, 500 * DAY);
    let v = log.visitor(1);
    assert_eq!(v.sessions.len(), 2);
    assert!(v.sessions[0].events.is_empty());
    assert_eq!(v.sessions[0].dropped_events, 2);
    assert_eq!(v.sessions[0].pageviews, 1, "the visit's counts stay");
    assert_eq!(v.sessions[1].events.len(), 1);
    assert!(
        !format!("{v:?}").contains("a@x.jp"),
        "the form's fields went with it"
    );
    assert_eq!(v.pageviews, 2);
}

#[test]
fn a_replayed_expiry_changes_nothing_and_nothing_is_found_twice() {
    let mut log = Log::new();
    for n in 1..=5 {
        log.batch(n, 0, vec![page("/")]);
    }
    let records = log.state.expired(&policy(), 100 * DAY);
    for record in &records {
        log.admin(AdminOp::Expire(Box::new(record.clone())));
    }
    assert!(log.state.visitors.is_empty());
    for record in records {
        log.admin(AdminOp::Expire(Box::new(record)));
    }
    assert!(log.state.expired(&policy(), 100 * DAY).is_empty());
    assert_eq!(
        log.state
            .expired
            .visitors
            .load(std::sync::atomic::Ordering::Relaxed),
        5
    );
}

#[test]
fn a_record_names_at_most_its_share_and_a_pass_makes_as_many_as_needed() {
    let mut log = Log::new();
    for n in 0..=255u8 {
        log.batch(n, 0, vec![page("/")]);
    }
    let mut more = 0;
    for n in 0..2_000u32 {
        log.seq += 1;
        let mut id = [0u8; 16];
        id[..4].copy_from_slice(&n.to_le_bytes());
        id[15] = 0x77;
        let batch = Batch {
            site: "demo".into(),
            visitor: VisitorId(id),
            received_ms: 0,
            network: None,
            company: None,
            events: Vec::new(),
        };
        log.state.apply(log.seq, &LogRecord::Batch(batch));
        more += 1;
    }
    let records = log.state.expired(&policy(), 100 * DAY);
    assert!(
        records
            .iter()
            .all(|r| r.visitors.len() + r.people.len() + r.trim.len()
                <= crate::model::record::MAX_EXPIRED)
    );
    let named: usize = records.iter().map(|r| r.visitors.len()).sum();
    assert_eq!(named, 256 + more);
}

#[test]
fn accounts_forget_what_no_window_reaches() {
    let mut log = Log::new();
    log.batch(1, 0, vec![form("a@corp.example", "A")]);
    log.batch(1, MIN, vec![page("/")]); // counted for the company of the address
    assert!(
        lock(&log.state.accounts)
            .detail("demo", "corp.example")
            .is_some()
    );
    expire_at(&mut log, 200 * DAY);
    assert!(
        lock(&log.state.accounts)
            .detail("demo", "corp.example")
            .is_none(),
        "an account quiet for longer than every window is gone"
    );
}
