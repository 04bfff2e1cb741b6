//! Alerts and digests waiting for delivery, their cooldowns, and the dead-letter list: made
//! while a record is applied, so they are exactly as durable as the record, and the same on
//! every node and after every replay.
//!
//! An alert recorded in a batch is queued only if no alert of the same rule about the same
//! subject was queued within its cooldown; the table remembers the record each firing came
//! from, so a replay of that record (a fuzzy snapshot may already hold its effect) queues
//! nothing twice. Each destination of a message is delivered on its own: one that fails or is
//! down does not hold back the others, and a message leaves the table once every destination
//! took it or was given up on and not retried.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::person::PersonId;
use crate::notice::{Alert, Digest};

/// Cooldown entries past this many are swept of the expired ones.
const SWEEP_AT: usize = 100_000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Message {
    Alert(Box<Alert>),
    Digest(Box<Digest>),
}

impl Message {
    /// The event type: the alert's, or `digest`.
    pub fn kind(&self) -> &str {
        match self {
            Message::Alert(a) => &a.kind,
            Message::Digest(_) => "digest",
        }
    }
}

/// One queued message and where it still has to go.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertEntry {
    pub id: u64,
    pub site: Arc<str>,
    pub message: Message,
    pub created_ms: i64,
    /// Destinations not yet delivered to, nor given up on.
    pub pending: Vec<String>,
    /// Destinations given up on.
    pub dead: Vec<DeadLetter>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub destination: String,
    pub reason: String,
    pub attempts: u32,
    pub at_ms: i64,
}

/// The last firing of a rule about a subject.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cooldown {
    pub site: Arc<str>,
    pub rule: String,
    pub subject: String,
    pub at_ms: i64,
    pub until_ms: i64,
    /// The record it came from.
    pub seq: u64,
}

#[derive(Default)]
pub struct AlertTable {
    pub entries: BTreeMap<u64, AlertEntry>,
    cooldowns: HashMap<(Arc<str>, String, String), Cooldown>,
    /// Alerts a cooldown held back while applying (for the metrics).
    pub suppressed: u64,
}

impl AlertTable {
    /// Whether `rule` about `subject` fired within its cooldown before `now_ms`.
    pub fn cooling(&self, site: &Arc<str>, rule: &str, subject: &str, now_ms: i64) -> bool {
        self.cooldowns
            .get(&(Arc::clone(site), rule.to_string(), subject.to_string()))
            .is_some_and(|c| now_ms < c.until_ms)
    }

    /// Queues `alert` from record `seq` as `id`, unless its cooldown holds it back or the
    /// record was applied already.
    pub fn raise(&mut self, site: &Arc<str>, alert: &Alert, id: u64, seq: u64, at_ms: i64) {
        let key = (Arc::clone(site), alert.rule.clone(), alert.subject.clone());
        if let Some(last) = self.cooldowns.get(&key) {
            if last.seq == seq {
                return; // this record's firing is already here
            }
            if at_ms < last.until_ms {
                self.suppressed += 1;
                return;
            }
        }
        self.cooldowns.insert(
            key,
            Cooldown {
                site: Arc::clone(site),
                rule: alert.rule.clone(),
                subject: alert.subject.clone(),
                at_ms,
                until_ms: at_ms.saturating_add(alert.cooldown_ms),
                seq,
            },
        );
        if self.cooldowns.len() > SWEEP_AT {
            self.cooldowns.retain(|_, c| c.until_ms > at_ms);
        }
        self.push(AlertEntry {
            id,
            site: Arc::clone(site),
            message: Message::Alert(Box::new(alert.clone())),
            created_ms: at_ms,
            pending: alert.destinations.clone(),
            dead: Vec::new(),
        });
    }

    /// Queues a digest once per (site, digest, period), whichever node found it due first.
    pub fn digest(&mut self, digest: &Digest, id: u64, seq: u64) {
        let site: Arc<str> = Arc::from(digest.site.as_str());
        let key = (
            Arc::clone(&site),
            format!("digest:{}", digest.name),
            digest.period.clone(),
        );
        if self.cooldowns.contains_key(&key) {
            return;
        }
        self.cooldowns.insert(
            key,
            Cooldown {
                site: Arc::clone(&site),
                rule: format!("digest:{}", digest.name),
                subject: digest.period.clone(),
                at_ms: digest.to_ms,
                // Kept for 60 days: longer than any period a node could find due again.
                until_ms: digest.to_ms.saturating_add(60 * 86_400_000),
                seq,
            },
        );
        self.push(AlertEntry {
            id,
            site,
            message: Message::Digest(Box::new(digest.clone())),
            created_ms: digest.to_ms,
            pending: digest.destinations.clone(),
            dead: Vec::new(),
        });
    }

    /// Whether a digest for the period was queued already.
    pub fn has_digest(&self, site: &str, name: &str, period: &str) -> bool {
        self.cooldowns.contains_key(&(
            Arc::from(site),
            format!("digest:{name}"),
            period.to_string(),
        ))
    }

    pub fn push(&mut self, entry: AlertEntry) {
        self.entries.insert(entry.id, entry);
    }

    pub fn load_cooldown(&mut self, cooldown: Cooldown) {
        let key = (
            Arc::clone(&cooldown.site),
            cooldown.rule.clone(),
            cooldown.subject.clone(),
        );
        self.cooldowns.insert(key, cooldown);
    }

    pub fn cooldowns(&self) -> impl Iterator<Item = &Cooldown> {
        self.cooldowns.values()
    }

    pub fn delivered(&mut self, id: u64, destination: &str) {
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.pending.retain(|d| d != destination);
        }
        self.drop_if_done(id);
    }

    pub fn dead_lettered(&mut self, id: u64, letter: DeadLetter) {
        if let Some(entry) = self.entries.get_mut(&id)
            && entry.pending.contains(&letter.destination)
        {
            entry.pending.retain(|d| *d != letter.destination);
            entry.dead.push(letter);
        }
    }

    pub fn retried(&mut self, id: u64, destination: &str) {
        if let Some(entry) = self.entries.get_mut(&id)
            && entry.dead.iter().any(|d| d.destination == destination)
        {
            entry.dead.retain(|d| d.destination != destination);
            entry.pending.push(destination.to_string());
        }
    }

    fn drop_if_done(&mut self, id: u64) {
        if self
            .entries
            .get(&id)
            .is_some_and(|e| e.pending.is_empty() && e.dead.is_empty())
        {
            self.entries.remove(&id);
        }
    }

    /// An erased person leaves no alert about them, and no mention in others.
    pub fn forget(&mut self, person: PersonId) {
        self.entries.retain(|_, e| match &e.message {
            Message::Alert(a) => a.person != Some(person.0),
            Message::Digest(_) => true,
        });
        for entry in self.entries.values_mut() {
            if let Message::Alert(a) = &mut entry.message {
                a.known_people.retain(|p| *p != person.0);
            }
        }
        let subject = crate::alerts::person_subject(person.0);
        self.cooldowns.retain(|_, c| c.subject != subject);
    }

    /// Entries with a destination still to deliver to.
    pub fn pending(&self) -> Vec<AlertEntry> {
        self.entries
            .values()
            .filter(|e| !e.pending.is_empty())
            .cloned()
            .collect()
    }

    /// Every dead letter: (entry, letter).
    pub fn dead_letters(&self) -> Vec<(AlertEntry, DeadLetter)> {
        self.entries
            .values()
            .flat_map(|e| e.dead.iter().map(move |d| (e.clone(), d.clone())))
            .collect()
    }
}
