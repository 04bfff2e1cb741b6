//! Choosing among rules: priority and ties, experiments and the holdout, previews, language,
//! the demo rules end to end, results and explain.

use super::super::assign::bucket;
use super::super::decide::Outcome;
use super::super::ledger::PopupHistory;
use super::super::page_lang;
use super::super::stats::{Tally, report};
use super::super::template::Lang;
use super::*;

const DEMO_RULES: &str = include_str!("../../../../demo/mikomi.toml");

/// The demo file's popup sections, under a test site.
fn demo_rules() -> Arc<RuleSet> {
    let at = DEMO_RULES
        .find("[popups]")
        .expect("the demo configures popups");
    rule_set(&DEMO_RULES[at..])
}

/// A visitor id whose bucket for `rule` is below (`true`) or above `share`.
fn visitor_in(rule: &str, share: f64, below: bool) -> VisitorId {
    (0u32..)
        .map(|i| {
            let mut id = [9u8; 16];
            id[..4].copy_from_slice(&i.to_le_bytes());
            VisitorId(id)
        })
        .find(|id| (bucket(id, rule) < share) == below)
        .unwrap_or_else(|| unreachable!())
}

#[test]
fn the_highest_priority_wins_and_ties_go_by_id() {
    let cases: &[(&str, &str)] = &[
        (
            "[[rules]]\nid = \"low\"\ntemplate = \"brochure\"\npriority = 1\n[[rules]]\nid = \"high\"\ntemplate = \"brochure\"\npriority = 5\n",
            "high",
        ),
        (
            "[[rules]]\nid = \"zeta\"\ntemplate = \"brochure\"\n[[rules]]\nid = \"alpha\"\ntemplate = \"brochure\"\n",
            "alpha",
        ),
        (
            "[[rules]]\nid = \"off\"\ntemplate = \"brochure\"\npriority = 9\nenabled = false\n[[rules]]\nid = \"on\"\ntemplate = \"brochure\"\n",
            "on",
        ),
        (
            "[[rules]]\nid = \"pricing\"\ntemplate = \"brochure\"\npriority = 9\nwhen = [{ page = \"/pricing\" }]\n[[rules]]\nid = \"any\"\ntemplate = \"brochure\"\n",
            "any",
        ),
    ];
    for (rules, winner) in cases {
        let mut w = World::new(rule_set(rules));
        let d = w.view("https://a.jp/");
        assert_eq!(World::shown(&d), Some(*winner), "{rules}");
        assert_eq!(d.outcome, Outcome::Shown);
        assert_eq!(
            d.record,
            Some(Event::PopupDecision {
                rule: winner.to_string(),
                variant: Some("default".into())
            })
        );
    }
}

#[test]
fn the_demo_rules_offer_the_brochure_on_the_third_visit_and_the_seminar_after_faq_and_pricing() {
    let set = demo_rules();
    let id = visitor_in("brochure-repeat", 0.1, false);
    let mut w = World::with_id(Arc::clone(&set), id);
    assert!(w.view("https://a.jp/demo/").popup.is_none(), "first visit");
    w.pass(DAY);
    assert!(
        w.view("https://a.jp/demo/product.html").popup.is_none(),
        "second visit"
    );
    w.pass(2 * DAY);
    let third = w.view("https://a.jp/demo/index.html");
    let popup = third.popup.expect("third visit within 7 days");
    assert_eq!(popup.rule, "brochure-repeat");
    assert_eq!(popup.template, "brochure");
    let names: Vec<&str> = popup.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["company", "name", "email", "phone"]);

    // FAQ and pricing twice each: the seminar, in English on an /en/ page.
    let mut w = World::with_id(set, id);
    w.lang = Lang::En;
    for url in [
        "/demo/en/faq.html",
        "/demo/en/pricing.html",
        "/demo/en/faq.html",
    ] {
        assert!(
            w.view(&format!("https://a.jp{url}")).popup.is_none(),
            "{url}"
        );
    }
    let d = w.view("https://a.jp/demo/en/pricing.html");
    let popup = d.popup.expect("seminar");
    assert_eq!(
        (popup.rule.as_str(), popup.template.as_str()),
        ("seminar-faq-pricing", "seminar")
    );
    assert_eq!(popup.title, "Seminar registration");
    assert!(
        popup.body.starts_with("Finding prospects"),
        "{}",
        popup.body
    );
}

