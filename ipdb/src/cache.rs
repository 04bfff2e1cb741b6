//! A small, bounded lookup cache in front of the resolver.
//!
//! Real traffic repeats addresses (a visitor loads several pages; an office shares one egress
//! address), and a lookup that misses the CPU cache walks ~20 tree nodes in a 10 MB file. The
//! cache keeps recent answers — including "not found" — so a repeat costs a hash and a clone.
//!
//! It is sharded to keep lock hold times short under concurrency, and each shard is a
//! two-generation map: when the hot map is full it becomes the cold one and the old cold one
//! is dropped, an LRU approximation with no per-entry bookkeeping and a hard size bound
//! (2 × capacity). Entries are tagged with the resolver generation, so a reload invalidates
//! them without a stop-the-world clear. Raw addresses live here only in memory, only for as
//! long as they stay recent, and are never written anywhere.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::Company;
use crate::classify::Confidence;

const SHARDS: usize = 16;

/// One cached answer: the company (or "not found") and the confidence of its kind.
pub(crate) type Answer = Option<(Company, Confidence)>;

struct Shard {
    generation: u64,
    hot: HashMap<IpAddr, Answer>,
    cold: HashMap<IpAddr, Answer>,
}

/// Recent answers, keyed by address.
pub(crate) struct LookupCache {
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
}

impl LookupCache {
    /// A cache of about `capacity` recent addresses; `None` when `capacity` is 0.
    pub(crate) fn new(capacity: usize) -> Option<LookupCache> {
        if capacity == 0 {
            return None;
        }
        let per_shard = capacity.div_ceil(SHARDS).max(1);
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    generation: 0,
                    hot: HashMap::with_capacity(per_shard),
                    cold: HashMap::new(),
                })
            })
            .collect();
        Some(LookupCache { shards, per_shard })
    }

    fn shard(&self, ip: &IpAddr) -> &Mutex<Shard> {
        // The low bits of the address vary most between visitors.
        let low = match ip {
            IpAddr::V4(a) => a.octets()[3] ^ a.octets()[2],
            IpAddr::V6(a) => a.octets()[15] ^ a.octets()[7],
        };
        &self.shards[usize::from(low) % SHARDS]
    }

    /// The cached answer for `ip` under `generation`, if any.
    pub(crate) fn get(&self, ip: &IpAddr, generation: u64) -> Option<Answer> {
        let mut shard = self.shard(ip).lock().unwrap_or_else(|p| p.into_inner());
        if shard.generation != generation {
            return None;
        }
        if let Some(hit) = shard.hot.get(ip) {
            return Some(hit.clone());
        }
        let promoted = shard.cold.remove(ip)?;
        let answer = promoted.clone();
        self.insert_locked(&mut shard, *ip, promoted);
        Some(answer)
    }

    /// Remembers `answer` for `ip`, computed under `generation`.
    pub(crate) fn put(&self, ip: IpAddr, generation: u64, answer: Answer) {
        let mut shard = self.shard(&ip).lock().unwrap_or_else(|p| p.into_inner());
        if shard.generation != generation {
            if generation < shard.generation {
                return; // computed against a resolver that has since been replaced
            }
            shard.generation = generation;
            shard.hot.clear();
            shard.cold.clear();
        }
        self.insert_locked(&mut shard, ip, answer);
    }

    fn insert_locked(&self, shard: &mut Shard, ip: IpAddr, answer: Answer) {
        if shard.hot.len() >= self.per_shard {
            let full = std::mem::replace(&mut shard.hot, HashMap::with_capacity(self.per_shard));
            shard.cold = full;
        }
        shard.hot.insert(ip, answer);
    }

    /// Entries held, for tests.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let s = s.lock().unwrap_or_else(|p| p.into_inner());
                s.hot.len() + s.cold.len()
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u32) -> IpAddr {
        IpAddr::from(std::net::Ipv4Addr::from(n))
    }

    #[test]
    fn stays_bounded_and_keeps_recent_entries() {
        let Some(cache) = LookupCache::new(160) else {
            panic!("capacity 160 gives a cache")
        };
        for n in 0..10_000 {
            cache.put(ip(n), 1, None);
        }
        assert!(cache.len() <= 2 * 160, "{} entries", cache.len());
        assert_eq!(cache.get(&ip(9_999), 1), Some(None));
        assert_eq!(cache.get(&ip(0), 1), None);
    }

    #[test]
    fn a_new_generation_hides_old_answers() {
        let Some(cache) = LookupCache::new(64) else {
            panic!("capacity 64 gives a cache")
        };
        cache.put(ip(1), 1, None);
        assert_eq!(cache.get(&ip(1), 2), None);
        cache.put(ip(1), 2, None);
        // A late answer from the replaced resolver is dropped.
        cache.put(ip(2), 1, None);
        assert_eq!(cache.get(&ip(2), 2), None);
        assert_eq!(cache.get(&ip(1), 2), Some(None));
        assert!(LookupCache::new(0).is_none());
    }
}
