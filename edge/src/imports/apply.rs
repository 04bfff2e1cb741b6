//! What one imported row does to a person's record. The engine applies it to its table; the
//! service's dry run applies it to a copy, so a preview and the import itself cannot disagree.
//!
//! An import never overwrites: it fills blank attributes, and a value that differs from a
//! known one goes to the audit as a proposal (once per attribute and value). The row's offline
//! event is recorded once per (kind, name, date) and earns its `[scoring.offline]` points that
//! once, so importing the same file again changes nothing.

use crate::model::offline::{ImportedPerson, OfflineEvent};
use crate::model::person::{AuditKind, Person, Score};
use crate::scoring::ScoringRules;

/// What a row changed (or, in a dry run, would change).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RowEffect {
    /// Blank attributes the row filled.
    pub filled: Vec<&'static str>,
    /// Differing values recorded as proposals (not taken).
    pub proposed: usize,
    /// The row's event was new to the person.
    pub event_added: bool,
    /// Points the event earned, as of its day.
    pub points: f64,
}

impl RowEffect {
    /// Whether the row left the person as it was.
    pub fn unchanged(&self) -> bool {
        self.filled.is_empty() && self.proposed == 0 && !self.event_added
    }
}

/// Applies `row` to `person` as the record at `seq` (the caller has checked that the person
/// does not hold it yet).
pub fn apply_row(
    person: &mut Person,
    row: &ImportedPerson,
    seq: u64,
    at_ms: i64,
    scoring: &ScoringRules,
) -> RowEffect {
    let mut effect = RowEffect::default();
    let before = person.attributes.clone();
    let proposed = person.attributes.fill_blanks(&row.fields);
    for attribute in ["name", "company", "phone", "title", "department"] {
        if before.get(attribute).is_none() && person.attributes.get(attribute).is_some() {
            effect.filled.push(attribute);
        }
    }
    for (attribute, value) in proposed {
        if already_proposed(person, attribute, &value) {
            continue;
        }
        person.audit(
            seq,
            at_ms,
            AuditKind::ImportProposed {
                attribute: attribute.to_string(),
                value,
            },
        );
        effect.proposed += 1;
    }
    if let Some(event) = &row.event
        && !has_event(person, event)
    {
        let points = scoring.offline_points(&event.kind);
        add_dated(&mut person.score, points, event.at_ms, scoring.half_life_ms);
        person.audit(seq, event.at_ms, AuditKind::Offline(event.clone()));
        effect.event_added = true;
        effect.points = points;
    }
    effect
}

/// Whether the person already holds this event: the same kind, name and day.
pub fn has_event(person: &Person, event: &OfflineEvent) -> bool {
    person.audit.iter().any(|entry| match &entry.what {
        AuditKind::Offline(known) => {
            known.kind == event.kind && known.name == event.name && known.date == event.date
        }
        _ => false,
    })
}

/// The offline events of a person, oldest first: what the timeline shows beside the visits.
pub fn events(person: &Person) -> Vec<&OfflineEvent> {
    let mut events: Vec<&OfflineEvent> = person
        .audit
        .iter()
        .filter_map(|entry| match &entry.what {
            AuditKind::Offline(event) => Some(event),
            _ => None,
        })
        .collect();
    events.sort_by_key(|e| e.at_ms);
    events
}

fn already_proposed(person: &Person, attribute: &str, value: &str) -> bool {
    person.audit.iter().any(|entry| {
        matches!(&entry.what, AuditKind::ImportProposed { attribute: a, value: v }
            if a == attribute && v == value)
    })
}

/// Adds `points` earned at `at_ms` to a score: an event older than the score's time counts
/// decayed to that time, as it would had it been added when it happened (a seminar imported a
/// month late is not worth more than one imported the day after).
fn add_dated(score: &mut Score, points: f64, at_ms: i64, half_life_ms: i64) {
    if at_ms >= score.as_of_ms || half_life_ms <= 0 {
        score.add(points, at_ms, half_life_ms);
    } else {
        let halvings = (score.as_of_ms - at_ms) as f64 / half_life_ms as f64;
        score.value += points * 0.5f64.powf(halvings);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::offline::OfflineKind;
    use crate::model::person::PersonId;

    const DAY: i64 = 86_400_000;

    fn seminar(date: &str, at_ms: i64) -> OfflineEvent {
        OfflineEvent {
            kind: OfflineKind::Seminar,
            name: "はじめての見込み客発掘".into(),
            date: date.into(),
            at_ms,
        }
    }

    fn row(fields: &[(&str, &str)], event: Option<OfflineEvent>) -> ImportedPerson {
        ImportedPerson {
            email: "hanako@example.co.jp".into(),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            event,
        }
    }

    #[test]
    fn a_row_fills_blanks_proposes_differences_once_and_scores_its_event_once() {
        let scoring = ScoringRules::default();
        let mut p = Person::new(
            PersonId(1),
            Arc::from("demo"),
            "hanako@example.co.jp".into(),
            0,
        );
        p.attributes.update(&[("name".into(), "佐藤 花子".into())]);
        let r = row(
            &[("name", "Hanako Sato"), ("company", "ノースウィンド")],
            Some(seminar("2026-11-10", 10 * DAY)),
        );
        let first = apply_row(&mut p, &r, 5, 20 * DAY, &scoring);
        assert_eq!(first.filled, ["company"]);
        assert_eq!(first.proposed, 1);
        assert!(first.event_added);
        assert_eq!(first.points, scoring.offline.seminar);
        assert_eq!(
            p.attributes.name.as_deref(),
            Some("佐藤 花子"),
            "never overwritten"
        );
        let score = p.score.value;

        let again = apply_row(&mut p, &r, 6, 21 * DAY, &scoring);
        assert!(again.unchanged(), "{again:?}");
        assert_eq!(p.score.value, score, "no second points");
        assert_eq!(events(&p).len(), 1);
    }

    #[test]
    fn an_old_event_counts_decayed_to_the_scores_time() {
        let scoring = ScoringRules::default();
        let half_life = scoring.half_life_ms;
        let mut p = Person::new(PersonId(1), Arc::from("demo"), "a@example.co.jp".into(), 0);
        p.score.add(0.0, 10 * DAY + half_life, half_life);
        apply_row(
            &mut p,
            &row(&[], Some(seminar("2026-11-10", 10 * DAY))),
            1,
            0,
            &scoring,
        );
        assert!((p.score.value - scoring.offline.seminar / 2.0).abs() < 1e-9);
    }
}
