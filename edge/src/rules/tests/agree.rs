//! Decisions match page globs through the rule set's glob index; explain matches each glob
//! against each page view. Over randomised rule sets and visitors (fixed seeds, so a failure
//! replays), both must reach the same verdict for every condition of every rule, and explain
//! must report the decision that was taken.

use super::super::condition::Condition;
use super::super::decide::Outcome;
use super::super::facts::{Facts, PageMatching};
use super::super::pages::MAX_INDEXED;
use super::*;

/// A small deterministic generator (SplitMix64): no test depends on outside randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const GLOBS: &[&str] = &[
    "*/faq*",
    "/faq*",
    "*/pricing*",
    "/demo/*pricing*",
    "*.html",
    "*",
    "**",
    "/",
    "/demo/",
    "*/product-1*",
    "*/product-12*",
    "/p*",
    "*a*b*",
    "/demo/en/*",
    "*/contact",
    "*q*",
    "/a*a",
];

const URLS: &[&str] = &[
    "https://a.jp/",
    "https://a.jp",
    "https://a.jp/faq",
    "https://a.jp/demo/faq.html?x=1",
    "https://a.jp/demo/pricing.html#top",
    "https://a.jp/demo/en/pricing.html",
    "https://a.jp/demo/product-1.html",
    "https://a.jp/demo/product-12.html?utm_source=mail",
    "https://a.jp/pab",
    "https://a.jp/aa",
    "https://a.jp?next=/faq",
    "https://a.jp/demo/contact",
    "https://a.jp/demo/",
    "https://a.jp/デモ/faq",
];

const WINDOWS: &[&str] = &["", "1h", "1d", "7d", "30d"];

fn within(rng: &mut Rng) -> String {
    match rng.pick(WINDOWS) {
        "" => String::new(),
        w => format!(", within = \"{w}\""),
    }
}

fn condition(rng: &mut Rng, depth: usize) -> String {
    let kinds = if depth > 1 { 7 } else { 10 };
    match rng.below(kinds) {
        0 => format!("{{ anonymous = {} }}", rng.below(4) > 0),
        1 => format!(
            "{{ visits = {{ at_least = {}{} }} }}",
            1 + rng.below(3),
            within(rng)
        ),
        2 | 3 => format!(
            "{{ pages = {{ glob = \"{}\", at_least = {}{} }} }}",
            rng.pick(GLOBS),
            rng.below(4),
            within(rng)
        ),
        4 => {
            let kind = ["pages_all", "pages_any", "pages_none"][rng.below(3)];
            let globs: Vec<String> = (0..1 + rng.below(3))
                .map(|_| format!("\"{}\"", rng.pick(GLOBS)))
                .collect();
            format!(
                "{{ {kind} = {{ globs = [{}]{} }} }}",
                globs.join(", "),
                within(rng)
            )
        }
        5 => format!("{{ page = \"{}\" }}", rng.pick(GLOBS)),
        6 => "{ time_on_site = { at_least = \"2m\" } }".into(),
        7 => format!("{{ not = {} }}", condition(rng, depth + 1)),
        _ => {
            let name = if rng.below(2) == 0 { "all" } else { "any" };
            let inner: Vec<String> = (0..1 + rng.below(3))
                .map(|_| condition(rng, depth + 1))
                .collect();
            format!("{{ {name} = [{}] }}", inner.join(", "))
        }
    }
}

fn random_rules(rng: &mut Rng) -> String {
    let mut text = String::from("[popups]\nmax_per_day = 3\n");
    for i in 0..1 + rng.below(12) {
        let when: Vec<String> = (0..rng.below(4)).map(|_| condition(rng, 0)).collect();
        let caps = if rng.below(2) == 0 {
            "caps = { once_per = \"1h\" }\n"
        } else {
            ""
        };
        text.push_str(&format!(
            "[[rules]]\nid = \"r{i}\"\ntemplate = \"brochure\"\npriority = {}\nholdout = {}\nwhen = [{}]\n{caps}",
            rng.below(4),
            if rng.below(3) == 0 { "0.3" } else { "0" },
            when.join(", ")
        ));
    }
    text
}

