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

use hashbrown::HashTable;

use super::pages::{GlobIndex, Mask};
use crate::glob::url_path;

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
        seed: foldhash::fast::RandomState::default().hash_one(KEPT),
    });
}

/// One thread's remembered masks, for the index whose id is `index`. The keys sit back to back
/// in one string, so remembering a page allocates nothing of its own and starting over frees
/// nothing page by page.
pub struct PathMasks {
    index: u64,
    table: HashTable<Page>,
    keys: String,
    /// Random per thread: where a page's key lands in the table cannot be chosen from outside.
    seed: u64,
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
        // other parameters (campaigns, click ids) is the same entry. Finding that end and
        // hashing what comes before it is one pass over the bytes; reading the path out of
        // the URL is left to the first sight.
        let (end, hash) = key_hash(url.as_bytes(), cache.seed);
        let key = url.get(..end).unwrap_or(url);
        if let Some(mask) = cache.find(hash, key) {
            return mask;
        }
        let mask = self.index.mask(path_of(url, end));
        cache.remember(hash, key, mask);
        mask
    }
}

/// The eight bytes of `chunk` (from `chunks_exact(8)`) as a word.
fn word(chunk: &[u8]) -> u64 {
    chunk
        .try_into()
        .map_or(0, |bytes: [u8; 8]| u64::from_le_bytes(bytes))
}

/// The path of a page URL whose key ends at `end`, as `glob::path_before` reads it, with
/// plain loops: URLs are short, and each vectorised search costs a setup of its own. Every
/// page a thread meets for the first time passes here.
fn path_of(url: &str, end: usize) -> &str {
    let head = url.as_bytes().get(..end).unwrap_or_default();
    let after_scheme = match head.iter().position(|&b| b == b':') {
        Some(at) if head.get(at + 1..at + 3) == Some(b"//") => at + 3,
        _ => 0,
    };
    let start = head
        .get(after_scheme..)
        .and_then(|rest| rest.iter().position(|&b| b == b'/'))
        .map(|at| after_scheme + at);
    // Both ends sit on ASCII bytes: character boundaries.
    start.and_then(|start| url.get(start..end)).unwrap_or("/")
}

/// Multipliers of the key hash (from foldhash and the golden ratio): odd, with their bits
/// spread, so one product mixes every input bit into the high and low words.
const MIX: u64 = 0x243f_6a88_85a3_08d3;
const FINISH: u64 = 0x9e37_79b9_7f4a_7c15;
/// A byte of each value, in every byte of a word.
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;
const QUERY: u64 = ONES * b'?' as u64;
const FRAGMENT: u64 = ONES * b'#' as u64;

/// The length of a page URL's key (the URL up to its first `?` or `#`) and the key's hash, in
/// one pass over the URL, eight bytes at a time. Every page view of a decision's history
/// passes here, so finding the end and hashing the key are one loop rather than a search and
/// a general-purpose hash of its own; the hash is of the key's bytes alone, whatever follows.
fn key_hash(url: &[u8], seed: u64) -> (usize, u64) {
    let mut hash = seed;
    let mut chunks = url.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let word = word(chunk);
        let stops = stops(word);
        if stops != 0 {
            let kept = (stops.trailing_zeros() / 8) as usize;
            return finish(hash, word & low_bytes(kept), at + kept);
        }
        hash = fold(hash ^ word, MIX);
        at += 8;
    }
    let rest = chunks.remainder();
    // The rest, zero-padded: a zero byte is neither `?` nor `#`.
    let word = rest
        .iter()
        .rev()
        .fold(0u64, |word, &b| (word << 8) | u64::from(b));
    let stops = stops(word);
    let kept = if stops == 0 {
        rest.len()
    } else {
        (stops.trailing_zeros() / 8) as usize
    };
    finish(hash, word & low_bytes(kept), at + kept)
}

/// The high bit of every byte of `word` that is `?` or `#`, and maybe of bytes after the first
/// such (a borrow runs upwards): the lowest bit set is always the first one.
fn stops(word: u64) -> u64 {
    let query = word ^ QUERY;
    let fragment = word ^ FRAGMENT;
    ((query.wrapping_sub(ONES) & !query) | (fragment.wrapping_sub(ONES) & !fragment)) & HIGHS
}

/// A mask of the lowest `n` bytes of a word, `n` below 8.
fn low_bytes(n: usize) -> u64 {
    (1u64 << (n * 8)) - 1
}

fn finish(hash: u64, last: u64, len: usize) -> (usize, u64) {
    let hash = fold(hash ^ last, MIX);
    (len, fold(hash ^ len as u64, FINISH))
}

/// The two halves of a full product, folded: every bit of either input reaches every bit.
fn fold(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
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
    fn paths_of_first_seen_pages_read_as_the_general_ones() {
        let urls = [
            "",
            "/",
            "a",
            ":",
            "https:",
            "https:/",
            "https://",
            "https://a.jp",
            "https://a.jp/",
            "https://a.jp/demo/faq.html?x=1#top",
            "https://a.jp?x=/y",
            "http://a.jp:8080/料金/ご案内.html#a",
            "mailto:a@b.jp",
            "/relative/path?q",
            "//a.jp/x",
            "a:b//c/d",
        ];
        for url in urls {
            let end = url.find(['?', '#']).unwrap_or(url.len());
            assert_eq!(path_of(url, end), url_path(url), "{url}");
        }
    }

    #[test]
    fn the_key_ends_at_the_query_or_fragment_and_its_hash_is_of_the_key_alone() {
        let pages = [
            "",
            "?",
            "#",
            "/",
            "https://a.jp",
            "https://a.jp/",
            "https://a.jp/demo/",
            "https://a.jp/demo/faq.html",
            "https://a.jp/demo/product-12.html",
            "https://a.jp/料金/ご案内",
        ];
        let tails = ["", "?", "#", "?utm_source=mail", "#top?x", "?a=1#b", "?q=#"];
        for seed in [0, 1, 0x5eed] {
            for page in pages {
                // The key's hash, whatever follows it (the padding decides nothing).
                let (len, _) = key_hash(page.as_bytes(), seed);
                let expected = page.find(['?', '#']).unwrap_or(page.len());
                assert_eq!(len, expected, "{page}");
                for tail in tails {
                    let url = format!("{page}{tail}");
                    let (end, h) = key_hash(url.as_bytes(), seed);
                    assert_eq!(end, expected, "{url}");
                    assert_eq!(h, key_hash(&url.as_bytes()[..end], seed).1, "{url}");
                }
            }
            // Keys of every length up to three words, each a stop away from the end.
            let long = "https://a.jp/abcdefghijklmnop";
            let mut hashes = std::collections::HashSet::new();
            for n in 0..=long.len() {
                let key = &long[..n];
                let (len, hash) = key_hash(key.as_bytes(), seed);
                assert_eq!(len, n);
                for tail in ["?", "#x", "?".repeat(9).as_str()] {
                    let (end, h) = key_hash(format!("{key}{tail}").as_bytes(), seed);
                    assert_eq!((end, h), (n, hash), "{key}{tail}");
                }
                assert!(hashes.insert(hash), "{key}: the hash of a shorter key");
            }
        }
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
