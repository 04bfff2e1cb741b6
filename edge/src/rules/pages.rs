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

    /// What decisions need: the memo size, the index (unless there are too many globs) and
    /// how far back page views can matter.
    pub fn finish(self) -> PagePlan {
        PagePlan {
            slots: self.slots.len(),
            index: GlobIndex::new(self.globs),
            oldest_ms: self.longest.flatten(),
        }
    }
}

/// The page globs of one rule set as decisions use them.
#[derive(Debug, Default)]
pub struct PagePlan {
    /// Distinct (glob, window) pairs: the size of a decision's page-count memo.
    pub slots: usize,
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
    buckets: Box<[Mask; BUCKETS]>,
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
        let mut buckets = Box::new([0; BUCKETS]);
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
        let mut candidates = self.always;
        for pair in path.as_bytes().windows(2) {
            if let [a, b] = *pair {
                candidates |= self.buckets[bucket(a, b)];
            }
        }
        self.confirm(path, candidates)
    }

    /// The globs the path of page URL `url` matches: `mask(url_path(url))` in one pass over
    /// the path, since every page view of the history goes through here.
    pub fn url_mask(&self, url: &str) -> Mask {
        let Some(start) = path_start(url) else {
            return self.mask("/");
        };
        let bytes = url.as_bytes().get(start..).unwrap_or_default();
        let mut candidates = self.always;
        let mut end = bytes.len();
        for (i, pair) in bytes.windows(2).enumerate() {
            if let [a, b] = *pair {
                if b == b'?' || b == b'#' {
                    end = i + 1;
                    break;
                }
                candidates |= self.buckets[bucket(a, b)];
            }
        }
        // The path ends on an ASCII byte or at the end: a character boundary.
        let path = url.get(start..start + end).unwrap_or("/");
        self.confirm(path, candidates)
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
        assert_eq!((a.id, b.id, c.id, on_page), (0, 0, 0, 0));
        assert_eq!((a.slot, b.slot, c.slot), (0, 1, 0));
        let plan = pages.finish();
        assert_eq!((plan.slots, plan.oldest_ms), (2, Some(2000)));
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
    fn too_many_globs_are_not_indexed() {
        let many: Vec<Glob> = (0..=MAX_INDEXED)
            .map(|i| Glob::new(&format!("/p{i}")).expect("valid"))
            .collect();
        assert!(GlobIndex::new(many[..MAX_INDEXED].to_vec()).is_some());
        assert!(GlobIndex::new(many).is_none());
        assert!(GlobIndex::new(Vec::new()).is_none());
    }
}
