//! Every stitching rule, applied through `Engine::apply` as the store does.

use std::sync::Arc;

use super::*;
use crate::event::{Event, TimedEvent};
use crate::model::person::{AuditKind, JoinSource, Stage};
use crate::model::record::AdminOp;
use crate::visitor_id::VisitorId;

const MIN: i64 = 60_000;
const DAY: i64 = 86_400_000;

fn state() -> Engine {
    Engine::new(Model {
        sessions: SessionRules {
            timeout_ms: 30 * MIN,
            max_sessions: 100,
            max_events_per_session: 100,
        },
        scoring: ScoringRules {
            mql_threshold: 30.0,
            ..ScoringRules::default()
        },
        key_pages: vec![Glob::new("/pricing*").expect("glob")],
        webhooks: true,
    })
}

struct Log {
    state: Engine,
    seq: u64,
}

impl Log {
    fn new() -> Log {
        Log {
            state: state(),
            seq: 0,
        }
    }

    fn batch(&mut self, visitor: u8, at: i64, events: Vec<Event>) {
        self.seq += 1;
        let batch = Batch {
            site: "demo".into(),
            visitor: VisitorId([visitor; 16]),
            received_ms: at,
            network: None,
            company: None,
            events: events
                .into_iter()
                .map(|event| TimedEvent {
                    client_ts: None,
                    event,
                })
                .collect(),
        };
        self.state.apply(self.seq, &LogRecord::Batch(batch));
    }

    fn admin(&mut self, op: AdminOp) {
        self.seq += 1;
        self.state.apply(self.seq, &LogRecord::Admin(op));
    }

    fn visitor(&self, visitor: u8) -> Visitor {
        let key = VisitorKey {
            site: "demo".into(),
            id: VisitorId([visitor; 16]),
        };
        self.state
            .visitors
            .get(&key)
            .map(|v| Visitor::clone(&v))
            .expect("visitor")
    }

    fn person(&self, email: &str) -> Person {
        let id = *self
            .state
            .emails
            .get(&(Arc::from("demo"), email.to_string()))
            .expect("email known");
        self.state
            .persons
            .get(&id)
            .map(|p| p.clone())
            .expect("person")
    }

    /// Owners of the visitor's sessions, oldest first.
    fn owners(&self, visitor: u8) -> Vec<Option<PersonId>> {
        let v = self.visitor(visitor);
        v.sessions.iter().map(|s| v.session_owner(s)).collect()
    }

    /// Events of `kind` waiting in the outbox.
    fn outbox_count(&self, kind: &str) -> usize {
        self.outbox_kinds().iter().filter(|k| *k == kind).count()
    }

    fn outbox_kinds(&self) -> Vec<String> {
        lock(&self.state.outbox)
            .entries
            .values()
            .map(|e| e.kind.clone())
            .collect()
    }
}

fn page(path: &str) -> Event {
    Event::PageView {
        url: format!("https://example.co.jp{path}"),
        referrer: None,
        title: None,
    }
}

fn form(email: &str, name: &str) -> Event {
    Event::Conversion {
        form: "contact".into(),
        url: "https://example.co.jp/contact".into(),
        fields: vec![("email".into(), email.into()), ("name".into(), name.into())],
    }
}

fn click(email: &str) -> Event {
    Event::EmailClick {
        email: email.into(),
        url: None,
    }
}

fn engaged(ms: u64) -> Event {
    Event::Engagement {
        url: "https://example.co.jp/".into(),
        ms,
    }
}

#[test]
fn a_conversion_makes_the_visitors_earlier_anonymous_sessions_the_persons() {
    let mut log = Log::new();
    log.batch(1, 0, vec![page("/")]);
    log.batch(1, DAY, vec![page("/pricing")]);
    assert_eq!(log.owners(1), vec![None, None]);
    log.batch(
        1,
        2 * DAY,
        vec![page("/contact"), form(" Taro@Example.co.jp ", "山田 太郎")],
    );
    let taro = log.person("taro@example.co.jp");
    assert_eq!(log.owners(1), vec![Some(taro.id); 3], "retroactive");
    assert_eq!(taro.attributes.name.as_deref(), Some("山田 太郎"));
    assert!(matches!(
        taro.audit[0].what,
        AuditKind::Joined {
            retroactive: true,
            source: JoinSource::Form,
            ..
        }
    ));
    assert_eq!(log.outbox_kinds(), vec!["person.identified"]);
    assert_eq!(
        lock(&log.state.feed).len(),
        3,
        "all three sessions entered the feed"
    );
}

