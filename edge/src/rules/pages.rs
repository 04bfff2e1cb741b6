//! Page globs compiled once per rule set, so that a decision matches each page view of the
//! visitor's history against every glob at once instead of re-matching globs rule by rule.
//!
//! Every distinct page glob of a rule set gets a small id (a bit of a `Mask`). Per decision,
//! each page view's path is turned into the mask of the globs it matches; page conditions then
//! count bits within their windows. A path is only matched against the globs whose key byte
//! pair occurs in it (a glob cannot match a path lacking any piece of its literal text), so
//! turning a path into a mask costs one pass over its bytes plus the globs it really matches.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::glob::Glob;

/// Which of a rule set's page globs a path matches: bit `id` for glob `id`.
pub type Mask = u128;

/// More distinct page globs than a mask has bits: the rule set falls back to matching each
/// glob against the history (memoised per glob and window), as every set did before.
pub const MAX_INDEXED: usize = Mask::BITS as usize;

/// The id of the next index built; 0 is never one, so an empty cache belongs to none.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Buckets of the byte-pair table: enough that unrelated pairs rarely share one.
const BUCKETS: usize = 1024;

/// A page glob inside a condition: the glob itself (for explain and the general path), its id
/// (its mask bit) and its memo slot (one per distinct glob and window).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PageGlob {
    pub glob: Glob,
    pub id: usize,
    pub slot: usize,
}

/// Hands out glob ids and memo slots while a rule set is compiled, shared by all its rules.
#[derive(Default)]
pub struct PageGlobs {
    ids: HashMap<String, usize>,
    globs: Vec<Glob>,
    slots: HashMap<(usize, Option<i64>), usize>,
    /// The longest window of any history condition; `None` inside means "ever".
    longest: Option<Option<i64>>,
}

impl PageGlobs {
    /// The id of a glob, the same for every condition that writes the same text.
    pub fn id(&mut self, glob: &Glob) -> usize {
        let next = self.globs.len();
        let id = *self.ids.entry(glob.as_str().to_string()).or_insert(next);
        if id == next {
            self.globs.push(glob.clone());
        }
        id
    }

    /// A history glob with its window: id and memo slot.
    pub fn history(&mut self, glob: Glob, within_ms: Option<i64>) -> PageGlob {
        let id = self.id(&glob);
        let next = self.slots.len();
        let slot = *self.slots.entry((id, within_ms)).or_insert(next);
        self.longest = Some(match (self.longest, within_ms) {
            (Some(None), _) | (_, None) => None,
            (Some(Some(a)), Some(b)) => Some(a.max(b)),
            (None, Some(b)) => Some(b),
        });
        PageGlob { glob, id, slot }
    }

    /// The memo slot of a visits count over `within_ms`, shared by every visits condition
    /// with that window (page slots and visit slots are one memo).
    pub fn visits(&mut self, within_ms: Option<i64>) -> usize {
        let next = self.slots.len();
        *self.slots.entry((usize::MAX, within_ms)).or_insert(next)
    }

    /// What decisions need: the memo size, the index (unless there are too many globs) and
    /// how far back page views can matter.
    pub fn finish(self) -> PagePlan {
        let mut windows = vec![Vec::new(); self.globs.len()];
        for (&(id, within_ms), &slot) in &self.slots {
            // Visit windows have no glob: `usize::MAX` finds no entry.
            if let Some(list) = windows.get_mut(id) {
                list.push((slot, within_ms));
            }
        }
        for list in &mut windows {
            list.sort_unstable();
        }
        PagePlan {
            slots: self.slots.len(),
            windows,
            looks_back: self.longest.is_some(),
            index: GlobIndex::new(self.globs),
            oldest_ms: self.longest.flatten(),
        }
    }
}

/// The page globs of one rule set as decisions use them.
#[derive(Debug, Default)]
pub struct PagePlan {
    /// Distinct (glob, window) pairs and visit windows: the size of a decision's count memo.
    pub slots: usize,
    /// Per glob id, the memo slots counting its page views and their windows: a decision
    /// fills every page count in one pass over the history rather than one pass per count.
    pub windows: Vec<Vec<(usize, Option<i64>)>>,
    /// Some condition counts past page views, so the history has to be read.
    pub looks_back: bool,
    /// `None` when the set has no page globs or more than `MAX_INDEXED`.
    pub index: Option<GlobIndex>,
    /// The longest window of a history condition: older page views never count. `None` when
    /// some condition counts page views ever (or none looks at the history).
    pub oldest_ms: Option<i64>,
}

/// Every page glob of a rule set, with a table from byte pairs to the globs keyed on them.
#[derive(Debug)]
pub struct GlobIndex {
    /// Unique in the process (see `id`).
    id: u64,
    globs: Vec<Glob>,
    /// Globs with no literal piece of two bytes or more: tried against every path.
    always: Mask,
    /// Per glob, the `pair_bit`s of every byte pair of its literal pieces: a path that lacks
    /// any of them cannot match, which rules out most candidates woken by a shared bucket
    /// without matching the glob.
    pair_bits: Vec<u64>,
    /// Per byte-pair bucket, the globs whose key pair falls in it.
    buckets: Buckets,
}

