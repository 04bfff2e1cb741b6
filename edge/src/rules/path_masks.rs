//! The masks of page paths, remembered across decisions on each thread.
//!
//! A site has a bounded set of pages, and every visitor's history comes back to them: the
//! home page, pricing, the FAQ, a few products. Matching a path against the rule set's globs
//! once per thread and rule set, instead of once per page view of every decision, takes the
//! largest part out of a decision; what is left per page view is a hash of its path and one
//! comparison. Per thread, so decisions on different cores share no cache line and take no
//! lock. The cache belongs to one glob index at a time: a reload (a new index) starts it over.

use std::cell::RefCell;
use std::hash::BuildHasher;

use foldhash::fast::RandomState;
use hashbrown::HashTable;

use super::pages::{GlobIndex, Mask};
use crate::glob::{path_before, url_path};

/// Pages remembered per thread, and the bytes of their keys. A site's pages fit many times
/// over; URLs that never repeat (a path carrying a session token, say) fill it up, and it
/// starts over rather than grow: at most about half a megabyte per thread.
const KEPT: usize = 4096;
const KEPT_BYTES: usize = 256 * 1024;

thread_local! {
    static CACHE: RefCell<PathMasks> = RefCell::new(PathMasks {
        index: 0,
        table: HashTable::new(),
        keys: String::new(),
        hasher: RandomState::default(),
    });
}

/// One thread's remembered masks, for the index whose id is `index`. The keys sit back to back
/// in one string, so remembering a page allocates nothing of its own and starting over frees
/// nothing page by page.
pub struct PathMasks {
    index: u64,
    table: HashTable<Page>,
    keys: String,
    hasher: RandomState,
}

/// One remembered page: its key is `keys[start..start + len]` (within `KEPT_BYTES`, so
/// 32 bits each keep a page to 32 bytes).
struct Page {
    hash: u64,
    start: u32,
    len: u32,
    mask: Mask,
}

impl Page {
    fn key<'k>(&self, keys: &'k str) -> &'k [u8] {
        let start = self.start as usize;
        keys.as_bytes()
            .get(start..start + self.len as usize)
            .unwrap_or_default()
    }
}

impl PathMasks {
    /// Runs `f` with this thread's cache made ready for `index`.
    pub fn with<R>(index: &GlobIndex, f: impl FnOnce(&mut Remembered<'_>) -> R) -> R {
        CACHE.with(|cache| match cache.try_borrow_mut() {
            Ok(mut cache) => {
                if cache.index != index.id() {
                    cache.clear();
                    cache.index = index.id();
                }
                f(&mut Remembered {
                    index,
                    cache: Some(&mut cache),
                })
            }
            // Only a decision inside a decision could get here: it matches without the cache.
            Err(_) => f(&mut Remembered { index, cache: None }),
        })
    }

    /// Empties this thread's cache.
    pub fn forget() {
        CACHE.with(|cache| {
            if let Ok(mut cache) = cache.try_borrow_mut() {
                cache.clear();
            }
        });
    }

    fn clear(&mut self) {
        self.table.clear();
        self.keys.clear();
    }

    fn find(&self, hash: u64, key: &str) -> Option<Mask> {
        let keys = &self.keys;
        self.table
            .find(hash, |page| {
                page.hash == hash && page.key(keys) == key.as_bytes()
            })
            .map(|page| page.mask)
    }

    fn remember(&mut self, hash: u64, key: &str, mask: Mask) {
        if key.len() > KEPT_BYTES {
            return;
        }
        if self.table.len() >= KEPT || self.keys.len() + key.len() > KEPT_BYTES {
            self.clear();
        }
        // Both below KEPT_BYTES, which fits 32 bits.
        let page = Page {
            hash,
            start: self.keys.len() as u32,
            len: key.len() as u32,
            mask,
        };
        self.keys.push_str(key);
        self.table.insert_unique(hash, page, |page| page.hash);
    }
}

/// The cache as one decision uses it.
pub struct Remembered<'c> {
    index: &'c GlobIndex,
    cache: Option<&'c mut PathMasks>,
}

