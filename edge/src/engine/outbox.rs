//! Webhook events waiting for delivery. They are made while a record is applied (so they are as
//! durable as the record) and leave only when a `WebhookDelivered` record says so.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::person::PersonId;
use crate::visitor_id::VisitorId;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Stable across retries and restarts: receivers deduplicate on it.
    pub id: u64,
    pub site: Arc<str>,
    /// `person.identified`, `person.mql`, `person.merged`, `person.split`.
    pub kind: String,
    /// The people and visitors it names, so an erasure can take the entry with it.
    pub people: Vec<PersonId>,
    pub visitors: Vec<VisitorId>,
    /// The JSON body, fixed when the event was made.
    pub payload: String,
    pub created_ms: i64,
}

#[derive(Default)]
pub struct Outbox {
    pub entries: BTreeMap<u64, OutboxEntry>,
}

/// Undelivered events kept at most. Past it (an endpoint down for days under heavy traffic)
/// the oldest goes, with a warning: memory must stay bounded, and every node drops the same
/// one, as pushes happen in log order.
pub const MAX_OUTBOX: usize = 100_000;

impl Outbox {
    pub fn push(&mut self, entry: OutboxEntry) {
        self.entries.insert(entry.id, entry);
        if self.entries.len() > MAX_OUTBOX
            && let Some((id, dropped)) = self.entries.pop_first()
        {
            tracing::warn!(
                event = id,
                kind = dropped.kind,
                "webhook outbox full: the oldest undelivered event is dropped"
            );
        }
    }

    pub fn remove(&mut self, id: u64) {
        self.entries.remove(&id);
    }

    /// Drops every entry that names the person or one of the visitors.
    pub fn forget(&mut self, person: PersonId, visitors: &[VisitorId]) {
        self.entries.retain(|_, e| {
            !e.people.contains(&person) && !e.visitors.iter().any(|v| visitors.contains(v))
        });
    }

    pub fn pending(&self, limit: usize) -> Vec<OutboxEntry> {
        self.entries.values().take(limit).cloned().collect()
    }
}

/// Builds an event body in the Standard Webhooks shape: `{type, timestamp, data}`.
pub fn payload(kind: &str, at_ms: i64, data: serde_json::Value) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(at_ms.max(0) as u64);
    serde_json::json!({
        "type": kind,
        "timestamp": humantime::format_rfc3339_millis(at).to_string(),
        "data": data,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_outbox_drops_its_oldest_event() {
        let mut outbox = Outbox::default();
        for id in 0..=MAX_OUTBOX as u64 {
            outbox.push(OutboxEntry {
                id,
                site: "demo".into(),
                kind: "person.identified".into(),
                people: Vec::new(),
                visitors: Vec::new(),
                payload: String::new(),
                created_ms: 0,
            });
        }
        assert_eq!(outbox.entries.len(), MAX_OUTBOX);
        assert_eq!(outbox.entries.keys().next(), Some(&1));
    }
}