#[test]
fn the_same_email_on_another_device_joins_the_same_person() {
    let mut log = Log::new();
    log.batch(1, 0, vec![form("a@x.jp", "A")]);
    log.batch(2, DAY, vec![page("/"), form("A@X.JP", "")]);
    let a = log.person("a@x.jp");
    assert_eq!(a.visitors, vec![VisitorId([1; 16]), VisitorId([2; 16])]);
    assert_eq!(
        a.attributes.name.as_deref(),
        Some("A"),
        "a blank does not erase"
    );
    assert_eq!(log.owners(2), vec![Some(a.id)]);
    let identified = log.outbox_count("person.identified");
    assert_eq!(identified, 2, "one per device");
}

#[test]
fn another_email_on_a_joined_device_is_a_shared_device_not_a_merge() {
    let mut log = Log::new();
    log.batch(1, 0, vec![form("a@x.jp", "A")]);
    log.batch(1, DAY, vec![page("/")]);
    log.batch(1, 2 * DAY, vec![form("b@x.jp", "B")]);
    log.batch(1, 3 * DAY, vec![page("/later")]);
    let (a, b) = (log.person("a@x.jp"), log.person("b@x.jp"));
    assert_eq!(
        log.owners(1),
        vec![Some(a.id), Some(a.id), Some(b.id), Some(b.id)]
    );
    assert_ne!(a.id, b.id);
    assert!(b.audit.iter().any(
        |e| matches!(e.what, AuditKind::SharedDevice { from, to, .. } if from == a.id && to == b.id)
    ));
    assert!(
        a.audit
            .iter()
            .any(|e| matches!(e.what, AuditKind::SharedDevice { .. }))
    );
    assert_eq!(log.state.persons.len(), 2, "nobody was merged");
}

#[test]
fn an_email_click_identifies_only_after_a_human_signal() {
    let mut log = Log::new();
    log.batch(1, 0, vec![page("/landing"), click("c@x.jp")]);
    assert!(
        log.state.persons.is_empty(),
        "a scanner opening the link identifies nobody"
    );
    log.batch(1, MIN, vec![engaged(500)]);
    assert!(
        log.state.persons.is_empty(),
        "half a second is not a person reading"
    );
    log.batch(1, 2 * MIN, vec![page("/pricing")]);
    let c = log.person("c@x.jp");
    assert_eq!(log.owners(1), vec![Some(c.id)]);
    assert!(matches!(
        c.audit[0].what,
        AuditKind::Joined {
            source: JoinSource::EmailClick,
            ..
        }
    ));

    let mut log = Log::new();
    log.batch(
        2,
        0,
        vec![page("/landing"), click("d@x.jp"), engaged(4_000)],
    );
    assert_eq!(
        log.person("d@x.jp").visitors,
        vec![VisitorId([2; 16])],
        "engagement counts too"
    );
}

#[test]
fn a_click_expires_with_its_session() {
    let mut log = Log::new();
    log.batch(1, 0, vec![page("/landing"), click("c@x.jp")]);
    log.batch(1, DAY, vec![page("/")]);
    assert!(log.state.persons.is_empty());
    assert!(log.visitor(1).pending_click.is_none());
}

#[test]
fn a_forwarded_mail_is_recorded_not_joined() {
    let mut log = Log::new();
    log.batch(1, 0, vec![form("a@x.jp", "A")]);
    log.batch(3, 0, vec![form("b@x.jp", "B")]);
    log.batch(1, DAY, vec![page("/landing"), click("b@x.jp")]);
    log.batch(1, DAY + MIN, vec![page("/next")]);
    let (a, b) = (log.person("a@x.jp"), log.person("b@x.jp"));
    assert_eq!(log.visitor(1).owner(), Some(a.id), "still A's browser");
    assert!(!b.visitors.contains(&VisitorId([1; 16])));
    assert!(b.audit.iter().any(|e| matches!(&e.what, AuditKind::ClickIgnored { reason, .. } if reason.contains("forwarded"))));
    assert!(
        a.audit
            .iter()
            .any(|e| matches!(e.what, AuditKind::ClickIgnored { .. }))
    );
}

