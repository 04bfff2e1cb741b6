//! Every condition and combinator against two visitors: a warm one (three visits this week,
//! FAQ and pricing read twice, from a mid-size manufacturer's network, via a mail campaign)
//! and a cold one (first page view, direct, on a home ISP).

use serde::Deserialize;

use super::super::condition::Condition;
use super::super::facts::{Facts, PageMatching};
use super::super::pages::{PageGlobs, PagePlan};
use super::*;
use crate::config::rules::ConditionConfig;

#[derive(Deserialize)]
struct One {
    c: ConditionConfig,
}

fn compile(text: &str, pages: &mut PageGlobs) -> Result<Condition, String> {
    let one: One = toml::from_str(&format!("c = {text}")).map_err(|e| e.to_string())?;
    Condition::compile(&one.c, pages)
}

/// (visitor, the current page view's events, the current URL, company).
fn warm() -> (World, Vec<TimedEvent>, &'static str) {
    let mut w = World::new(rule_set(""));
    w.company = Some(company(ipdb::NetworkKind::Business, 300));
    w.view("https://a.jp/demo/faq.html");
    w.pass(3 * DAY);
    w.view("https://a.jp/demo/faq.html");
    w.pass(MIN);
    w.view("https://a.jp/demo/pricing.html");
    w.pass(2 * DAY);
    w.view_with(
        "https://a.jp/demo/?utm_source=mail&utm_campaign=spring",
        Some("https://www.google.com/search?q=mikomi"),
        Vec::new(),
    );
    w.pass(3 * MIN);
    let url = "https://a.jp/demo/pricing.html";
    (w, vec![page(url, Some("https://a.jp/demo/"))], url)
}

fn cold() -> (World, Vec<TimedEvent>, &'static str) {
    let mut w = World::new(rule_set(""));
    w.company = Some(company(ipdb::NetworkKind::Isp, 0));
    let url = "https://a.jp/";
    (w, vec![page(url, None)], url)
}

/// Whether the condition holds, on both ways of matching pages and in explain, which must all
/// agree.
fn holds(world: &(World, Vec<TimedEvent>, &str), condition: &Condition, plan: &PagePlan) -> bool {
    let (w, events, url) = world;
    let incoming = w.incoming(events, url);
    let facts = Facts::gather(Some(&w.visitor), &incoming, plan, PageMatching::Scan);
    let held = condition.holds(&facts);
    assert_eq!(
        condition.explain(&facts).held,
        held,
        "explain and decide must agree"
    );
    let indexed = Facts::gather(Some(&w.visitor), &incoming, plan, PageMatching::Indexed);
    assert_eq!(condition.holds(&indexed), held, "the glob index must agree");
    held
}