#[test]
fn holdout_visitors_see_nothing_but_are_counted_once() {
    let set = rule_set(
        "[[rules]]\nid = \"r\"\ntemplate = \"brochure\"\nholdout = 0.5\ncaps = { once_per = \"1m\" }\n",
    );
    let mut w = World::with_id(set, visitor_in("r", 0.5, true));
    let first = w.view("https://a.jp/");
    assert_eq!(
        (first.outcome, first.popup.is_none()),
        (Outcome::Holdout, true)
    );
    assert_eq!(
        first.record,
        Some(Event::PopupDecision {
            rule: "r".into(),
            variant: None
        })
    );
    for _ in 0..3 {
        w.pass(DAY);
        let later = w.view("https://a.jp/");
        assert_eq!(
            (later.outcome, later.record),
            (Outcome::Holdout, None),
            "recorded once"
        );
    }
    w.convert();
    let tally = Tally::default();
    tally.replace(&"demo".into(), None, w.visitor.popups.as_deref());
    let stats = report(&["r"], &tally.totals(None));
    let holdout = &stats[0].arms[0];
    assert_eq!(holdout.arm, "holdout");
    assert_eq!(
        (
            holdout.counts.eligible,
            holdout.counts.shown,
            holdout.counts.converted
        ),
        (1, 0, 1)
    );
}

#[test]
fn variants_are_sticky_and_follow_their_weights() {
    let rules = "[[rules]]\nid = \"r\"\ntemplate = \"brochure\"\n\
                 [[rules.variants]]\nid = \"a\"\nweight = 3\n\
                 [[rules.variants]]\nid = \"b\"\nweight = 1\ntitle = { ja = \"B案\" }\n";
    let set = rule_set(rules);
    let mut a = 0;
    for i in 0..2000u32 {
        let mut id = [1u8; 16];
        id[..4].copy_from_slice(&i.to_le_bytes());
        let w = World::with_id(Arc::clone(&set), VisitorId(id));
        let events = [page("https://a.jp/", None)];
        let first = w
            .decide(&events, "https://a.jp/")
            .popup
            .expect("no caps yet");
        let again = w
            .decide(&events, "https://a.jp/")
            .popup
            .expect("no caps yet");
        assert_eq!(first.variant, again.variant, "sticky");
        if first.variant == "a" {
            a += 1;
        } else {
            assert_eq!(first.title, "B案");
        }
    }
    assert!((1400..1600).contains(&a), "{a} of 2000 in a weighted 3:1");
}

#[test]
fn a_preview_forces_the_popup_and_records_nothing() {
    let set = rule_set(
        "[[rules]]\nid = \"pricing\"\ntemplate = \"brochure\"\nwhen = [{ page = \"/pricing\" }]\n[[rules.variants]]\nid = \"a\"\n[[rules.variants]]\nid = \"b\"\n",
    );
    let mut w = World::new(set);
    w.preview = Some(PreviewGrant {
        site: "demo".into(),
        rule: "pricing".into(),
        variant: Some("b".into()),
        expires_ms: i64::MAX,
    });
    for _ in 0..3 {
        let d = w.view("https://a.jp/");
        assert_eq!(d.outcome, Outcome::Preview);
        assert_eq!(d.popup.map(|p| p.variant.clone()), Some("b".into()));
        assert_eq!(d.record, None);
    }
    assert_eq!(w.visitor.popups, None, "no caps, no results");
}

#[test]
fn the_page_language_picks_the_copy() {
    let cases: &[(Option<&str>, &str, Lang)] = &[
        (Some("en-US"), "https://a.jp/demo/faq.html", Lang::En),
        (Some("ja"), "https://a.jp/demo/en/faq.html", Lang::Ja),
        (None, "https://a.jp/demo/en/faq.html", Lang::En),
        (None, "https://a.jp/demo/faq.html", Lang::Ja),
        (Some("fr"), "https://a.jp/en/", Lang::En),
    ];
    for (declared, url, lang) in cases {
        assert_eq!(
            page_lang(*declared, url, Lang::Ja),
            *lang,
            "{declared:?} {url}"
        );
    }
    let set = rule_set("[[rules]]\nid = \"r\"\ntemplate = \"brochure\"\n");
    let mut w = World::new(set);
    w.lang = Lang::En;
    let popup = w.view("https://a.jp/").popup.expect("shown");
    assert_eq!(
        (popup.title.as_str(), popup.submit.as_str()),
        ("Request our brochure", "Send me the brochure")
    );
    assert_eq!(popup.fields[2].label, "Email");
}