#[test]
fn a_click_from_a_hosting_network_identifies_nobody() {
    let mut log = Log::new();
    log.seq += 1;
    let batch = Batch {
        site: "demo".into(),
        visitor: VisitorId([9; 16]),
        received_ms: 0,
        network: None,
        company: Some(Arc::new(ipdb::Company {
            name: None,
            domain: None,
            industry: None,
            employees: None,
            size_band: ipdb::SizeBand::Unknown,
            asn: Some(16509),
            as_org: Some("A cloud".into()),
            network_kind: ipdb::NetworkKind::Hosting,
            source: "asn".into(),
            ..crate::model::company::sample()
        })),
        events: vec![
            TimedEvent {
                client_ts: None,
                event: click("e@x.jp"),
            },
            TimedEvent {
                client_ts: None,
                event: engaged(60_000),
            },
        ],
    };
    log.state.apply(log.seq, &LogRecord::Batch(batch));
    assert!(log.state.persons.is_empty());
    assert!(log.visitor(9).pending_click.is_none());
}

#[test]
fn split_undoes_a_join_and_merge_keeps_both_histories() {
    let mut log = Log::new();
    log.batch(1, 0, vec![page("/"), form("a@x.jp", "A")]);
    log.batch(2, 0, vec![form("a2@x.jp", "A two")]);
    let a = log.person("a@x.jp");
    log.admin(AdminOp::Split {
        site: "demo".into(),
        person: a.id,
        visitor: VisitorId([1; 16]),
    });
    assert_eq!(log.owners(1), vec![None]);
    assert!(log.person("a@x.jp").visitors.is_empty());
    assert_eq!(
        lock(&log.state.feed).len(),
        1,
        "only visitor 2's session is identified now"
    );

    let a2 = log.person("a2@x.jp");
    log.batch(1, DAY, vec![form("a@x.jp", "")]);
    log.admin(AdminOp::Merge {
        site: "demo".into(),
        survivor: a.id,
        merged: a2.id,
    });
    let merged = log.person("a2@x.jp");
    assert_eq!(merged.id, a.id, "the old email resolves to the survivor");
    assert!(merged.visitors.contains(&VisitorId([2; 16])));
    assert_eq!(log.visitor(2).owner(), Some(a.id));
    assert_eq!(log.state.merged.get(&a2.id).map(|s| *s), Some(a.id));
    assert!(log.outbox_kinds().contains(&"person.split".to_string()));
    assert!(log.outbox_kinds().contains(&"person.merged".to_string()));
}

#[test]
fn crossing_the_threshold_makes_an_mql_once() {
    let mut log = Log::new();
    log.batch(1, 0, vec![form("a@x.jp", "A")]); // 20 points
    assert_eq!(log.person("a@x.jp").stage, Stage::Lead);
    log.batch(1, MIN, (0..12).map(|_| page("/x")).collect()); // +12
    assert_eq!(log.person("a@x.jp").stage, Stage::Mql);
    log.batch(1, 2 * MIN, vec![form("a@x.jp", "")]);
    let mqls = log.outbox_count("person.mql");
    assert_eq!(mqls, 1);
}

#[test]
fn erasure_removes_the_person_their_devices_and_every_mention() {
    let mut log = Log::new();
    log.batch(1, 0, vec![form("a@x.jp", "A")]);
    log.batch(1, DAY, vec![form("b@x.jp", "B")]); // shared device: B's audit names visitor 1
    let a = log.person("a@x.jp");
    log.admin(AdminOp::Erase {
        site: "demo".into(),
        person: a.id,
    });
    assert!(log.state.persons.get(&a.id).is_none());
    assert!(
        log.state
            .emails
            .get(&(Arc::from("demo"), "a@x.jp".to_string()))
            .is_none()
    );
    let key = VisitorKey {
        site: "demo".into(),
        id: VisitorId([1; 16]),
    };
    assert!(log.state.visitors.get(&key).is_none());
    let b = log.person("b@x.jp");
    assert!(b.visitors.is_empty());
    // What is left names no device: the points B's form earned (counted once a day).
    assert!(
        b.audit
            .iter()
            .all(|e| matches!(e.what, AuditKind::ConversionScored { .. })),
        "no audit line names the erased device: {:?}",
        b.audit
    );
    assert!(
        lock(&log.state.outbox)
            .entries
            .values()
            .all(|e| !e.people.contains(&a.id))
    );
}