#[test]
fn every_condition_and_combinator() {
    let cases: &[(&str, bool, bool)] = &[
        ("{ anonymous = true }", true, true),
        ("{ anonymous = false }", false, false),
        (
            "{ visits = { at_least = 3, within = \"7d\" } }",
            true,
            false,
        ),
        (
            "{ visits = { at_least = 3, within = \"3d\" } }",
            false,
            false,
        ),
        ("{ visits = { at_most = 1 } }", false, true),
        ("{ visits = { at_least = 1, at_most = 3 } }", true, true),
        (
            "{ pages = { glob = \"*/faq*\", at_least = 2, within = \"30d\" } }",
            true,
            false,
        ),
        (
            "{ pages = { glob = \"*/faq*\", at_least = 2, within = \"3d\" } }",
            false,
            false,
        ),
        (
            "{ pages = { glob = \"*/pricing*\", at_least = 2 } }",
            true,
            false,
        ),
        (
            "{ pages = { glob = \"*/pricing*\", at_most = 0 } }",
            false,
            true,
        ),
        (
            "{ pages_all = { globs = [\"*/faq*\", \"*/pricing*\"] } }",
            true,
            false,
        ),
        (
            "{ pages_all = { globs = [\"*/faq*\", \"*/contact*\"] } }",
            false,
            false,
        ),
        (
            "{ pages_any = { globs = [\"*/contact*\", \"*/faq*\"] } }",
            true,
            false,
        ),
        ("{ pages_none = { globs = [\"*/contact*\"] } }", true, true),
        (
            "{ pages_none = { globs = [\"*/faq*\"], within = \"30d\" } }",
            false,
            true,
        ),
        ("{ time_on_site = { at_least = \"1m\" } }", true, false),
        ("{ time_on_site = { at_most = \"1m\" } }", false, true),
        ("{ page = \"*/pricing*\" }", true, false),
        ("{ page = \"/\" }", false, true),
        ("{ referrer = \"https://www.google.*\" }", true, false),
        ("{ referrer = \"\" }", false, true),
        ("{ utm = { source = \"mail\" } }", true, false),
        (
            "{ utm = { source = \"mail\", campaign = \"spr*\" } }",
            true,
            false,
        ),
        (
            "{ utm = { source = \"mail\", campaign = \"autumn*\" } }",
            false,
            false,
        ),
        ("{ score = { at_least = 10 } }", false, false),
        ("{ stage = [\"mql\"] }", false, false),
        ("{ company_known = true }", true, false),
        ("{ company_known = false }", false, true),
        ("{ company_confident = true }", true, false),
        ("{ company_confident = false }", false, true),
        ("{ company_size = [\"mid\", \"enterprise\"] }", true, false),
        ("{ company_size = [\"small\"] }", false, false),
        ("{ industry = [\"manufacturing\"] }", true, false),
        ("{ industry = [\"finance\"] }", false, false),
        ("{ country = [\"jp\"] }", true, false),
        ("{ country = [\"US\"] }", false, false),
        ("{ network = [\"isp\", \"mobile\"] }", false, true),
        ("{ network = [\"business\"] }", true, false),
        (
            "{ all = [{ anonymous = true }, { page = \"*/pricing*\" }] }",
            true,
            false,
        ),
        (
            "{ all = [{ anonymous = true }, { page = \"/\" }] }",
            false,
            true,
        ),
        (
            "{ any = [{ page = \"*/pricing*\" }, { network = [\"isp\"] }] }",
            true,
            true,
        ),
        (
            "{ any = [{ page = \"/nope\" }, { company_known = false }] }",
            false,
            true,
        ),
        ("{ not = { page = \"*/pricing*\" } }", false, true),
        ("{ not = { not = { page = \"*/pricing*\" } } }", true, false),
    ];
    let warm = warm();
    let cold = cold();
    for (text, in_warm, in_cold) in cases {
        let mut pages = PageGlobs::default();
        let condition = compile(text, &mut pages).unwrap_or_else(|e| panic!("{text}: {e}"));
        let plan = pages.finish();
        assert_eq!(
            holds(&warm, &condition, &plan),
            *in_warm,
            "warm visitor: {text}"
        );
        assert_eq!(
            holds(&cold, &condition, &plan),
            *in_cold,
            "cold visitor: {text}"
        );
    }
}

#[test]
fn a_split_visitor_is_anonymous_again() {
    let (mut w, events, url) = cold();
    w.convert();
    // What a backend's split does to the visitor: its link to the person is undone.
    for link in &mut w.visitor.links {
        link.person = None;
    }
    let world = (w, events, url);
    let anonymous = compile("{ anonymous = true }", &mut PageGlobs::default()).expect("valid");
    assert!(holds(&world, &anonymous, &PagePlan::default()));
}

#[test]
fn identified_visitors_are_not_anonymous() {
    let (mut w, events, url) = cold();
    w.convert();
    let world = (w, events, url);
    let plan = PagePlan::default();
    let anonymous = compile("{ anonymous = true }", &mut PageGlobs::default()).expect("valid");
    assert!(!holds(&world, &anonymous, &plan));
    // An ISP visitor is never their carrier's employee, even when the data names the carrier.
    let named = compile("{ company_known = true }", &mut PageGlobs::default()).expect("valid");
    assert!(!holds(&world, &named, &plan));
}

