//! The state as a sequence of entries: what a snapshot holds, whichever store keeps it.
//!
//! Entries are read while writes go on ("fuzzy"): visitors first, then people, then merges and
//! the webhook outbox. See the module above for why that order makes replay exact.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::alerts::{AlertEntry, Cooldown};
use super::erased::Remembered;
use super::outbox::OutboxEntry;
use super::{Engine, lock};
use crate::model::person::{Person, PersonId};
use crate::model::{Visitor, VisitorKey};

/// One record of a snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Entry {
    Visitor(Visitor),
    Person(Person),
    Merged {
        merged: PersonId,
        survivor: PersonId,
    },
    Outbox(OutboxEntry),
    /// Added to format 3 at the end (older snapshots never hold them, and still decode).
    Alert(AlertEntry),
    Cooldown(Cooldown),
    /// An erasure remembered (see `engine::erased`).
    Erased(Remembered),
    /// What imported account lists say of a company (added at the end: older snapshots never
    /// hold it, and still decode). Activity is rebuilt from the sessions; this is not.
    AccountProfile {
        site: Arc<str>,
        profile: crate::accounts::profiles::Profile,
    },
}

/// The state's entities in snapshot order. Each is read under its own short lock (a visitor's
/// only for a pointer copy), so writers are never held up for long.
pub fn entries(state: &Engine) -> impl Iterator<Item = Entry> + '_ {
    visitors(state)
        .map(|v| Entry::Visitor(Visitor::clone(&v)))
        .chain(after_visitors(state))
}

/// Every visitor now, one at a time, each taken out of its table shard as a shared pointer: the
/// shard is locked for a pointer copy only, and whatever a snapshot then does with the visitor
/// (encode it, copy it) holds up no writer (`apply` copies a visitor that is still shared).
pub fn visitors(state: &Engine) -> impl Iterator<Item = Arc<Visitor>> + '_ {
    let keys: Vec<VisitorKey> = state.visitors.iter().map(|e| e.key().clone()).collect();
    keys.into_iter()
        .filter_map(|key| state.visitors.get(&key).map(|v| Arc::clone(&v)))
}

/// The entries that follow the visitors, in snapshot order.
pub fn after_visitors(state: &Engine) -> impl Iterator<Item = Entry> + '_ {
    let people = std::iter::once(()).flat_map(move |()| {
        state.wait_for_apply();
        let ids: Vec<_> = state.persons.iter().map(|e| *e.key()).collect();
        ids.into_iter()
            .filter_map(|id| state.persons.get(&id).map(|p| Entry::Person(p.clone())))
            .collect::<Vec<_>>()
    });
    let rest = std::iter::once(()).flat_map(move |()| {
        state.wait_for_apply();
        let mut tail: Vec<Entry> = state
            .merged
            .iter()
            .map(|e| Entry::Merged {
                merged: *e.key(),
                survivor: *e.value(),
            })
            .collect();
        tail.extend(
            lock(&state.outbox)
                .entries
                .values()
                .cloned()
                .map(Entry::Outbox),
        );
        let alerts = lock(&state.alerts);
        tail.extend(alerts.entries.values().cloned().map(Entry::Alert));
        tail.extend(alerts.cooldowns().cloned().map(Entry::Cooldown));
        drop(alerts);
        tail.extend(lock(&state.erased).entries().cloned().map(Entry::Erased));
        tail.extend(lock(&state.accounts).profiles.all().map(|(site, profile)| {
            Entry::AccountProfile {
                site: Arc::clone(site),
                profile: profile.clone(),
            }
        }));
        tail
    });
    people.chain(rest)
}

impl Engine {
    /// Puts one snapshot entry back; returns the events it brings. Call `rebuild_indexes` once
    /// every entry is in.
    pub fn load(&self, entry: Entry) -> u64 {
        match entry {
            Entry::Visitor(visitor) => {
                let events = visitor.events;
                let key = VisitorKey {
                    site: Arc::clone(&visitor.site),
                    id: visitor.id,
                };
                self.visitors.insert(key, Arc::new(visitor));
                return events;
            }
            Entry::Person(person) => {
                self.persons.insert(person.id, person);
            }
            Entry::Merged { merged, survivor } => {
                self.merged.insert(merged, survivor);
            }
            Entry::Outbox(entry) => lock(&self.outbox).push(entry),
            Entry::Alert(entry) => lock(&self.alerts).push(entry),
            Entry::Cooldown(cooldown) => lock(&self.alerts).load_cooldown(cooldown),
            Entry::Erased(entry) => lock(&self.erased).remember(entry),
            Entry::AccountProfile { site, profile } => {
                lock(&self.accounts).profiles.load(site, profile)
            }
        }
        0
    }
}
