//! Imported people lists applied through `Engine::apply`, as the store does: idempotent by
//! email, kind, name and date, and safe to replay over a snapshot that holds part of a chunk.

use std::sync::Arc;

use super::*;
use crate::model::offline::{ImportChunk, ImportedPerson, OfflineEvent, OfflineKind};
use crate::model::person::{AuditKind, Stage};
use crate::model::record::AdminOp;

const DAY: i64 = 86_400_000;
/// 2026-11-10 00:00 UTC.
const SEMINAR_DAY: i64 = 1_794_268_800_000;

fn state(threshold: f64) -> Engine {
    Engine::new(Model {
        sessions: SessionRules {
            timeout_ms: 30 * 60_000,
            max_sessions: 100,
            max_events_per_session: 100,
        },
        scoring: ScoringRules {
            mql_threshold: threshold,
            ..ScoringRules::default()
        },
        key_pages: Vec::new(),
        webhooks: true,
    })
}

fn row(email: &str, name: &str, company: &str) -> ImportedPerson {
    ImportedPerson {
        email: email.into(),
        fields: vec![
            ("name".into(), name.into()),
            ("company".into(), company.into()),
        ],
        event: Some(OfflineEvent {
            kind: OfflineKind::Seminar,
            name: "はじめての見込み客発掘".into(),
            date: "2026-11-10".into(),
            at_ms: SEMINAR_DAY,
        }),
    }
}

fn chunk(rows: Vec<ImportedPerson>) -> LogRecord {
    LogRecord::Admin(AdminOp::ImportPeople(Box::new(ImportChunk {
        site: Arc::from("demo"),
        at_ms: SEMINAR_DAY + 20 * DAY,
        rows,
    })))
}

fn person(state: &Engine, email: &str) -> Person {
    let id = *state
        .emails
        .get(&(Arc::from("demo"), email.to_string()))
        .expect("known email");
    state.person(id).expect("person")
}

fn people(state: &Engine) -> Vec<Person> {
    let mut all: Vec<Person> = state.persons.iter().map(|p| p.clone()).collect();
    all.sort_by_key(|p| p.id);
    all
}

fn offline_events(p: &Person) -> usize {
    p.audit
        .iter()
        .filter(|e| matches!(e.what, AuditKind::Offline(_)))
        .count()
}

#[test]
fn an_import_creates_people_records_their_event_and_scores_it_once() {
    let state = state(1_000.0);
    let file = || {
        chunk(vec![
            row("hanako@example.co.jp", "佐藤 花子", "ノースウィンド"),
            row("taro@example.co.jp", "山田 太郎", "サウスウィンド"),
        ])
    };
    state.apply(1, &file());
    let hanako = person(&state, "hanako@example.co.jp");
    assert_eq!(hanako.attributes.company.as_deref(), Some("ノースウィンド"));
    assert_eq!(offline_events(&hanako), 1);
    let seminar = ScoringRules::default().offline.seminar;
    assert!(hanako.score.value > 0.0 && hanako.score.value <= seminar);
    assert_eq!(hanako.id, crate::model::ids::RecordIds::new(1).person(0));

    let before = people(&state);
    state.apply(2, &file());
    let mut after = people(&state);
    for p in &mut after {
        p.last_seq = 1; // the only thing a second import may move
    }
    assert_eq!(
        after, before,
        "importing the same file again changes nothing"
    );
}

#[test]
fn an_import_never_overwrites_and_audits_the_difference_once() {
    let state = state(1_000.0);
    state.apply(1, &chunk(vec![row("a@example.co.jp", "佐藤 花子", "")]));
    let other = || {
        chunk(vec![row(
            "a@example.co.jp",
            "Hanako Sato",
            "ノースウィンド",
        )])
    };
    state.apply(2, &other());
    state.apply(3, &other());
    let a = person(&state, "a@example.co.jp");
    assert_eq!(a.attributes.name.as_deref(), Some("佐藤 花子"));
    assert_eq!(
        a.attributes.company.as_deref(),
        Some("ノースウィンド"),
        "blank filled"
    );
    let proposals: Vec<_> = a
        .audit
        .iter()
        .filter(|e| matches!(&e.what, AuditKind::ImportProposed { value, .. } if value == "Hanako Sato"))
        .collect();
    assert_eq!(proposals.len(), 1);
    assert_eq!(offline_events(&a), 1);
}

#[test]
fn two_rows_of_one_chunk_for_one_person_both_apply() {
    let state = state(1_000.0);
    let mut second = row("a@example.co.jp", "", "");
    if let Some(event) = &mut second.event {
        event.kind = OfflineKind::Call;
    }
    state.apply(1, &chunk(vec![row("a@example.co.jp", "A", ""), second]));
    assert_eq!(state.persons.len(), 1);
    assert_eq!(offline_events(&person(&state, "a@example.co.jp")), 2);
}

/// A fuzzy snapshot may hold one person of a chunk as after it and the other not at all;
/// replaying the chunk then makes the missing one with the same id and leaves the held one
/// alone (its points are not counted twice).
#[test]
fn replay_over_a_snapshot_holding_part_of_a_chunk_makes_the_same_people() {
    let file = || {
        chunk(vec![
            row("a@example.co.jp", "A", "X"),
            row("b@example.co.jp", "B", "Y"),
        ])
    };
    let live = state(1_000.0);
    live.apply(7, &file());

    let replayed = state(1_000.0);
    replayed.load(image::Entry::Person(person(&live, "a@example.co.jp")));
    replayed.rebuild_indexes();
    replayed.apply(7, &file());
    assert_eq!(people(&replayed), people(&live));
}

/// A seminar of 20 points, 20 days before the import with the default 14-day half-life, is
/// worth 20 × 0.5^(20/14) ≈ 7.4 at the import: above a threshold of 5, below one of 10.
#[test]
fn offline_points_make_an_mql_at_the_imports_time_and_say_so_once() {
    for (threshold, mql) in [(5.0, true), (10.0, false)] {
        let state = state(threshold);
        state.apply(1, &chunk(vec![row("a@example.co.jp", "A", "X")]));
        state.apply(2, &chunk(vec![row("a@example.co.jp", "A", "X")]));
        let a = person(&state, "a@example.co.jp");
        assert_eq!(a.stage == Stage::Mql, mql, "threshold {threshold}");
        let mqls = lock(&state.outbox)
            .entries
            .values()
            .filter(|e| e.kind == "person.mql")
            .count();
        assert_eq!(mqls, usize::from(mql));
    }
}