/// A company named on weak evidence is known but not confident: rules that must name real
/// companies ask for `company_confident`.
#[test]
fn a_company_named_with_low_confidence_is_known_but_not_confident() {
    let (mut w, events, url) = warm();
    let mut weak = (*company(ipdb::NetworkKind::Business, 300)).clone();
    weak.network_kind_confidence = ipdb::Confidence::Low;
    w.company = Some(std::sync::Arc::new(weak));
    let world = (w, events, url);
    let plan = PagePlan::default();
    let known = compile("{ company_known = true }", &mut PageGlobs::default()).expect("valid");
    let confident =
        compile("{ company_confident = true }", &mut PageGlobs::default()).expect("valid");
    assert!(holds(&world, &known, &plan));
    assert!(!holds(&world, &confident, &plan));
}

#[test]
fn score_and_stage_hold_once_scoring_provides_them() {
    let (w, events, url) = warm();
    let incoming = w.incoming(&events, url);
    let plan = PagePlan::default();
    let mut facts = Facts::gather(Some(&w.visitor), &incoming, &plan, PageMatching::Indexed);
    facts.score = Some(42);
    facts.stage = Some("MQL");
    let cases: &[(&str, bool)] = &[
        ("{ score = { at_least = 40 } }", true),
        ("{ score = { at_least = 50 } }", false),
        ("{ score = { at_least = 0, at_most = 42 } }", true),
        ("{ stage = [\"mql\", \"sql\"] }", true),
        ("{ stage = [\"sql\"] }", false),
    ];
    for (text, expected) in cases {
        let condition = compile(text, &mut PageGlobs::default()).expect("valid");
        assert_eq!(condition.holds(&facts), *expected, "{text}");
    }
}

#[test]
fn malformed_conditions_say_why() {
    let cases: &[(&str, &str)] = &[
        ("{ visits = { within = \"7d\" } }", "at_least"),
        ("{ visits = { at_least = 5, at_most = 2 } }", "above"),
        ("{ pages = { glob = \"\", at_least = 1 } }", "empty"),
        ("{ pages_all = { globs = [] } }", "at least one glob"),
        ("{ all = [] }", "at least one"),
        ("{ utm = {} }", "at least one"),
        ("{ time_on_site = {} }", "at_least"),
        ("{ company_size = [\"huge\"] }", "unknown variant"),
        ("{ visited = 3 }", "unknown variant"),
    ];
    for (text, needle) in cases {
        let err = compile(text, &mut PageGlobs::default()).expect_err(text);
        assert!(err.contains(needle), "{text}: {err}");
    }
}

#[test]
fn utm_parameters_are_compiled_to_their_index_and_explained_by_name() {
    let text = "{ utm = { content = \"x*\", source = \"mail\", campaign = \"spr*\" } }";
    let condition = compile(text, &mut PageGlobs::default()).expect("valid");
    let Condition::Utm(globs) = &condition else {
        panic!("{condition:?}");
    };
    let indices: Vec<usize> = globs.iter().map(|(at, _)| *at).collect();
    assert_eq!(indices, vec![0, 2, 4], "source, campaign, content");
    let (w, events, url) = warm();
    let incoming = w.incoming(&events, url);
    let plan = PagePlan::default();
    let facts = Facts::gather(Some(&w.visitor), &incoming, &plan, PageMatching::Scan);
    assert_eq!((facts.utm(0), facts.utm(2)), (Some("mail"), Some("spring")));
    assert_eq!((facts.utm(1), facts.utm(5)), (None, None));
    let report = condition.explain(&facts);
    assert_eq!(
        report.condition,
        "utm utm_source=mail utm_campaign=spr* utm_content=x*"
    );
    assert!(!report.held, "the landing page has no utm_content");
}
