//! Known people: what a form, a popup, an email click or the backend told us about someone, and
//! which visitors (devices) are theirs.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::visitor_id::VisitorId;

/// Stable for the life of the person: made from the log position that created it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PersonId(pub u64);

impl fmt::Display for PersonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}", self.0)
    }
}

impl fmt::Debug for PersonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl PersonId {
    /// Parses the `p123` form the API shows.
    pub fn parse(text: &str) -> Option<PersonId> {
        text.strip_prefix('p')?.parse().ok().map(PersonId)
    }
}

/// Where a person is in the funnel. Everything after `Mql` is set from outside.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    #[default]
    Lead,
    Mql,
    Sql,
    Opportunity,
    Customer,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Lead => "lead",
            Stage::Mql => "mql",
            Stage::Sql => "sql",
            Stage::Opportunity => "opportunity",
            Stage::Customer => "customer",
        }
    }

    pub fn parse(text: &str) -> Option<Stage> {
        Some(match text {
            "lead" => Stage::Lead,
            "mql" => Stage::Mql,
            "sql" => Stage::Sql,
            "opportunity" => Stage::Opportunity,
            "customer" => Stage::Customer,
            _ => return None,
        })
    }
}

/// What popup rules know of a visitor as a lead, read with the visitor when deciding: the score
/// of the person who owns it (the visitor's own points while it is anonymous), decayed to the
/// decision's time, and the owner's stage.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeadFacts {
    pub score: f64,
    pub stage: Option<Stage>,
}

/// Categories, not points: kept as the person gave them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attributes {
    pub name: Option<String>,
    pub company: Option<String>,
    pub phone: Option<String>,
    pub title: Option<String>,
    pub department: Option<String>,
}

impl Attributes {
    /// Takes the non-blank values of `fields`, replacing what is known (a change the backend
    /// decided); a blank never erases what is known.
    pub fn update(&mut self, fields: &[(String, String)]) {
        for (name, value) in fields {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            if let Some((_, slot)) = self.slot(name) {
                *slot = Some(value.to_string());
            }
        }
    }

    /// Takes the non-blank values of `fields` only where nothing is known yet. Anyone who knows
    /// an address can submit a form with it, so a form never replaces a value: a different one
    /// is returned as a proposal (attribute, value) for the backend to accept or not.
    pub fn fill_blanks(&mut self, fields: &[(String, String)]) -> Vec<(&'static str, String)> {
        let mut proposed = Vec::new();
        for (name, value) in fields {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            let Some((attribute, slot)) = self.slot(name) else {
                continue;
            };
            match slot {
                None => *slot = Some(value.to_string()),
                Some(known) if known != value => proposed.push((attribute, value.to_string())),
                Some(_) => {}
            }
        }
        proposed
    }

    /// The attribute a form field's name fills, by its canonical name.
    fn slot(&mut self, field: &str) -> Option<(&'static str, &mut Option<String>)> {
        Some(match field {
            "name" | "full_name" | "fullname" => ("name", &mut self.name),
            "company" | "organization" | "organisation" => ("company", &mut self.company),
            "phone" | "tel" | "telephone" => ("phone", &mut self.phone),
            "title" | "job_title" | "role" => ("title", &mut self.title),
            "department" | "dept" => ("department", &mut self.department),
            _ => return None,
        })
    }

    /// The value of a canonical attribute.
    pub fn get(&self, attribute: &str) -> Option<&str> {
        match attribute {
            "name" => self.name.as_deref(),
            "company" => self.company.as_deref(),
            "phone" => self.phone.as_deref(),
            "title" => self.title.as_deref(),
            "department" => self.department.as_deref(),
            _ => None,
        }
    }
}

/// A decaying behaviour score: `value` as of `as_of_ms`, halving every half-life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub value: f64,
    pub as_of_ms: i64,
}

