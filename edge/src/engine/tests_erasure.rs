//! Erasure's gaps, one test each: what a person leaves outside their visitor list, a replay over
//! a snapshot that lost part of the state, a late replay of what came before, and a retry.

use super::*;

fn key(n: u8) -> VisitorKey {
    VisitorKey {
        site: "demo".into(),
        id: VisitorId([n; 16]),
    }
}

fn gone(log: &Log, n: u8) -> bool {
    log.state.visitors.get(&key(n)).is_none()
}

/// Erases the person of `email` as the API does: find, then store the record.
fn erase(log: &mut Log, email: &str, at_ms: i64) -> PersonId {
    let person = log.person(email).id;
    let visitors = log.state.erasure_targets(&Arc::from("demo"), person);
    log.admin(AdminOp::ErasePerson {
        site: "demo".into(),
        person,
        visitors,
        at_ms,
    });
    person
}

/// Whether anything the engine would snapshot still holds `needle`.
fn kept(log: &Log, needle: &str) -> bool {
    image::entries(&log.state).any(|e| format!("{e:?}").contains(needle))
        || log.state.emails.iter().any(|e| e.key().1.contains(needle))
}

#[test]
fn a_device_split_off_the_person_goes_with_them() {
    let mut log = Log::new();
    log.batch(1, 0, vec![form("a@x.jp", "Hanako")]);
    let a = log.person("a@x.jp");
    log.admin(AdminOp::Split {
        site: "demo".into(),
        person: a.id,
        visitor: VisitorId([1; 16]),
    });
    assert!(!log.person("a@x.jp").visitors.contains(&VisitorId([1; 16])));
    erase(&mut log, "a@x.jp", DAY);
    assert!(gone(&log, 1), "the split-off device still held the form");
    assert!(!kept(&log, "a@x.jp") && !kept(&log, "Hanako"));
}

#[test]
fn clicks_on_their_mail_that_identified_nobody_go_too() {
    let mut log = Log::new();
    log.batch(1, 0, vec![form("a@x.jp", "A")]);
    // A click waiting for a sign of a human, on a device never linked to anyone.
    log.batch(5, DAY, vec![page("/landing"), click("a@x.jp")]);
    assert!(log.visitor(5).pending_click.is_some());
    erase(&mut log, "a@x.jp", 2 * DAY);
    assert!(gone(&log, 5));
    assert!(!kept(&log, "a@x.jp"));
}

#[test]
fn a_forwarded_mail_leaves_the_readers_device_but_not_the_click() {
    let mut log = Log::new();
    log.batch(1, 0, vec![form("a@x.jp", "A")]);
    log.batch(3, 0, vec![form("b@x.jp", "B")]);
    log.batch(1, DAY, vec![page("/landing"), click("b@x.jp")]);
    let a = log.person("a@x.jp");
    erase(&mut log, "b@x.jp", 2 * DAY);
    assert!(gone(&log, 3));
    let reader = log.visitor(1);
    assert_eq!(reader.owner(), Some(a.id), "A's device stays A's");
    assert!(!format!("{reader:?}").contains("b@x.jp"));
    assert!(!kept(&log, "b@x.jp"));
}

#[test]
fn the_address_of_someone_merged_into_them_goes_too() {
    let mut log = Log::new();
    log.batch(1, 0, vec![form("a@x.jp", "A")]);
    log.batch(2, 0, vec![form("a2@x.jp", "A2")]);
    let (a, a2) = (log.person("a@x.jp"), log.person("a2@x.jp"));
    log.admin(AdminOp::Merge {
        site: "demo".into(),
        survivor: a.id,
        merged: a2.id,
    });
    erase(&mut log, "a@x.jp", DAY);
    assert!(gone(&log, 1) && gone(&log, 2));
    assert!(
        log.state.emails.is_empty(),
        "the merged address pointed at the erased id"
    );
    assert!(log.state.merged.is_empty());
    assert!(!kept(&log, "a2@x.jp"));
}

/// A fuzzy snapshot can hold a visitor and lack its person (read after the erasure). The
/// record names the visitor, so the replay still removes it; a record of the older kind looks
/// for the visitor by its links.
#[test]
fn a_replay_over_a_snapshot_without_the_person_leaves_nothing() {
    for legacy in [false, true] {
        let mut log = Log::new();
        log.batch(1, 0, vec![form("a@x.jp", "A")]);
        let a = log.person("a@x.jp");
        let visitors = log.state.erasure_targets(&Arc::from("demo"), a.id);
        // The snapshot: the visitor as it was, the person already gone.
        log.state.persons.remove(&a.id);
        log.state.emails.clear();
        let op = if legacy {
            AdminOp::Erase {
                site: "demo".into(),
                person: a.id,
            }
        } else {
            AdminOp::ErasePerson {
                site: "demo".into(),
                person: a.id,
                visitors,
                at_ms: DAY,
            }
        };
        log.admin(op);
        assert!(gone(&log, 1), "legacy record: {legacy}");
        assert!(!kept(&log, "a@x.jp"));
    }
}

/// A node that spooled a batch during an outage replays it after the erasure: what was received
/// before the erasure stays erased; a visit after it is a new visit.
#[test]
fn a_late_replay_of_what_came_before_does_not_bring_the_visitor_back() {
    let mut log = Log::new();
    log.batch(1, 0, vec![form("a@x.jp", "A")]);
    erase(&mut log, "a@x.jp", DAY);
    log.batch(1, DAY - MIN, vec![page("/spooled")]);
    assert!(gone(&log, 1), "a batch from before the erasure came back");
    log.batch(1, DAY + MIN, vec![page("/new")]);
    assert!(!gone(&log, 1), "a visit after the erasure is kept");
    assert_eq!(log.visitor(1).links, Vec::new(), "and it is anonymous");
}

#[test]
fn the_memory_of_an_erasure_survives_a_snapshot_and_answers_a_retry() {
    let mut log = Log::new();
    log.batch(1, 0, vec![form("a@x.jp", "A")]);
    let a = erase(&mut log, "a@x.jp", DAY);
    let sites = [Arc::from("demo")];
    assert!(log.state.was_erased(a, &sites));
    assert!(
        !log.state.was_erased(a, &[Arc::from("other")]),
        "another site's key"
    );
    let restored = state();
    for entry in image::entries(&log.state) {
        restored.load(entry);
    }
    restored.rebuild_indexes();
    assert!(restored.was_erased(a, &sites));
    assert!(lock(&restored.erased).holds_back(&key(1), DAY - 1));
}
