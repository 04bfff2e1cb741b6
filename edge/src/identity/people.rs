//! The person side of identity policy: what a join does to a person's record, what a merge
//! keeps of two records, and which audit entries an erasure must take out of other people's
//! records. The engine applies these to its
//! tables; the rules themselves live here, beside the visitor side (`stitch`).

use crate::model::person::{Attributes, AuditKind, JoinSource, Person, PersonId};
use crate::visitor_id::VisitorId;

/// A join of a visitor to a person, as `stitch` decided it, applied to the person's record.
pub struct Join<'a> {
    pub seq: u64,
    pub at_ms: i64,
    pub visitor: VisitorId,
    pub source: JoinSource,
    /// What the form said about the person (name, company, …).
    pub fields: &'a [(String, String)],
    /// Who the visitor belonged to before: another person means a shared device.
    pub previous: Option<PersonId>,
    /// The person takes the visitor's whole history (a first join).
    pub retroactive: bool,
    /// The visitor's score at the join, this batch's points included.
    pub visitor_score: f64,
}

impl Join<'_> {
    /// The audit entry of a device that moves from `from` to `to`: both records get it.
    pub fn shared_device(&self, from: PersonId, to: PersonId) -> AuditKind {
        AuditKind::SharedDevice {
            visitor: self.visitor,
            from,
            to,
            source: self.source,
        }
    }
}

/// Applies a join to the joined person: the form's attributes where the person has none (a
/// differing value is audited as a proposal, never taken: anyone who knows the address can send
/// a form with it), the device, the audit entry (a first join, or a device shared with the
/// previous owner), and for a retroactive join the visitor's whole score. Returns whether the
/// device is new to the person.
pub fn join(person: &mut Person, join: &Join<'_>, half_life_ms: i64) -> bool {
    person.last_seq = join.seq;
    for (attribute, value) in person.attributes.fill_blanks(join.fields) {
        person.audit(
            join.seq,
            join.at_ms,
            AuditKind::ProposedChange {
                visitor: join.visitor,
                attribute: attribute.to_string(),
                value,
            },
        );
    }
    person.last_seen_ms = person.last_seen_ms.max(join.at_ms);
    let new_device = !person.visitors.contains(&join.visitor);
    person.add_visitor(join.visitor);
    match join.previous {
        Some(from) if from != person.id => {
            let entry = join.shared_device(from, person.id);
            person.audit(join.seq, join.at_ms, entry);
        }
        Some(_) => {}
        None => person.audit(
            join.seq,
            join.at_ms,
            AuditKind::Joined {
                visitor: join.visitor,
                source: join.source,
                retroactive: join.retroactive,
            },
        ),
    }
    if join.retroactive {
        // The visitor's history (this batch included) becomes the person's.
        person
            .score
            .add(join.visitor_score, join.at_ms, half_life_ms);
    }
    new_device
}

/// Moves `old` into `survivor`: every device, the attributes the survivor lacks (the survivor's
/// own are kept), the later stage, and the old score decayed to the merge's time. Returns that
/// time: the later of the two records' last activity.
pub fn merge_into(survivor: &mut Person, old: &Person, seq: u64, half_life_ms: i64) -> i64 {
    survivor.last_seq = survivor.last_seq.max(seq);
    for device in &old.visitors {
        survivor.add_visitor(*device);
    }
    let mut filled = old.attributes.clone();
    filled.update(&attribute_pairs(&survivor.attributes));
    survivor.attributes = filled;
    survivor.stage = survivor.stage.max(old.stage);
    let at = survivor.last_seen_ms.max(old.last_seen_ms);
    let old_score = old.score.at(at, half_life_ms);
    survivor.score.add(old_score, at, half_life_ms);
    // The merged person's offline events (their points are in the score just added) stay on
    // the timeline, and a re-import of the same list still finds them.
    for entry in &old.audit {
        if let AuditKind::Offline(event) = &entry.what {
            let known = survivor
                .audit
                .iter()
                .any(|e| matches!(&e.what, AuditKind::Offline(mine) if mine == event));
            if !known {
                survivor.audit(entry.seq, entry.at_ms, entry.what.clone());
            }
        }
    }
    survivor.audit(
        seq,
        at,
        AuditKind::Merged {
            survivor: survivor.id,
            merged: old.id,
        },
    );
    at
}

/// Whether an audit entry names one of `visitors`: after an erasure no record may.
pub fn mentions(kind: &AuditKind, visitors: &[VisitorId]) -> bool {
    kind.visitor().is_some_and(|v| visitors.contains(&v))
}

