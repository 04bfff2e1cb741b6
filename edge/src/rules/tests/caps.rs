//! Frequency caps, back-off and the site-wide caps, each a script of page views, answers and
//! passing time over one visitor.

use super::*;

#[derive(Clone, Copy, Debug)]
enum Step {
    Wait(i64),
    /// A page view that must get this rule's popup.
    Shows(&'static str),
    /// A page view that must get none.
    Nothing,
    Dismiss(&'static str),
    Submit(&'static str),
    /// A page view arriving together with a dismissal of this rule.
    ViewDismissing(&'static str),
}
use Step::*;

fn run(name: &str, rules: &str, steps: &[Step]) {
    let mut w = World::new(rule_set(rules));
    for (i, step) in steps.iter().enumerate() {
        let url = "https://a.jp/demo/index.html";
        match *step {
            Wait(ms) => {
                w.pass(ms);
            }
            Shows(rule) => {
                let d = w.view(url);
                assert_eq!(World::shown(&d), Some(rule), "{name}: step {i} {step:?}");
            }
            Nothing => {
                let d = w.view(url);
                assert_eq!(World::shown(&d), None, "{name}: step {i} {step:?}");
            }
            Dismiss(rule) => w.answer(rule, PopupAction::Dismissed),
            Submit(rule) => w.answer(rule, PopupAction::Submitted),
            ViewDismissing(rule) => {
                let dismissal = TimedEvent {
                    client_ts: None,
                    event: Event::Popup {
                        rule: rule.into(),
                        variant: "default".into(),
                        action: PopupAction::Dismissed,
                        url: None,
                    },
                };
                let d = w.view_with(url, None, vec![dismissal]);
                assert_eq!(World::shown(&d), None, "{name}: step {i} {step:?}");
            }
        }
    }
}

fn one_rule(caps: &str) -> String {
    format!(
        "[popups]\nmax_per_day = 16\n[[rules]]\nid = \"r\"\ntemplate = \"brochure\"\ncaps = {caps}\n"
    )
}

#[test]
fn caps_and_back_off() {
    let cases: Vec<(&str, String, Vec<Step>)> = vec![
        (
            "once per day",
            one_rule("{ once_per = \"1d\" }"),
            vec![Shows("r"), Wait(HOUR), Nothing, Wait(23 * HOUR - 1), Nothing, Wait(1), Shows("r")],
        ),
        (
            "back-off grows after each dismissal, then stops",
            one_rule("{ once_per = \"1h\", backoff = [\"1d\", \"3d\", \"9d\"], max_dismissals = 3 }"),
            vec![
                Shows("r"), Dismiss("r"),
                Wait(2 * HOUR), Nothing, Wait(DAY), Shows("r"), Dismiss("r"),
                Wait(DAY), Nothing, Wait(2 * DAY), Shows("r"), Dismiss("r"),
                Wait(30 * DAY), Nothing, Wait(300 * DAY), Nothing,
            ],
        ),
        (
            "the last back-off step repeats",
            one_rule("{ once_per = \"1h\", backoff = [\"2d\"], max_dismissals = 0 }"),
            vec![
                Shows("r"), Dismiss("r"), Wait(DAY), Nothing, Wait(DAY), Shows("r"),
                Dismiss("r"), Wait(DAY), Nothing, Wait(DAY), Shows("r"),
            ],
        ),
        (
            "never again after a submit",
            one_rule("{ once_per = \"1h\" }"),
            vec![Shows("r"), Submit("r"), Wait(HOUR), Nothing, Wait(365 * DAY), Nothing],
        ),
        (
            "ignored popups count as dismissed",
            one_rule("{ once_per = \"1h\", ignored_after = 2, backoff = [\"1d\"], max_dismissals = 2 }"),
            vec![
                Shows("r"), Wait(HOUR), Shows("r"),
                Wait(HOUR), Nothing, Wait(DAY), Shows("r"), Wait(HOUR), Shows("r"),
                // Four unanswered showings: two implied dismissals, the maximum.
                Wait(30 * DAY), Nothing,
            ],
        ),
        (
            "a dismissal only answers a popup that was shown",
            one_rule("{ once_per = \"1h\", backoff = [\"1d\", \"5d\"] }"),
            vec![Dismiss("r"), Shows("r"), Dismiss("r"), Dismiss("r"), Wait(DAY), Shows("r")],
        ),
        (
            "an answer arriving with the page view is honoured at once",
            one_rule("{ once_per = \"1m\", backoff = [\"1d\"] }"),
            vec![Shows("r"), Wait(2 * MIN), ViewDismissing("r"), Wait(2 * MIN), Nothing],
        ),
        (
            "site-wide: at most one popup a day over all rules",
            "[popups]\nmax_per_day = 1\n\
             [[rules]]\nid = \"a\"\ntemplate = \"brochure\"\npriority = 2\ncaps = { once_per = \"30d\" }\n\
             [[rules]]\nid = \"b\"\ntemplate = \"brochure\"\npriority = 1\n"
                .to_string(),
            vec![Shows("a"), Wait(HOUR), Nothing, Wait(DAY), Shows("b")],
        ),
        (
            "site-wide: no popup in the first seconds of a visit",
            "[popups]\nmin_visit_age = \"30s\"\n[[rules]]\nid = \"r\"\ntemplate = \"brochure\"\n".to_string(),
            vec![Nothing, Wait(20_000), Nothing, Wait(10_000), Shows("r"), Wait(HOUR), Wait(DAY), Nothing],
        ),
    ];
    for (name, rules, steps) in cases {
        run(name, &rules, &steps);
    }
}