impl Remembered<'_> {
    /// The globs the path of page URL `url` matches.
    pub fn url_mask(&mut self, url: &str) -> Mask {
        let Some(cache) = self.cache.as_deref_mut() else {
            return self.index.mask(url_path(url));
        };
        // Remembered by the URL without its query and fragment: the same page reached with
        // other parameters (campaigns, click ids) is the same entry. Finding that end is one
        // vectorised search; reading the path out of the URL is left to the first sight.
        let end = memchr::memchr2(b'?', b'#', url.as_bytes()).unwrap_or(url.len());
        let key = url.get(..end).unwrap_or(url);
        let hash = cache.hasher.hash_one(key);
        if let Some(mask) = cache.find(hash, key) {
            return mask;
        }
        let mask = self.index.mask(path_before(url, end));
        cache.remember(hash, key, mask);
        mask
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::glob::Glob;

    fn index(texts: &[&str]) -> GlobIndex {
        let globs = texts
            .iter()
            .map(|t| Glob::new(t).expect("valid glob"))
            .collect();
        GlobIndex::new(globs).expect("few globs")
    }

    #[test]
    fn remembered_masks_are_the_index_masks_and_a_new_index_starts_over() {
        let first = index(&["*/faq*", "*/pricing*", "*/product-1*", "/", "*", "*?*"]);
        // The same globs in another order: every mask differs from the first index's.
        let second = index(&["*?*", "*", "/", "*/product-1*", "*/pricing*", "*/faq*"]);
        let mut urls: Vec<String> = ["", "/", "a", "https://a.jp", "https://a.jp/faq"]
            .iter()
            .map(|u| u.to_string())
            .collect();
        // More distinct paths than the cache keeps, so it starts over on the way.
        urls.extend((0..KEPT + 10).map(|i| format!("https://a.jp/demo/product-{i}.html?x={i}")));
        urls.push("https://a.jp/demo/pricing.html#top".into());
        for round in 0..2 {
            for index in [&first, &second] {
                PathMasks::with(index, |masks| {
                    for url in &urls {
                        assert_eq!(
                            masks.url_mask(url),
                            index.mask(url_path(url)),
                            "{url}, round {round}"
                        );
                    }
                });
            }
        }
    }

    #[test]
    fn long_pages_start_the_cache_over_before_it_holds_more_bytes_than_it_keeps() {
        let index = index(&["*/faq*", "*x*"]);
        let long = "x".repeat(2000);
        PathMasks::with(&index, |masks| {
            for i in 0..400 {
                let url = format!("https://a.jp/{i}/{long}?q=1");
                assert_eq!(masks.url_mask(&url), 0b10, "{i}");
                let cache = masks.cache.as_deref().expect("not nested");
                assert!(
                    cache.keys.len() <= KEPT_BYTES,
                    "{i}: {} bytes",
                    cache.keys.len()
                );
                assert!(cache.table.len() <= KEPT, "{i}");
                // Every remembered page's key is its URL up to the query.
                for page in &cache.table {
                    let key = String::from_utf8_lossy(page.key(&cache.keys));
                    assert!(key.ends_with(&long), "{i}: {key}");
                }
            }
        });
    }

    #[test]
    fn a_decision_inside_a_decision_matches_without_the_cache() {
        let outer = index(&["*/faq*"]);
        let inner = index(&["*/pricing*"]);
        PathMasks::with(&outer, |masks| {
            assert_eq!(masks.url_mask("https://a.jp/faq"), 1);
            PathMasks::with(&inner, |masks| {
                assert_eq!(masks.url_mask("https://a.jp/faq"), 0);
                assert_eq!(masks.url_mask("https://a.jp/pricing"), 1);
            });
            assert_eq!(masks.url_mask("https://a.jp/faq"), 1);
        });
    }
}