/// The byte-pair table. Most sets have at most 64 page globs: their table holds `u64`s, half
/// the memory to keep in cache and half the loads per byte of a path.
#[derive(Debug)]
enum Buckets {
    Narrow(Box<[u64; BUCKETS]>),
    Wide(Box<[Mask; BUCKETS]>),
}

/// The candidate globs of the bytes of a path, and the `pair_bit`s of its byte pairs.
fn scan<M>(table: &[M; BUCKETS], bytes: &[u8]) -> (M, u64)
where
    M: Copy + Default + std::ops::BitOrAssign,
{
    let mut candidates = M::default();
    let mut bits = 0;
    for pair in bytes.windows(2) {
        if let [a, b] = *pair {
            let at = bucket(a, b);
            candidates |= table[at];
            bits |= pair_bit(at);
        }
    }
    (candidates, bits)
}

/// One of 64 bits for a byte pair, from its bucket: a path's pairs set a few of them.
fn pair_bit(bucket: usize) -> u64 {
    1 << (bucket % 64)
}

/// The bucket of a byte pair: a multiplicative hash, so nearby pairs spread out.
fn bucket(a: u8, b: u8) -> usize {
    let pair = (u32::from(a) << 8) | u32::from(b);
    // The top 10 bits of a 32-bit product: always below BUCKETS.
    (pair.wrapping_mul(0x9E37_79B1) >> 22) as usize
}

/// The buckets of every byte pair inside the glob's literal pieces, in text order.
fn pair_buckets(glob: &Glob) -> impl Iterator<Item = usize> + '_ {
    glob.as_str()
        .split('*')
        .flat_map(|piece| piece.as_bytes().windows(2).map(|w| bucket(w[0], w[1])))
}

impl GlobIndex {
    /// Keys each glob on the byte pair of its text that the fewest other globs share (the
    /// latest such pair on a tie: the ends of literals, such as numbers, tell pages apart
    /// best), so that a path wakes few globs that cannot match it.
    pub fn new(globs: Vec<Glob>) -> Option<GlobIndex> {
        if globs.is_empty() || globs.len() > MAX_INDEXED {
            return None;
        }
        let mut sharing = [0u32; BUCKETS];
        for glob in &globs {
            let mut mine: Vec<usize> = pair_buckets(glob).collect();
            mine.sort_unstable();
            mine.dedup();
            for b in mine {
                sharing[b] += 1;
            }
        }
        let mut always = 0;
        let mut buckets: Box<[Mask; BUCKETS]> = Box::new([0; BUCKETS]);
        for (id, glob) in globs.iter().enumerate() {
            let bit: Mask = 1 << id;
            // The least shared pair; a later one replaces an earlier one as good.
            let key = pair_buckets(glob).fold(None, |best: Option<(u32, usize)>, b| match best {
                Some((n, _)) if n < sharing[b] => best,
                _ => Some((sharing[b], b)),
            });
            match key {
                Some((_, b)) => buckets[b] |= bit,
                None => always |= bit,
            }
        }
        let pair_bits = globs
            .iter()
            .map(|glob| pair_buckets(glob).fold(0, |bits, b| bits | pair_bit(b)))
            .collect();
        let buckets = if globs.len() <= u64::BITS as usize {
            // Every bit is below 64: the narrowing loses nothing.
            Buckets::Narrow(Box::new(buckets.map(|m| m as u64)))
        } else {
            Buckets::Wide(buckets)
        };
        Some(GlobIndex {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            globs,
            always,
            pair_bits,
            buckets,
        })
    }

    pub fn len(&self) -> usize {
        self.globs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.globs.is_empty()
    }

    /// The globs `path` matches.
    pub fn mask(&self, path: &str) -> Mask {
        let (candidates, bits) = self.candidates(path.as_bytes());
        self.confirm(path, candidates, bits)
    }

    /// Tells this index from every other one built by the process: caches of its masks
    /// (`path_masks`) belong to one index.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The globs keyed on a byte pair of `bytes`, plus those tried against every path; and
    /// the path's pair bits.
    fn candidates(&self, bytes: &[u8]) -> (Mask, u64) {
        let (found, bits) = match &self.buckets {
            Buckets::Narrow(table) => {
                let (m, bits) = scan(table, bytes);
                (Mask::from(m), bits)
            }
            Buckets::Wide(table) => scan(table, bytes),
        };
        (found | self.always, bits)
    }

    /// Which of the candidate globs really match `path`, whose pairs set `bits`.
    fn confirm(&self, path: &str, mut candidates: Mask, bits: u64) -> Mask {
        let mut found = 0;
        while candidates != 0 {
            let id = candidates.trailing_zeros() as usize;
            let bit: Mask = 1 << id;
            candidates &= !bit;
            let possible = self
                .pair_bits
                .get(id)
                .is_some_and(|&need| need & !bits == 0);
            if possible && self.globs.get(id).is_some_and(|g| g.matches(path)) {
                found |= bit;
            }
        }
        found
    }
}

#[cfg(test)]
mod tests;
