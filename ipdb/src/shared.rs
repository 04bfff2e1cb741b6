//! A resolver that can be swapped while serving.
//!
//! Lookups load the current `Arc<Resolver>` without locking; a reload opens and verifies the
//! new files completely before the single atomic store, so a lookup sees either the old set or
//! the new one, never a mix, and a bad file leaves the old set serving.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use arc_swap::ArcSwap;

use crate::cache::LookupCache;
use crate::classify::Confidence;
use crate::resolver::paths;
use crate::{Company, Error, LayerSpec, Resolver};

/// Size and modification time of every layer file, the cheap "did anything change" test.
type Stamp = Vec<Option<(u64, SystemTime)>>;

fn stamp(specs: &[LayerSpec]) -> Stamp {
    paths(specs)
        .map(|p| {
            std::fs::metadata(p)
                .ok()
                .and_then(|m| Some((m.len(), m.modified().ok()?)))
        })
        .collect()
}

struct Inner {
    current: ArcSwap<Resolver>,
    /// Bumped after every swap; cached answers carry the generation they were computed in.
    generation: AtomicU64,
    /// Recent answers; `None` when disabled.
    cache: Option<LookupCache>,
    specs: Vec<LayerSpec>,
    /// The stamp of the files now serving; the mutex also keeps two reloads from racing.
    stamp: Mutex<Stamp>,
}

/// A hot-swappable [`Resolver`]; clones share it.
#[derive(Clone)]
pub struct SharedResolver {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SharedResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedResolver")
            .field("specs", &self.inner.specs)
            .finish_non_exhaustive()
    }
}

impl SharedResolver {
    /// Serves `resolver`, which was opened from `specs`; reloads re-open `specs`. Recent
    /// answers are cached ([`SharedResolver::DEFAULT_CACHE`] addresses).
    pub fn new(resolver: Resolver, specs: Vec<LayerSpec>) -> Self {
        SharedResolver::with_cache(resolver, specs, SharedResolver::DEFAULT_CACHE)
    }

    /// Addresses cached by [`SharedResolver::new`]: enough for the distinct visitors of a busy
    /// site over several minutes, a few MB at most.
    pub const DEFAULT_CACHE: usize = 16_384;

    /// As [`SharedResolver::new`] with a cache of about `capacity` addresses (0: none).
    pub fn with_cache(resolver: Resolver, specs: Vec<LayerSpec>, capacity: usize) -> Self {
        let stamp = stamp(&specs);
        SharedResolver {
            inner: Arc::new(Inner {
                current: ArcSwap::from_pointee(resolver),
                generation: AtomicU64::new(1),
                cache: LookupCache::new(capacity),
                specs,
                stamp: Mutex::new(stamp),
            }),
        }
    }

    /// Looks `ip` up in the resolver serving now (through the cache, if any).
    pub fn lookup(&self, ip: IpAddr) -> Option<Company> {
        self.lookup_with_confidence(ip).map(|(c, _)| c)
    }

    /// As [`SharedResolver::lookup`], with the confidence of the answer's network kind (see
    /// [`Resolver::lookup_with_confidence`]).
    pub fn lookup_with_confidence(&self, ip: IpAddr) -> Option<(Company, Confidence)> {
        let Some(cache) = &self.inner.cache else {
            return self.inner.current.load().lookup_with_confidence(ip);
        };
        // Generation first, resolver second: a reload stores the resolver before bumping the
        // generation, so an answer is never filed under a generation newer than its resolver.
        let generation = self.inner.generation.load(Ordering::SeqCst);
        if let Some(hit) = cache.get(&ip, generation) {
            return hit;
        }
        let answer = self.inner.current.load().lookup_with_confidence(ip);
        cache.put(ip, generation, answer.clone());
        answer
    }

    /// The resolver serving now.
    pub fn current(&self) -> Arc<Resolver> {
        self.inner.current.load_full()
    }

    /// Re-opens every layer; on any error the old resolver keeps serving.
    pub fn reload(&self) -> Result<(), Error> {
        let mut guard = self.inner.stamp.lock().unwrap_or_else(|p| p.into_inner());
        self.reload_locked(&mut guard)
    }

    /// Reloads if any file's size or modification time changed; `Ok(true)` if it swapped.
    /// A file that changed but fails to open is reported each time it is polled until fixed.
    pub fn reload_if_changed(&self) -> Result<bool, Error> {
        let mut guard = self.inner.stamp.lock().unwrap_or_else(|p| p.into_inner());
        if stamp(&self.inner.specs) == *guard {
            return Ok(false);
        }
        self.reload_locked(&mut guard).map(|()| true)
    }

    fn reload_locked(&self, stamp_slot: &mut Stamp) -> Result<(), Error> {
        // Stamp before opening: a write landing during the open shows as a change next poll.
        let before = stamp(&self.inner.specs);
        let resolver = Resolver::open(&self.inner.specs)?;
        self.inner.current.store(Arc::new(resolver));
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        *stamp_slot = before;
        Ok(())
    }
}
