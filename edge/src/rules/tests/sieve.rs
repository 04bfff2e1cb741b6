//! The sieve against the rules' own lists: sites and switches decide which rules it starts
//! from, conditions written by several rules are evaluated once, and sets of more rules than
//! one word of bits holds come out the same as rule by rule.

use std::path::Path;

use super::super::facts::{Facts, PageMatching};
use super::*;

fn two_sites(rules: &str) -> Arc<RuleSet> {
    let text = format!(
        "[[sites]]\nkey = \"demo\"\norigins = [\"http://a.jp\"]\n\
         [[sites]]\nkey = \"other\"\norigins = [\"http://b.jp\"]\n{rules}"
    );
    match crate::rules::parse(Path::new("edge.toml"), &text) {
        Ok((_, set)) => set,
        Err(e) => panic!("{e}\n{text}"),
    }
}

/// Runs `f` over the facts of a view of the demo home page by the visitor of `w`, now.
fn with_facts<R>(w: &World, matching: PageMatching, f: impl FnOnce(&Facts<'_>) -> R) -> R {
    let url = "https://a.jp/demo/";
    let events = [page(url, None)];
    let incoming = w.incoming(&events, url);
    f(&Facts::gather(
        Some(&w.visitor),
        &incoming,
        &w.set.pages,
        matching,
    ))
}

/// The ids of the rules the sieve leaves standing for `site`, for the visitor of `w` now.
fn standing(w: &World, site: &str) -> Vec<String> {
    with_facts(w, PageMatching::Indexed, |facts| {
        w.set
            .sieve
            .eligible(site, facts)
            .map(|i| w.set.rules[i].id.to_string())
            .collect()
    })
}

#[test]
fn each_site_starts_from_its_own_rules_and_disabled_ones_never_stand() {
    let set = two_sites(
        "[[rules]]\nid = \"everywhere\"\ntemplate = \"brochure\"\npriority = 1\n\
         [[rules]]\nid = \"demo-only\"\ntemplate = \"brochure\"\npriority = 2\nsites = [\"demo\"]\n\
         [[rules]]\nid = \"other-only\"\ntemplate = \"brochure\"\npriority = 3\nsites = [\"other\"]\n\
         [[rules]]\nid = \"off\"\ntemplate = \"brochure\"\npriority = 4\nenabled = false\n",
    );
    let w = World::new(Arc::clone(&set));
    assert_eq!(standing(&w, "demo"), ["demo-only", "everywhere"]);
    assert_eq!(standing(&w, "other"), ["other-only", "everywhere"]);
    // A site no rule names gets the rules for every site.
    assert_eq!(standing(&w, "third"), ["everywhere"]);
    assert!(set.has_rules_for("third"));

    let only_demo = two_sites(
        "[[rules]]\nid = \"demo-only\"\ntemplate = \"brochure\"\nsites = [\"demo\"]\n\
         [[rules]]\nid = \"off\"\ntemplate = \"brochure\"\nenabled = false\n",
    );
    assert!(only_demo.has_rules_for("demo"));
    assert!(!only_demo.has_rules_for("other"));
    assert!(!RuleSet::default().has_rules_for("demo"));
}

#[test]
fn a_condition_several_rules_write_is_kept_once() {
    let set = rule_set(
        "[[rules]]\nid = \"a\"\ntemplate = \"brochure\"\n\
         when = [{ anonymous = true }, { pages = { glob = \"*/faq*\", at_least = 2, within = \"30d\" } }]\n\
         [[rules]]\nid = \"b\"\ntemplate = \"brochure\"\n\
         when = [{ pages = { glob = \"*/faq*\", at_least = 2, within = \"30d\" } }, { anonymous = true }]\n\
         [[rules]]\nid = \"c\"\ntemplate = \"brochure\"\n\
         when = [{ anonymous = true }, { pages = { glob = \"*/faq*\", at_least = 2, within = \"7d\" } }]\n",
    );
    // `anonymous`, and the FAQ count over 30 days and over 7 days.
    assert_eq!(set.sieve.distinct(), 3);
}

#[test]
fn more_rules_than_a_word_of_bits_stand_as_rule_by_rule() {
    let mut text = String::new();
    for i in 0..150 {
        let anonymous = i % 2 == 0;
        let visits = 1 + i % 3;
        let faq = i % 5;
        text.push_str(&format!(
            "[[rules]]\nid = \"r{i:03}\"\ntemplate = \"brochure\"\npriority = {}\n\
             when = [{{ anonymous = {anonymous} }}, {{ visits = {{ at_least = {visits} }} }}, \
             {{ pages = {{ glob = \"*/faq*\", at_least = {faq} }} }}]\n",
            i % 7
        ));
    }
    let set = rule_set(&text);
    assert_eq!(set.sieve.distinct(), 2 + 3 + 5);
    let mut w = World::new(Arc::clone(&set));
    for step in 0..6 {
        let expected: Vec<String> = with_facts(&w, PageMatching::Scan, |facts| {
            set.rules
                .iter()
                .filter(|r| r.conditions_hold(facts))
                .map(|r| r.id.to_string())
                .collect()
        });
        assert!(!expected.is_empty() && expected.len() < 150, "step {step}");
        assert_eq!(standing(&w, "demo"), expected, "step {step}");
        w.view("https://a.jp/demo/faq.html");
        w.pass(DAY);
    }
}