/// Checks one page view of `w`: every condition through both ways of matching, and explain
/// against decide.
fn check(w: &World, url: &str, context: &str) {
    let events = [page(url, None)];
    let request = DecideRequest {
        site: "demo",
        visitor: w.visitor.id,
        incoming: w.incoming(&events, url),
        lang: Lang::Ja,
        preview: None,
    };
    let set = &w.set;
    let indexed = Facts::gather(
        Some(&w.visitor),
        &request.incoming,
        &set.pages,
        PageMatching::Indexed,
    );
    let scanned = Facts::gather(
        Some(&w.visitor),
        &request.incoming,
        &set.pages,
        PageMatching::Scan,
    );
    for rule in &set.rules {
        for c in &rule.when {
            assert_eq!(
                format!("{:?}", c.explain(&indexed)),
                format!("{:?}", c.explain(&scanned)),
                "{context}: rule {} at {url}",
                rule.id
            );
        }
        assert_eq!(
            rule.conditions_hold(&indexed),
            rule.conditions_hold(&scanned),
            "{context}: rule {} at {url}",
            rule.id
        );
        // Visit counts are memoised per window: each must be what counting afresh gives.
        for c in &rule.when {
            if let Condition::Visits {
                within_ms, slot, ..
            } = c
            {
                assert_eq!(
                    indexed.visits_in(*slot, *within_ms),
                    scanned.visits_within(*within_ms),
                    "{context}: rule {} at {url}",
                    rule.id
                );
            }
        }
    }
    // Decisions ask the sieve: it must stand exactly the rules whose own lists hold.
    let standing: Vec<usize> = set.sieve.eligible("demo", &indexed).collect();
    let holding: Vec<usize> = (0..set.rules.len())
        .filter(|&i| set.rules[i].enabled && set.rules[i].conditions_hold(&scanned))
        .collect();
    assert_eq!(standing, holding, "{context}: sieve at {url}");
    let decision = set.decide(Some(&w.visitor), &request);
    let explained = set.explain(Some(&w.visitor), &request);
    assert_eq!(explained.decision, decision.outcome.as_str(), "{context}");
    let winner = explained
        .rules
        .iter()
        .find(|r| r.outcome == "shown" || r.outcome.starts_with("holdout:"));
    let decided = decision.popup.as_ref().map(|p| p.rule.as_str());
    match decision.outcome {
        Outcome::Shown => assert_eq!(winner.map(|r| r.rule.as_str()), decided, "{context}"),
        Outcome::Holdout => assert!(winner.is_some(), "{context}"),
        _ => assert!(winner.is_none(), "{context}"),
    }
}

#[test]
fn decisions_and_explain_agree_on_random_rules_and_visitors() {
    let mut rng = Rng(0x6d69_6b6f_6d69);
    for round in 0..150 {
        let rules = random_rules(&mut rng);
        let set = rule_set(&rules);
        let mut id = [3u8; 16];
        id[..8].copy_from_slice(&rng.next().to_le_bytes());
        let mut w = World::with_id(set, VisitorId(id));
        for step in 0..rng.below(25) {
            let url = rng.pick(URLS);
            check(&w, url, &format!("round {round} step {step}\n{rules}"));
            w.view(url);
            let pause = [MIN, 20 * MIN, HOUR, DAY, 5 * DAY, 20 * DAY][rng.below(6)];
            w.pass(pause);
        }
    }
}

/// One rule per product page glob, each wanting that product seen twice.
fn many_globs(count: usize) -> Arc<RuleSet> {
    let mut text = String::from("[popups]\nmax_per_day = 3\n");
    for i in 0..count {
        text.push_str(&format!(
            "[[rules]]\nid = \"p{i}\"\ntemplate = \"brochure\"\npriority = {}\n\
             when = [{{ pages = {{ glob = \"*/product-{i}.html\", at_least = 2 }} }}]\n",
            count - i
        ));
    }
    rule_set(&text)
}

#[test]
fn sets_with_more_globs_than_mask_bits_take_the_general_path() {
    for count in [MAX_INDEXED, MAX_INDEXED + 1] {
        let set = many_globs(count);
        assert_eq!(
            set.pages.index.as_ref().map(|i| i.len()),
            (count <= MAX_INDEXED).then_some(count)
        );
        // The last glob is the highest bit of a full mask, or past it.
        let last = count - 1;
        let url = format!("https://a.jp/demo/product-{last}.html");
        let mut w = World::new(set);
        check(&w, &url, &format!("{count} globs"));
        assert!(w.view(&url).popup.is_none(), "seen once");
        w.pass(DAY);
        check(&w, &url, &format!("{count} globs"));
        let d = w.view(&url);
        let expected = format!("p{last}");
        assert_eq!(World::shown(&d), Some(expected.as_str()), "{count} globs");
    }
}
