//! What an alert or a digest says, as the log keeps it: fixed when it was decided, so every
//! node and every replay delivers the same message. People are named by id only (their names
//! are looked up when the message is written, so an erasure leaves none behind in the log).
//!
//! Persisted (store format 3): fields and variants are only ever added at the end.

use serde::{Deserialize, Serialize};

/// One alert rule that held for a batch: recorded in that batch as `Event::Alert`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// The `[[alerts]]` rule's name.
    pub rule: String,
    /// The event type it is sent as: `account.hot`, `page.viewed`, `person.returned`,
    /// `person.email_click`, `person.score`.
    pub kind: String,
    /// What the cooldown counts per: `account:<domain>` or `person:<id>`.
    pub subject: String,
    pub cooldown_ms: i64,
    /// Names of `[[alerting.channels]]`.
    pub destinations: Vec<String>,
    /// `ja` or `en`.
    pub lang: String,
    pub company: Option<Company>,
    /// The person the alert is about (person rules).
    pub person: Option<u64>,
    /// The account's figures over the rule's window, this batch included.
    pub heat: f64,
    pub visits: u32,
    pub visitors: u32,
    /// Pages of this batch, then the account's most viewed in the window (at most 10).
    pub pages: Vec<String>,
    /// Known people of the account in the window (at most 10).
    pub known_people: Vec<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Company {
    pub domain: String,
    pub name: Option<String>,
    pub industry: Option<String>,
    pub employees: Option<u32>,
    pub country: Option<String>,
}

/// A morning (or weekly) summary, recorded by the node that found it due.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Digest {
    /// The `[[digests]]` entry's name.
    pub name: String,
    pub site: String,
    pub lang: String,
    pub destinations: Vec<String>,
    /// The period covered, as local dates (`2026-12-01`, or `2026-11-23..2026-11-29`).
    pub period: String,
    pub from_ms: i64,
    pub to_ms: i64,
    /// The period's accounts, hottest first.
    pub accounts: Vec<DigestAccount>,
    /// People first seen in the period, and people who became MQL in it.
    pub new_leads: u32,
    pub new_mqls: u32,
    /// Popups shown and submitted in the period, over every rule.
    pub popups_shown: u64,
    pub popups_submitted: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DigestAccount {
    pub company: Company,
    pub heat: f64,
    pub visits: u32,
    pub visitors: u32,
    pub known_people: u32,
}

/// The employee band the messages show: 小規模 ≤ 100, 中堅 100–500, 大手 over 500.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Band {
    Small,
    Mid,
    Large,
}

impl Band {
    pub fn of(employees: u32) -> Band {
        match employees {
            0..=100 => Band::Small,
            101..=500 => Band::Mid,
            _ => Band::Large,
        }
    }

    pub fn label(self, lang: &str) -> &'static str {
        match (self, lang) {
            (Band::Small, "ja") => "小規模",
            (Band::Mid, "ja") => "中堅",
            (Band::Large, "ja") => "大手",
            (Band::Small, _) => "small",
            (Band::Mid, _) => "mid-size",
            (Band::Large, _) => "large",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_split_at_100_and_500() {
        assert_eq!(Band::of(1), Band::Small);
        assert_eq!(Band::of(100), Band::Small);
        assert_eq!(Band::of(101), Band::Mid);
        assert_eq!(Band::of(500), Band::Mid);
        assert_eq!(Band::of(501), Band::Large);
        assert_eq!(Band::Large.label("ja"), "大手");
    }
}
