//! The person side of identity policy: what a merge keeps of the two records, and which audit
//! entries an erasure must take out of other people's records. The engine applies these to its
//! tables; the rules themselves live here, beside the visitor side (`stitch`).

use crate::model::person::{Attributes, AuditKind, Person};
use crate::visitor_id::VisitorId;

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
    match kind {
        AuditKind::Joined { visitor, .. }
        | AuditKind::SharedDevice { visitor, .. }
        | AuditKind::Split { visitor }
        | AuditKind::ClickIgnored { visitor, .. } => visitors.contains(visitor),
        AuditKind::Merged { .. } | AuditKind::StageChanged { .. } => false,
    }
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
    use crate::model::person::{PersonId, Stage};

    fn person(id: u64, email: &str) -> Person {
        Person::new(PersonId(id), Arc::from("demo"), email.into(), 0)
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
}