/// Takes out of `other` everything that pointed at the erased person's devices.
pub fn forget_devices(other: &mut Person, erased: &[VisitorId]) {
    other.visitors.retain(|v| !erased.contains(v));
    other.audit.retain(|entry| !mentions(&entry.what, erased));
}

fn attribute_pairs(a: &Attributes) -> Vec<(String, String)> {
    [
        ("name", &a.name),
        ("company", &a.company),
        ("phone", &a.phone),
        ("title", &a.title),
        ("department", &a.department),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.clone().map(|v| (k.to_string(), v)))
    .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::person::Stage;

    fn person(id: u64, email: &str) -> Person {
        Person::new(PersonId(id), Arc::from("demo"), email.into(), 0)
    }

    #[test]
    fn a_first_join_takes_the_history_and_a_shared_device_is_audited_as_such() {
        let mut hanako = person(1, "hanako@example.co.jp");
        let fields = [("company".to_string(), "ノースウィンド".to_string())];
        let first = Join {
            seq: 3,
            at_ms: 10,
            visitor: VisitorId([1; 16]),
            source: JoinSource::Form,
            fields: &fields,
            previous: None,
            retroactive: true,
            visitor_score: 12.0,
        };
        assert!(join(&mut hanako, &first, 86_400_000), "a new device");
        assert!(
            !join(&mut hanako, &first, 86_400_000),
            "known the second time"
        );
        assert!(matches!(
            hanako.audit[0].what,
            AuditKind::Joined {
                retroactive: true,
                ..
            }
        ));
        assert!(hanako.score.at(10, 86_400_000) >= 12.0);
        assert_eq!(hanako.attributes.company.as_deref(), Some("ノースウィンド"));

        let mut taro = person(2, "taro@example.co.jp");
        let shared = Join {
            previous: Some(hanako.id),
            retroactive: false,
            ..first
        };
        join(&mut taro, &shared, 86_400_000);
        assert_eq!(
            taro.audit[0].what,
            shared.shared_device(hanako.id, taro.id),
            "the new owner records where the device came from"
        );
        assert_eq!(taro.score.at(10, 86_400_000), 0.0, "no history taken");
    }

    #[test]
    fn a_merge_keeps_the_survivors_attributes_and_fills_its_blanks() {
        let mut survivor = person(1, "a@example.co.jp");
        survivor
            .attributes
            .update(&[("name".into(), "佐藤 花子".into())]);
        let mut old = person(2, "hanako@example.co.jp");
        old.attributes.update(&[
            ("name".into(), "Hanako Sato".into()),
            ("company".into(), "ノースウィンド".into()),
        ]);
        old.stage = Stage::Mql;
        old.visitors.push(VisitorId([7; 16]));
        merge_into(&mut survivor, &old, 9, 86_400_000);
        assert_eq!(survivor.attributes.name.as_deref(), Some("佐藤 花子"));
        assert_eq!(
            survivor.attributes.company.as_deref(),
            Some("ノースウィンド")
        );
        assert_eq!(survivor.stage, Stage::Mql, "the later stage");
        assert_eq!(survivor.visitors, vec![VisitorId([7; 16])]);
        assert_eq!(survivor.last_seq, 9);
    }

    #[test]
    fn a_merge_keeps_the_merged_persons_offline_events_once() {
        let seminar = crate::model::offline::OfflineEvent {
            kind: crate::model::offline::OfflineKind::Seminar,
            name: "はじめての見込み客発掘".into(),
            date: "2026-11-10".into(),
            at_ms: 5,
        };
        let mut survivor = person(1, "a@example.co.jp");
        survivor.audit(3, 5, AuditKind::Offline(seminar.clone()));
        let mut old = person(2, "hanako@example.co.jp");
        old.audit(4, 5, AuditKind::Offline(seminar.clone()));
        let card = crate::model::offline::OfflineEvent {
            kind: crate::model::offline::OfflineKind::BusinessCard,
            name: "展示会".into(),
            date: "2026-10-01".into(),
            at_ms: 1,
        };
        old.audit(4, 1, AuditKind::Offline(card.clone()));
        merge_into(&mut survivor, &old, 9, 86_400_000);
        let offline: Vec<_> = survivor
            .audit
            .iter()
            .filter_map(|e| match &e.what {
                AuditKind::Offline(event) => Some(event.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(offline, vec![seminar, card]);
    }
}