/// A record replayed on top of a state that already holds it changes nothing.
#[test]
fn replaying_an_applied_record_is_a_no_op() {
    let mut log = Log::new();
    log.batch(1, 0, vec![form("a@x.jp", "A")]);
    let before = (log.visitor(1), log.person("a@x.jp"), log.outbox_kinds());
    let batch = Batch {
        site: "demo".into(),
        visitor: VisitorId([1; 16]),
        received_ms: 0,
        network: None,
        company: None,
        events: vec![TimedEvent {
            client_ts: None,
            event: form("a@x.jp", "A"),
        }],
    };
    log.state.apply(1, &LogRecord::Batch(batch));
    assert_eq!(
        (log.visitor(1), log.person("a@x.jp"), log.outbox_kinds()),
        before
    );
}

/// Ids come from one allocator per record: a collect of 50 conversions (the tag's whole batch)
/// makes 50 people, each with its own id and email, and 50 webhook events with their own ids.
#[test]
fn every_new_email_of_one_batch_gets_its_own_person_and_event_ids() {
    let mut log = Log::new();
    let emails: Vec<String> = (0..50).map(|i| format!("p{i}@example.co.jp")).collect();
    log.batch(1, 0, emails.iter().map(|e| form(e, "名前")).collect());
    let mut ids = Vec::new();
    for email in &emails {
        let person = log.person(email);
        assert_eq!(&person.email, email, "the id answers to its own email");
        ids.push(person.id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 50, "50 distinct people");
    assert_eq!(log.state.persons.len(), 50);
    let identified = log.outbox_count("person.identified");
    assert_eq!(identified, 50, "one event each, none overwritten");
}

/// A device that goes back to a person who already has it, after another person used it: the
/// writer must not hold one person while it updates the other (they may share a shard of the
/// table). Forty pairs make a shared shard all but certain; a deadlock fails the test after
/// ten seconds instead of hanging it.
#[test]
fn a_device_going_back_to_its_first_owner_does_not_deadlock_the_writer() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut log = Log::new();
        for pair in 0..40u8 {
            let (a, b) = (
                format!("a{pair}@example.co.jp"),
                format!("b{pair}@example.co.jp"),
            );
            log.batch(pair, 0, vec![form(&a, "A")]);
            log.batch(pair, MIN, vec![form(&b, "B")]);
            log.batch(pair, 2 * MIN, vec![form(&a, "A")]);
        }
        let _ = done.send(log.state.persons.len());
    });
    let people = finished
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the writer finished: no deadlock");
    assert_eq!(people, 80);
}

/// A fuzzy snapshot may hold one person a record created and not the other (the people's ids
/// were listed while the record was being applied). Replaying the record must then make the
/// missing person with the id it has live: ids come from positions, not from what a replay
/// happens to find or skip.
#[test]
fn replay_over_a_snapshot_holding_part_of_a_record_makes_the_same_people() {
    let record = |log: &mut Log| {
        log.batch(
            1,
            0,
            vec![form("a@example.co.jp", "A"), form("b@example.co.jp", "B")],
        );
    };
    let mut live = Log::new();
    record(&mut live);
    let people = |log: &Log| -> Vec<(PersonId, String)> {
        let mut all: Vec<_> = log
            .state
            .persons
            .iter()
            .map(|p| (p.id, p.email.clone()))
            .collect();
        all.sort();
        all
    };
    assert_eq!(people(&live).len(), 2);

    // The snapshot: the visitor as before the record (unknown), person A as after it.
    let replayed = Log::new();
    let a = live.person("a@example.co.jp");
    replayed.state.load(image::Entry::Person(a));
    replayed.state.rebuild_indexes();
    let mut replayed = replayed;
    record(&mut replayed);
    assert_eq!(people(&replayed), people(&live));
    assert_eq!(
        replayed.person("b@example.co.jp").email,
        "b@example.co.jp",
        "B is made, under its own id"
    );
}

