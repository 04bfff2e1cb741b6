//! Page globs compiled once per rule set, so that a decision matches each page view of the
//! visitor's history against every glob at once instead of re-matching globs rule by rule.
//!
//! Every distinct page glob of a rule set gets a small id (a bit of a `Mask`). Per decision,
//! each page view's path is turned into the mask of the globs it matches; page conditions then
//! count bits within their windows. A path is only matched against the globs whose key byte
//! pair occurs in it (a glob cannot match a path lacking any piece of its literal text), so
//! turning a path into a mask costs one pass over its bytes plus the globs it really matches.

use std::collections::HashMap;

use super::glob::{Glob, path_start};

/// Which of a rule set's page globs a path matches: bit `id` for glob `id`.
pub type Mask = u128;

/// More distinct page globs than a mask has bits: the rule set falls back to matching each
/// glob against the history (memoised per glob and window), as every set did before.
pub const MAX_INDEXED: usize = Mask::BITS as usize;

/// Buckets of the byte-pair table: enough that unrelated pairs rarely share one.
const BUCKETS: usize = 1024;

/// A page glob inside a condition: the glob itself (for explain and the general path), its id
/// (its mask bit) and its memo slot (one per distinct glob and window).
#[derive(Clone, Debug)]
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
    globs: Vec<Glob>,
    /// Globs with no literal piece of two bytes or more: tried against every path.
    always: Mask,
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