impl Score {
    pub fn at(&self, now_ms: i64, half_life_ms: i64) -> f64 {
        if half_life_ms <= 0 || now_ms <= self.as_of_ms {
            return self.value;
        }
        let halvings = (now_ms - self.as_of_ms) as f64 / half_life_ms as f64;
        self.value * 0.5f64.powf(halvings)
    }

    pub fn add(&mut self, points: f64, now_ms: i64, half_life_ms: i64) {
        self.value = self.at(now_ms, half_life_ms) + points;
        self.as_of_ms = self.as_of_ms.max(now_ms);
    }
}

/// One line of a person's identity history: joins, shared devices, splits, merges.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at_ms: i64,
    pub seq: u64,
    pub what: AuditKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditKind {
    /// A visitor became this person's; `retroactive` when its earlier sessions came along.
    Joined {
        visitor: VisitorId,
        source: JoinSource,
        retroactive: bool,
    },
    /// A visitor known as `from` is now used by `to`: later activity is `to`'s.
    SharedDevice {
        visitor: VisitorId,
        from: PersonId,
        to: PersonId,
        source: JoinSource,
    },
    /// A visitor was detached again and its sessions are anonymous.
    Split {
        visitor: VisitorId,
    },
    /// `merged` became part of `survivor`.
    Merged {
        survivor: PersonId,
        merged: PersonId,
    },
    StageChanged {
        from: Stage,
        to: Stage,
    },
    /// An email click that did not identify (no human interaction, or a data-centre network).
    ClickIgnored {
        visitor: VisitorId,
        reason: String,
    },
    // Format 3 files hold the variants above by their index: new ones go below, at the end.
    /// A form (from `visitor`) gave a value that differs from the known one. Not taken: the
    /// backend decides with `PATCH /api/v1/people/{id}`.
    ProposedChange {
        visitor: VisitorId,
        attribute: String,
        value: String,
    },
    /// The points of a conversion of `form` were counted for this person; more conversions of
    /// the same form within a day earn none.
    ConversionScored {
        form: String,
    },
    /// An offline event an imported list recorded (a seminar attended, a card exchanged): the
    /// person's timeline shows it beside the visits and its points are in the score. Kept in
    /// the audit because the audit is part of the person's record: a snapshot holds the event
    /// together with `last_seq` and the score it earned, so replay never counts it twice, and
    /// erasing the person takes it along.
    Offline(crate::model::offline::OfflineEvent),
    /// An imported list gave a value that differs from the known one. Not taken: an import
    /// never overwrites; the backend decides with `PATCH /api/v1/people/{id}`.
    ImportProposed {
        attribute: String,
        value: String,
    },
}

