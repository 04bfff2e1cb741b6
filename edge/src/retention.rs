//! Storage limitation as a policy: from the configured periods and a moment, the cutoffs before
//! which each kind of data has expired, and what counts as quiet. The engine applies it (see
//! `engine::expiry`); nothing here touches the tables.

use crate::config::RetentionConfig;
use crate::model::Visitor;
use crate::model::person::{Person, Stage};
use crate::model::record::Expiry;

/// The periods, in milliseconds, and the stages that keep a person.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub anonymous_ms: i64,
    pub people_ms: i64,
    pub events_ms: i64,
    pub keep_stages: Vec<Stage>,
}

/// The moments before which data of each kind has expired, as one record carries them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cutoffs {
    pub anonymous_before_ms: i64,
    pub people_before_ms: i64,
    pub events_before_ms: i64,
}

impl Policy {
    /// `None` when retention is off.
    pub fn from_config(config: &RetentionConfig) -> Option<Policy> {
        let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        config.enabled.then(|| Policy {
            anonymous_ms: ms(config.anonymous_visitors.0),
            people_ms: ms(config.people.0),
            events_ms: ms(config.events.0),
            keep_stages: config
                .keep_stages
                .iter()
                .filter_map(|s| Stage::parse(s))
                .collect(),
        })
    }

    pub fn cutoffs(&self, now_ms: i64) -> Cutoffs {
        Cutoffs {
            anonymous_before_ms: now_ms.saturating_sub(self.anonymous_ms),
            people_before_ms: now_ms.saturating_sub(self.people_ms),
            events_before_ms: now_ms.saturating_sub(self.events_ms),
        }
    }
}

/// Whether the visitor never belonged to anyone (or was split off again): its own period then.
pub fn is_anonymous(visitor: &Visitor) -> bool {
    visitor.links.iter().all(|l| l.person.is_none())
}

/// An anonymous visitor quiet since before the record's cutoff.
pub fn anonymous_expired(visitor: &Visitor, expiry: &Expiry) -> bool {
    is_anonymous(visitor) && visitor.last_seen_ms < expiry.anonymous_before_ms
}

/// A person quiet since before the record's cutoff and not kept by their stage. Their devices
/// are checked by the caller.
pub fn person_expired(person: &Person, expiry: &Expiry) -> bool {
    person.last_seen_ms < expiry.people_before_ms && !expiry.keep_stages.contains(&person.stage)
}

/// Whether the visitor holds events of visits that ended before the record's cutoff.
pub fn has_old_events(visitor: &Visitor, events_before_ms: i64) -> bool {
    visitor
        .sessions
        .iter()
        .any(|s| s.last_ms < events_before_ms && !s.events.is_empty())
}