/// Anyone who knows an address can submit a form with it: a later form fills only what is
/// blank, and a different value waits in the audit for the backend to decide.
#[test]
fn a_later_form_fills_blanks_and_proposes_changes() {
    let mut log = Log::new();
    log.batch(1, 0, vec![form("a@x.jp", "佐藤 花子")]);
    log.batch(
        2,
        DAY,
        vec![Event::Conversion {
            form: "contact".into(),
            url: "https://example.co.jp/contact".into(),
            fields: vec![
                ("email".into(), "a@x.jp".into()),
                ("name".into(), "Mallory".into()),
                ("company".into(), "Northwind".into()),
            ],
        }],
    );
    let a = log.person("a@x.jp");
    assert_eq!(
        a.attributes.name.as_deref(),
        Some("佐藤 花子"),
        "not replaced"
    );
    assert_eq!(
        a.attributes.company.as_deref(),
        Some("Northwind"),
        "a blank filled"
    );
    let proposed: Vec<_> = a
        .audit
        .iter()
        .filter_map(|e| match &e.what {
            AuditKind::ProposedChange {
                visitor,
                attribute,
                value,
            } => Some((*visitor, attribute.as_str(), value.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(proposed, [(VisitorId([2; 16]), "name", "Mallory")]);
    // The backend decides: a PATCH replaces the value.
    log.admin(AdminOp::UpdatePerson {
        site: "demo".into(),
        person: a.id,
        stage: None,
        fields: vec![("name".into(), "Mallory".into())],
    });
    assert_eq!(
        log.person("a@x.jp").attributes.name.as_deref(),
        Some("Mallory")
    );
}

/// A script posting one form over and over must not make its victim an MQL: a person takes a
/// form's points once a day (the threshold here is 30, a conversion 20).
#[test]
fn a_forms_points_count_once_a_day_per_person() {
    let mut log = Log::new();
    log.batch(1, 0, vec![form("a@x.jp", "A")]);
    let first = log.person("a@x.jp").score.value;
    assert!((first - 20.0).abs() < 1e-9, "{first}");
    for i in 1..=5 {
        // Another device, the same form, within the day: nothing more.
        log.batch(2, i * MIN, vec![form("a@x.jp", ""), form("a@x.jp", "")]);
    }
    let a = log.person("a@x.jp");
    // (20 points, decayed by five minutes of a 14-day half-life.)
    assert!((a.score.value - 20.0).abs() < 0.01, "{:?}", a.score);
    assert_eq!(a.stage, Stage::Lead, "not promoted by repetition");
    // Another form counts, and the same form counts again the next day.
    log.batch(
        2,
        10 * MIN,
        vec![Event::Conversion {
            form: "brochure".into(),
            url: "https://example.co.jp/brochure".into(),
            fields: vec![("email".into(), "a@x.jp".into())],
        }],
    );
    log.batch(2, DAY + MIN, vec![form("a@x.jp", "")]);
    let scored = log
        .person("a@x.jp")
        .audit
        .iter()
        .filter(|e| matches!(e.what, AuditKind::ConversionScored { .. }))
        .count();
    assert_eq!(scored, 3, "contact, brochure, contact a day later");
}

#[path = "tests_erasure.rs"]
mod erasure;

#[path = "tests_expiry.rs"]
mod expiry;

#[test]
fn a_visitor_taken_out_for_a_snapshot_keeps_its_state_while_the_log_goes_on() {
    let mut log = Log::new();
    log.batch(1, 0, vec![page("/")]);
    let key = VisitorKey {
        site: "demo".into(),
        id: VisitorId([1; 16]),
    };
    let taken = log
        .state
        .visitors
        .get(&key)
        .map(|v| Arc::clone(&v))
        .expect("the visitor");
    log.batch(1, MIN, vec![page("/pricing")]);
    assert_eq!(
        taken.events, 1,
        "what the snapshot took is not written through"
    );
    let now = log.state.visitors.get(&key).map(|v| v.events);
    assert_eq!(now, Some(2), "the table has the new event");
    drop(taken);
    log.batch(1, 2 * MIN, vec![page("/contact")]);
    assert_eq!(log.state.visitors.get(&key).map(|v| v.events), Some(3));
}