impl AuditKind {
    /// The device the entry is about, if any: erasure removes every device a person's audit
    /// names, including those split off again.
    pub fn visitor(&self) -> Option<VisitorId> {
        match self {
            AuditKind::Joined { visitor, .. }
            | AuditKind::SharedDevice { visitor, .. }
            | AuditKind::Split { visitor }
            | AuditKind::ClickIgnored { visitor, .. }
            | AuditKind::ProposedChange { visitor, .. } => Some(*visitor),
            AuditKind::Merged { .. }
            | AuditKind::StageChanged { .. }
            | AuditKind::ConversionScored { .. }
            | AuditKind::Offline(_)
            | AuditKind::ImportProposed { .. } => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinSource {
    Form,
    EmailClick,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub id: PersonId,
    pub site: Arc<str>,
    /// Normalised: the person key within the site.
    pub email: String,
    pub attributes: Attributes,
    pub stage: Stage,
    pub score: Score,
    /// Devices that are or were this person's.
    pub visitors: Vec<VisitorId>,
    pub created_ms: i64,
    pub last_seen_ms: i64,
    /// The last log position applied to this person (replay skips what a snapshot holds).
    pub last_seq: u64,
    pub audit: Vec<AuditEntry>,
}

/// Audit lines kept per person; the oldest go first.
pub const MAX_AUDIT: usize = 500;

/// Devices a person's record lists at most (see `Person::add_visitor`): a real person has a
/// handful; thousands mean a shared address typed into forms everywhere.
pub const MAX_VISITORS: usize = 256;

impl Person {
    pub fn new(id: PersonId, site: Arc<str>, email: String, now_ms: i64) -> Person {
        Person {
            id,
            site,
            email,
            attributes: Attributes::default(),
            stage: Stage::Lead,
            score: Score::default(),
            visitors: Vec::new(),
            created_ms: now_ms,
            last_seen_ms: now_ms,
            last_seq: 0,
            audit: Vec::new(),
        }
    }

    pub fn audit(&mut self, seq: u64, at_ms: i64, what: AuditKind) {
        if self.audit.len() >= MAX_AUDIT {
            self.audit.remove(0);
        }
        self.audit.push(AuditEntry { at_ms, seq, what });
    }

    /// At `MAX_VISITORS` devices the oldest leaves the list: its sessions leave the person's
    /// timeline, while the device still names the person in its links (erasure finds it there).
    pub fn add_visitor(&mut self, visitor: VisitorId) {
        if !self.visitors.contains(&visitor) {
            if self.visitors.len() >= MAX_VISITORS {
                self.visitors.remove(0);
            }
            self.visitors.push(visitor);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_lists_at_most_max_visitors_devices_and_the_oldest_leaves() {
        let mut p = Person::new(PersonId(1), "demo".into(), "a@x.jp".into(), 0);
        for n in 0..=MAX_VISITORS as u32 {
            let mut id = [0u8; 16];
            id[..4].copy_from_slice(&n.to_le_bytes());
            p.add_visitor(VisitorId(id));
        }
        assert_eq!(p.visitors.len(), MAX_VISITORS);
        assert_eq!(
            p.visitors[0].0[..4],
            1u32.to_le_bytes(),
            "device 0 left first"
        );
    }

    #[test]
    fn blanks_never_erase_known_attributes() {
        let mut a = Attributes::default();
        a.update(&[
            ("name".into(), "山田 太郎".into()),
            ("company".into(), "Example".into()),
        ]);
        a.update(&[
            ("name".into(), "  ".into()),
            ("phone".into(), "03-0000-0000".into()),
        ]);
        assert_eq!(a.name.as_deref(), Some("山田 太郎"));
        assert_eq!(a.company.as_deref(), Some("Example"));
        assert_eq!(a.phone.as_deref(), Some("03-0000-0000"));
    }

    #[test]
    fn forms_fill_blanks_and_propose_the_rest() {
        let mut a = Attributes::default();
        a.update(&[("name".into(), "山田 太郎".into())]);
        let proposed = a.fill_blanks(&[
            ("name".into(), "Mallory".into()),
            ("company".into(), "Example".into()),
            ("full_name".into(), "山田 太郎".into()),
            ("title".into(), " ".into()),
        ]);
        assert_eq!(
            a.name.as_deref(),
            Some("山田 太郎"),
            "a form never replaces a value"
        );
        assert_eq!(a.company.as_deref(), Some("Example"), "a blank is filled");
        assert_eq!(proposed, [("name", "Mallory".to_string())]);
        assert_eq!(a.get("company"), Some("Example"));
    }

    #[test]
    fn scores_halve_every_half_life() {
        let day = 86_400_000;
        let mut s = Score::default();
        s.add(10.0, 0, 7 * day);
        assert!((s.at(7 * day, 7 * day) - 5.0).abs() < 1e-9);
        s.add(5.0, 7 * day, 7 * day);
        assert!((s.at(7 * day, 7 * day) - 10.0).abs() < 1e-9);
        assert!((s.at(14 * day, 7 * day) - 5.0).abs() < 1e-9);
    }

    #[test]
    fn ids_print_and_parse() {
        assert_eq!(PersonId(42).to_string(), "p42");
        assert_eq!(PersonId::parse("p42"), Some(PersonId(42)));
        assert_eq!(PersonId::parse("42"), None);
    }
}