/// The candidate globs of the bytes of a path, and where the path ends: at the end of
/// `bytes`, or before the first `?` or `#` when `stop` (the bytes go on into a URL's query).
fn scan<M>(table: &[M; BUCKETS], bytes: &[u8], stop: bool) -> (M, usize)
where
    M: Copy + Default + std::ops::BitOrAssign,
{
    let mut candidates = M::default();
    for (i, pair) in bytes.windows(2).enumerate() {
        if let [a, b] = *pair {
            if stop && (b == b'?' || b == b'#') {
                return (candidates, i + 1);
            }
            candidates |= table[bucket(a, b)];
        }
    }
    (candidates, bytes.len())
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
        let buckets = if globs.len() <= u64::BITS as usize {
            // Every bit is below 64: the narrowing loses nothing.
            Buckets::Narrow(Box::new(buckets.map(|m| m as u64)))
        } else {
            Buckets::Wide(buckets)
        };
        Some(GlobIndex {
            globs,
            always,
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
        self.confirm(path, self.candidates(path.as_bytes(), false).0)
    }

    /// The globs the path of page URL `url` matches: `mask(url_path(url))` in one pass over
    /// the path, since every page view of the history goes through here.
    pub fn url_mask(&self, url: &str) -> Mask {
        let Some(start) = path_start(url) else {
            return self.mask("/");
        };
        let bytes = url.as_bytes().get(start..).unwrap_or_default();
        let (candidates, end) = self.candidates(bytes, true);
        // The path ends on an ASCII byte or at the end: a character boundary.
        let path = url.get(start..start + end).unwrap_or("/");
        self.confirm(path, candidates)
    }

    /// The globs keyed on a byte pair of `bytes` (up to a `?` or `#` when `stop`), plus those
    /// tried against every path; and where the path ends.
    fn candidates(&self, bytes: &[u8], stop: bool) -> (Mask, usize) {
        let (found, end) = match &self.buckets {
            Buckets::Narrow(table) => {
                let (m, end) = scan(table, bytes, stop);
                (Mask::from(m), end)
            }
            Buckets::Wide(table) => scan(table, bytes, stop),
        };
        (found | self.always, end)
    }

    /// Which of the candidate globs really match `path`.
    fn confirm(&self, path: &str, mut candidates: Mask) -> Mask {
        let mut found = 0;
        while candidates != 0 {
            let id = candidates.trailing_zeros() as usize;
            let bit: Mask = 1 << id;
            candidates &= !bit;
            if self.globs.get(id).is_some_and(|g| g.matches(path)) {
                found |= bit;
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::glob::url_path;

    fn globs(texts: &[&str]) -> Vec<Glob> {
        texts
            .iter()
            .map(|t| Glob::new(t).expect("valid glob"))
            .collect()
    }

    /// The mask as matching each glob one by one reads it.
    fn slow_mask(globs: &[Glob], path: &str) -> Mask {
        globs
            .iter()
            .enumerate()
            .filter(|(_, g)| g.matches(path))
            .fold(0, |m, (id, _)| m | 1 << id)
    }

    #[test]
    fn masks_match_every_glob_one_by_one() {
        let texts = [
            "*/faq*",
            "/faq*",
            "*/pricing*",
            "/demo/*pricing*",
            "*.html",
            "*",
            "/",
            "/demo/",
            "*/product-1*",
            "*/product-12*",
            "/p*",
            "*a*b*",
            "/a*a",
            "*q*",
            "/a",
            "*ß*",
            "*/デモ*",
        ];
        let index = GlobIndex::new(globs(&texts)).expect("few globs");
        let slow = globs(&texts);
        let urls = [
            "https://a.jp/",
            "https://a.jp",
            "https://a.jp?next=/faq",
            "https://a.jp#/faq",
            "/faq",
            "/demo/faq.html?x=1#top",
            "https://a.jp/demo/en/pricing.html",
            "https://a.jp/demo/product-12.html",
            "https://a.jp/demo/product-1?x",
            "https://a.jp/pab",
            "https://a.jp/aa",
            "https://a.jp/a",
            "https://a.jp/straße",
            "https://a.jp/デモ/faq",
            "a.jp/x?next=https://b.jp/q",
            "https://a.jp/q?",
        ];
        for url in urls {
            let path = url_path(url);
            let expected = slow_mask(&slow, path);
            assert_eq!(index.mask(path), expected, "{path}");
            assert_eq!(index.url_mask(url), expected, "{url}");
        }
    }

    #[test]
    fn shared_globs_get_one_id_and_windows_their_own_slots() {
        let mut pages = PageGlobs::default();
        let faq = Glob::new("*/faq*").expect("valid");
        let a = pages.history(faq.clone(), Some(1000));
        let b = pages.history(faq.clone(), Some(2000));
        let c = pages.history(faq.clone(), Some(1000));
        let on_page = pages.id(&faq);
        // Visit windows share the memo: one slot per window, after and apart from page slots.
        assert_eq!((pages.visits(Some(1000)), pages.visits(None)), (2, 3));
        assert_eq!(pages.visits(Some(1000)), 2);
        assert_eq!((a.id, b.id, c.id, on_page), (0, 0, 0, 0));
        assert_eq!((a.slot, b.slot, c.slot), (0, 1, 0));
        let plan = pages.finish();
        assert_eq!((plan.slots, plan.oldest_ms), (4, Some(2000)));
        assert!(plan.looks_back);
        // The one glob's page counts, by slot; visit slots belong to no glob.
        assert_eq!(plan.windows, vec![vec![(0, Some(1000)), (1, Some(2000))]]);
        assert_eq!(plan.index.map(|i| i.len()), Some(1));

        let mut ever = PageGlobs::default();
        ever.history(faq.clone(), Some(1000));
        ever.history(faq, None);
        assert_eq!(
            ever.finish().oldest_ms,
            None,
            "an unbounded window keeps all"
        );
    }

    #[test]
    fn narrow_and_wide_tables_match_alike() {
        // 64 globs fit a narrow table; one more needs the wide one, its last bit above 63.
        for count in [64, 65, 100] {
            let texts: Vec<String> = (0..count).map(|i| format!("*/p-{i}.html")).collect();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let index = GlobIndex::new(globs(&refs)).expect("indexed");
            let slow = globs(&refs);
            for i in [0, 1, 63, 64, count - 1, count] {
                let url = format!("https://a.jp/demo/p-{i}.html?x=-{i}");
                let expected = slow_mask(&slow, url_path(&url));
                assert_eq!(index.url_mask(&url), expected, "{count} globs: {url}");
                assert_eq!(expected.count_ones(), u32::from(i < count), "{url}");
            }
        }
    }

    #[test]
    fn too_many_globs_are_not_indexed() {
        let many: Vec<Glob> = (0..=MAX_INDEXED)
            .map(|i| Glob::new(&format!("/p{i}")).expect("valid"))
            .collect();
        assert!(GlobIndex::new(many[..MAX_INDEXED].to_vec()).is_some());
        assert!(GlobIndex::new(many).is_none());
        assert!(GlobIndex::new(Vec::new()).is_none());
    }
}
