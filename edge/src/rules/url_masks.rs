//! The masks of the URLs of one decision's history, remembered while it is counted. A visitor
//! comes back to the same pages (the home page, pricing, the FAQ): telling a URL seen before
//! from a new one is a hash of its last bytes and one comparison, a fraction of matching its
//! path against the rule set's globs again.

use super::pages::{GlobIndex, Mask};

/// Remembered URLs: a direct-mapped table, so a URL is looked for in one place only, and two
/// URLs sharing a place only cost the later one its matching.
const SLOTS: usize = 64;

pub struct UrlMasks<'i, 'u> {
    index: &'i GlobIndex,
    urls: [Option<&'u str>; SLOTS],
    masks: [Mask; SLOTS],
}

impl<'i, 'u> UrlMasks<'i, 'u> {
    pub fn new(index: &'i GlobIndex) -> Self {
        UrlMasks {
            index,
            urls: [None; SLOTS],
            masks: [0; SLOTS],
        }
    }

    /// `index.url_mask(url)`, matched once per distinct URL that keeps its slot.
    pub fn mask(&mut self, url: &'u str) -> Mask {
        let at = slot(url);
        if let (Some(Some(seen)), Some(&mask)) = (self.urls.get(at), self.masks.get(at))
            && *seen == url
        {
            return mask;
        }
        let mask = self.index.url_mask(url);
        if let (Some(seen), Some(cell)) = (self.urls.get_mut(at), self.masks.get_mut(at)) {
            *seen = Some(url);
            *cell = mask;
        }
        mask
    }
}

/// The slot of a URL, from its length and last eight bytes: a site's URLs share their start
/// (scheme, host, directories) and differ towards the end, in the page's name or its query.
fn slot(url: &str) -> usize {
    let bytes = url.as_bytes();
    let tail = bytes
        .get(bytes.len().saturating_sub(8)..)
        .unwrap_or_default();
    let last = match <[u8; 8]>::try_from(tail) {
        Ok(eight) => u64::from_le_bytes(eight),
        Err(_) => tail.iter().fold(0, |h, &b| (h << 8) | u64::from(b)),
    };
    let key = last ^ (bytes.len() as u64).rotate_left(56);
    // The top bits of a 64-bit product, as many as SLOTS needs: always below SLOTS.
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (u64::BITS - SLOTS.trailing_zeros())) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::glob::Glob;

    fn index() -> GlobIndex {
        let globs = ["*/faq*", "*/pricing*", "*/product-1*", "/", "*", "*?*"]
            .iter()
            .map(|t| Glob::new(t).expect("valid glob"))
            .collect();
        GlobIndex::new(globs).expect("few globs")
    }

    #[test]
    fn remembered_masks_are_the_index_masks() {
        let index = index();
        let mut masks = UrlMasks::new(&index);
        // Repeats, short URLs, an empty one, and more distinct URLs than slots, so that
        // some share a slot and replace each other.
        let mut urls: Vec<String> = ["", "/", "a", "https://a.jp", "https://a.jp/faq"]
            .iter()
            .map(|u| u.to_string())
            .collect();
        urls.extend((0..80).map(|i| format!("https://a.jp/demo/product-{i}.html?x={}", i % 7)));
        urls.extend(["https://a.jp/demo/pricing.html#top".to_string()]);
        for round in 0..3 {
            for url in &urls {
                // A fresh copy: equal text in another allocation, as stored page views are.
                let copy = url.clone();
                assert_eq!(
                    masks.mask(url),
                    index.url_mask(&copy),
                    "{url}, round {round}"
                );
            }
        }
    }

    #[test]
    fn slots_stay_in_range() {
        for url in ["", "a", "12345678", "123456789", "https://a.jp/ページ"] {
            assert!(slot(url) < SLOTS, "{url}");
        }
        assert_ne!(slot("https://a.jp/p-1.html"), slot("https://a.jp/p-2.html"));
    }
}
