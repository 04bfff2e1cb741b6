//! The glob index against matching each glob one by one, and the plan of a rule set's globs.

use super::*;
use crate::glob::url_path;

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
    }
}

#[test]
fn a_path_has_every_pair_bit_of_the_globs_it_matches() {
    let texts = [
        "*/faq*",
        "/demo/*pricing*",
        "*/product-12*",
        "*.html",
        "/a*a",
        "*/デモ*",
    ];
    let index = GlobIndex::new(globs(&texts)).expect("few globs");
    let paths = [
        "/demo/faq.html",
        "/demo/en/pricing.html",
        "/demo/product-12.html",
    ];
    for path in paths.into_iter().chain(["/", "/aa", "/a", "/デモ/faq"]) {
        let (_, bits) = index.candidates(path.as_bytes());
        for (id, glob) in index.globs.iter().enumerate() {
            let need = index.pair_bits.get(id).copied().unwrap_or_default();
            if glob.matches(path) {
                assert_eq!(need & !bits, 0, "{glob} matches {path}");
            }
        }
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
            assert_eq!(index.mask(url_path(&url)), expected, "{count} globs: {url}");
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
