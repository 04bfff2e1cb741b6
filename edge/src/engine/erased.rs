//! What erasure remembers once the data is gone: which people were erased (so a retried request
//! is answered as done, not as unknown), and digests of the erased visitors with the time of
//! their erasure (so a batch received before it, and replayed later from a node's spool, does
//! not bring the visitor back). Bounded: the oldest are forgotten first.
//!
//! Visitor ids are kept only as digests: an erasure must leave no byte of them in any file,
//! and the snapshot holds this memory. A visitor id has 128 random bits, so its digest cannot
//! be walked back to it.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::VisitorKey;
use crate::model::person::PersonId;

/// Erased people and visitors remembered at most (together). A spool is replayed within hours
/// of an outage and a retry within minutes: the newest erasures are the ones that matter.
pub const REMEMBERED: usize = 100_000;

/// One remembered erasure: a snapshot entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Remembered {
    Person {
        site: Arc<str>,
        person: PersonId,
    },
    Visitor {
        digest: [u8; 16],
        /// Batches of the visitor received up to here are dropped on replay.
        at_ms: i64,
    },
}

#[derive(Debug, Default)]
pub struct Erased {
    people: HashMap<PersonId, Arc<str>>,
    visitors: HashMap<[u8; 16], i64>,
    order: VecDeque<Remembered>,
    /// The latest `at_ms` of any remembered visitor: a batch received after it needs no check,
    /// which keeps the digest off the collect path.
    newest_ms: i64,
}

impl Erased {
    pub fn remember(&mut self, entry: Remembered) {
        match &entry {
            Remembered::Person { site, person } => {
                self.people.insert(*person, Arc::clone(site));
            }
            Remembered::Visitor { digest, at_ms } => {
                self.visitors.insert(*digest, *at_ms);
                self.newest_ms = self.newest_ms.max(*at_ms);
            }
        }
        self.order.push_back(entry);
        while self.order.len() > REMEMBERED {
            match self.order.pop_front() {
                Some(Remembered::Person { person, .. }) => {
                    self.people.remove(&person);
                }
                Some(Remembered::Visitor { digest, .. }) => {
                    self.visitors.remove(&digest);
                }
                None => break,
            }
        }
    }

    /// The site of an erased person, while remembered.
    pub fn person(&self, id: PersonId) -> Option<Arc<str>> {
        self.people.get(&id).cloned()
    }

    /// Whether a batch of `key` received at `received_ms` belongs to data already erased.
    pub fn holds_back(&self, key: &VisitorKey, received_ms: i64) -> bool {
        if self.visitors.is_empty() || received_ms > self.newest_ms {
            return false;
        }
        self.visitors
            .get(&digest(key))
            .is_some_and(|at| received_ms <= *at)
    }

    /// Oldest first, as the snapshot stores them.
    pub fn entries(&self) -> impl Iterator<Item = &Remembered> {
        self.order.iter()
    }
}

/// The digest a visitor is remembered by.
pub fn digest(key: &VisitorKey) -> [u8; 16] {
    let mut hash = Sha256::new();
    hash.update(b"mikomi erased visitor\0");
    hash.update(key.site.as_bytes());
    hash.update([0]);
    hash.update(key.id.0);
    let full = hash.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::visitor_id::VisitorId;

    fn key(n: u8) -> VisitorKey {
        VisitorKey {
            site: "demo".into(),
            id: VisitorId([n; 16]),
        }
    }

    #[test]
    fn a_batch_from_before_the_erasure_is_held_back_and_a_later_one_is_not() {
        let mut erased = Erased::default();
        erased.remember(Remembered::Visitor {
            digest: digest(&key(1)),
            at_ms: 1_000,
        });
        assert!(erased.holds_back(&key(1), 999));
        assert!(erased.holds_back(&key(1), 1_000));
        assert!(
            !erased.holds_back(&key(1), 1_001),
            "a new visit after the erasure"
        );
        assert!(!erased.holds_back(&key(2), 500), "another visitor");
    }

    #[test]
    fn the_memory_is_bounded_and_forgets_the_oldest() {
        let mut erased = Erased::default();
        for n in 0..(REMEMBERED as u64 + 10) {
            erased.remember(Remembered::Person {
                site: "demo".into(),
                person: PersonId(n),
            });
        }
        assert_eq!(erased.entries().count(), REMEMBERED);
        assert!(erased.person(PersonId(0)).is_none());
        assert!(erased.person(PersonId(REMEMBERED as u64 + 9)).is_some());
    }

    #[test]
    fn the_digest_holds_no_byte_run_of_the_id() {
        let id = [0xab; 16];
        let d = digest(&VisitorKey {
            site: "demo".into(),
            id: VisitorId(id),
        });
        assert!(!d.windows(4).any(|w| w == [0xab; 4]));
    }
}
