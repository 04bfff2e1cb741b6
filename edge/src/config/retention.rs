//! How long the edge keeps what it collects (`[retention]`): storage limitation, as APPI and
//! GDPR expect, and memory that levels off instead of growing with all traffic ever.

use std::time::Duration;

use serde::Deserialize;

use super::values::HumanDuration;

const DAY: u64 = 86_400;

/// The funnel stages a person may be in; `keep_stages` names some of them.
pub const STAGES: [&str; 5] = ["lead", "mql", "sql", "opportunity", "customer"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Off keeps everything forever (the behaviour before retention existed).
    pub enabled: bool,
    /// An anonymous visitor (never identified, or split off again) goes after this long
    /// without activity.
    pub anonymous_visitors: HumanDuration,
    /// A person, with their devices, goes after this long without activity, unless their stage
    /// is one of `keep_stages`.
    pub people: HumanDuration,
    /// People in these stages are kept however long they are quiet: a customer or an open
    /// opportunity is a business relationship, not a lead gone cold.
    pub keep_stages: Vec<String>,
    /// The events (pages, forms, clicks) of a visit go this long after it; the visit and its
    /// counts stay.
    pub events: HumanDuration,
    /// How often the edge looks for what has expired.
    pub check_every: HumanDuration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            enabled: true,
            anonymous_visitors: HumanDuration(Duration::from_secs(90 * DAY)),
            people: HumanDuration(Duration::from_secs(760 * DAY)),
            keep_stages: vec!["opportunity".into(), "customer".into()],
            events: HumanDuration(Duration::from_secs(400 * DAY)),
            check_every: HumanDuration(Duration::from_secs(600)),
        }
    }
}

impl RetentionConfig {
    /// What is wrong with the section, if anything: (key, message).
    pub fn problem(&self) -> Option<(&'static str, String)> {
        for (key, period) in [
            ("retention.anonymous_visitors", self.anonymous_visitors.0),
            ("retention.people", self.people.0),
            ("retention.events", self.events.0),
        ] {
            if period < Duration::from_secs(DAY) {
                return Some((key, "keep data at least one day (\"1d\")".into()));
            }
        }
        if self.check_every.0 < Duration::from_secs(1) {
            return Some(("retention.check_every", "at least one second".into()));
        }
        for stage in &self.keep_stages {
            if !STAGES.contains(&stage.as_str()) {
                return Some((
                    "retention.keep_stages",
                    format!("`{stage}` is not one of {}", STAGES.join(", ")),
                ));
            }
        }
        None
    }
}