#[test]
fn results_compare_variants_with_the_holdout() {
    let rule = "r";
    let mut histories = Vec::new();
    let mut add = |arm: Option<&str>, shown: u16, submitted: bool, converted: bool| {
        let mut h = PopupHistory::default();
        h.apply(
            0,
            &Event::PopupDecision {
                rule: rule.into(),
                variant: arm.map(str::to_string),
            },
        );
        for _ in 1..shown {
            h.apply(
                0,
                &Event::PopupDecision {
                    rule: rule.into(),
                    variant: arm.map(str::to_string),
                },
            );
        }
        if submitted {
            h.apply(
                0,
                &Event::Popup {
                    rule: rule.into(),
                    variant: "a".into(),
                    action: PopupAction::Submitted,
                    url: None,
                },
            );
        }
        if converted {
            h.apply(
                0,
                &Event::Conversion {
                    form: "f".into(),
                    url: "https://a.jp/".into(),
                    fields: Vec::new(),
                },
            );
        }
        histories.push(h);
    };
    for i in 0..10 {
        add(None, 0, false, i < 1); // holdout: 1 of 10 converts
        add(Some("a"), 2, i < 3, i < 3); // variant: 3 of 10
    }
    let tally = Tally::default();
    for history in &histories {
        tally.replace(&"demo".into(), None, Some(history));
    }
    let stats = report(&[rule], &tally.totals(None));
    let arms = &stats[0].arms;
    let a = arms.iter().find(|x| x.arm == "a").expect("variant a");
    assert_eq!(
        (
            a.counts.eligible,
            a.counts.shown,
            a.counts.submitted,
            a.counts.converted
        ),
        (10, 20, 3, 3)
    );
    assert!((a.conversion_rate - 0.3).abs() < 1e-9);
    assert!(
        (a.lift.expect("a holdout that converted") - 2.0).abs() < 1e-9,
        "0.3 / 0.1 - 1"
    );
    let [lo, hi] = a.conversion_ci95;
    assert!(lo < 0.3 && 0.3 < hi && lo > 0.0, "{lo} {hi}");
    // Replacing a visitor's contribution moves the totals exactly.
    let before = histories[19].clone(); // a variant visitor who did not submit
    let mut after = before.clone();
    after.apply(
        0,
        &Event::Popup {
            rule: rule.into(),
            variant: "a".into(),
            action: PopupAction::Dismissed,
            url: None,
        },
    );
    tally.replace(&"demo".into(), Some(&before), Some(&after));
    assert_eq!(
        tally.totals(None)[&(rule.to_string(), Some("a".to_string()))].dismissed,
        1
    );
    // Another site's visitors count for that site only, though the rule applies to both.
    tally.replace(&"other".into(), None, Some(&after));
    let demo = tally.totals(Some(&["demo".into()]));
    let other = tally.totals(Some(&["other".into()]));
    let both = tally.totals(None);
    let arm = (rule.to_string(), Some("a".to_string()));
    assert_eq!(demo[&arm].eligible, 10);
    assert_eq!(other[&arm].eligible, 1);
    assert_eq!(both[&arm].eligible, 11);
    assert!(
        !other.contains_key(&(rule.to_string(), None)),
        "no holdout there"
    );
}

#[test]
fn explain_names_the_failing_condition() {
    let set = demo_rules();
    let mut w = World::with_id(Arc::clone(&set), visitor_in("brochure-repeat", 0.1, false));
    w.view("https://a.jp/demo/");
    let events = [page("https://a.jp/demo/faq.html", None)];
    let request = DecideRequest {
        site: "demo",
        visitor: w.visitor.id,
        incoming: w.incoming(&events, "https://a.jp/demo/faq.html"),
        lang: Lang::Ja,
        preview: None,
    };
    let explained = set.explain(Some(&w.visitor), &request);
    assert_eq!(explained.decision, "none");
    let brochure = explained
        .rules
        .iter()
        .find(|r| r.rule == "brochure-repeat")
        .expect("listed");
    assert_eq!(brochure.outcome, "conditions failed");
    let held: Vec<(bool, &str)> = brochure
        .conditions
        .iter()
        .map(|c| (c.held, c.detail.as_str()))
        .collect();
    assert_eq!(held, [(true, "anonymous"), (false, "1 visits")]);
    assert!(brochure.line > 0);
}
