use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::config::{Config, ConfigError};

const BASE: &str = r#"
[[sites]]
key = "demo"
origins = ["http://127.0.0.1:8080"]
time_zone = "Asia/Tokyo"

[alerting]
console_url = "https://mikomi.example.co.jp/console"

[[alerting.channels]]
name = "sales-slack"
kind = "slack"
url = "https://hooks.slack.example/services/T/B/X"
"#;

fn parse(extra: &str) -> Result<Config, ConfigError> {
    Config::parse(Path::new("edge.toml"), &format!("{BASE}{extra}"))
}

/// The 1-based line of `needle` in the text `extra` makes.
fn line_of(extra: &str, needle: &str) -> usize {
    let text = format!("{BASE}{extra}");
    let at = text.find(needle).expect("needle in the text");
    text[..at].matches('\n').count() + 1
}

const HOT: &str = r#"
[[alerts]]
name = "hot"
site = "demo"
to = ["sales-slack"]
[alerts.account]
heat_at_least = 10
key_pages_at_least = 1
employee_band = ["large"]
"#;

#[test]
fn a_rule_compiles_with_its_defaults() {
    let config = parse(HOT).expect("valid");
    let rules = compile(&config);
    assert_eq!(rules.len(), 1);
    assert!(rules.has_rules_for("demo"));
    let rule = &config.alerts[0].get_ref();
    assert_eq!(rule.cooldown.0.as_secs(), 86_400, "once a day by default");
    assert_eq!(rule.lang.get_ref(), "ja");
}

#[test]
fn mistakes_are_refused_with_their_line() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "\n[[alerts]]\nname = \"a\"\nsite = \"demo\"\nto = [\"nowhere\"]\n[alerts.account]\nheat_at_least = 1\n",
            "\"nowhere\"",
            "no [[alerting.channels]] entry is named `nowhere`",
        ),
        (
            "\n[[alerts]]\nname = \"a\"\nsite = \"other\"\nto = [\"sales-slack\"]\n[alerts.account]\nheat_at_least = 1\n",
            "\"other\"",
            "no [[sites]] entry",
        ),
        (
            "\n[[alerts]]\nname = \"a\"\nsite = \"demo\"\nlang = \"fr\"\nto = [\"sales-slack\"]\n[alerts.account]\nheat_at_least = 1\n",
            "\"fr\"",
            "\"ja\" or \"en\"",
        ),
        (
            "\n[[alerts]]\nname = \"a\"\nsite = \"demo\"\nquiet_hours = \"25:00-08:00\"\nto = [\"sales-slack\"]\n[alerts.account]\nheat_at_least = 1\n",
            "quiet_hours",
            "not a time",
        ),
        (
            "\n[[alerts]]\nname = \"a\"\nsite = \"demo\"\nto = [\"sales-slack\"]\n[alerts.account]\nemployee_band = [\"huge\"]\n",
            "\"huge\"",
            "huge",
        ),
        (
            "\n[[alerting.channels]]\nname = \"teams\"\nkind = \"teams\"\n",
            "[[alerting.channels]]\nname = \"teams\"",
            "needs the incoming-webhook `url`",
        ),
        (
            "\n[[alerting.channels]]\nname = \"mail\"\nkind = \"email\"\nto = [\"sales@example.co.jp\"]\n",
            "[[alerting.channels]]\nname = \"mail\"",
            "[alerting.smtp]",
        ),
        (
            "\n[[alerting.channels]]\nname = \"owner\"\nkind = \"account_owner\"\n",
            "[[alerting.channels]]\nname = \"owner\"",
            "[alerting.smtp]",
        ),
    ];
    for (extra, needle, message) in cases {
        let error = parse(extra).expect_err(extra).to_string();
        let line = line_of(extra, needle);
        assert!(
            error.starts_with(&format!("edge.toml:{line}:")),
            "{extra}: expected line {line}: {error}"
        );
        assert!(error.contains(message), "{extra}: {error}");
    }
    let twice = format!(
        "{HOT}{}",
        HOT.replace("heat_at_least = 10", "heat_at_least = 2")
    );
    let error = parse(&twice).expect_err("named twice").to_string();
    assert!(error.contains("named twice"), "{error}");
    let neither = "\n[[alerts]]\nname = \"a\"\nsite = \"demo\"\nto = [\"sales-slack\"]\n";
    let error = parse(neither).expect_err("no condition").to_string();
    assert!(error.contains("exactly one of"), "{error}");
    let bad_zone = BASE.replace("Asia/Tokyo", "Asia/Atlantis");
    let error = Config::parse(Path::new("edge.toml"), &bad_zone)
        .expect_err("unknown zone")
        .to_string();
    assert!(error.starts_with("edge.toml:5:"), "{error}");
}

fn row(heat: f64, key_pages: u32, employees: Option<u32>) -> HotAccount {
    HotAccount {
        domain: "toyota-demo.example".into(),
        firmographics: Firmographics {
            name: Some("トヨタデモ株式会社".into()),
            employees,
            confident: true,
            source: "demo".into(),
            ..Firmographics::default()
        },
        visits: 2,
        pageviews: 5,
        visitors: 2,
        known_visitors: 0,
        anonymous_visitors: 2,
        known_people: Vec::new(),
        key_pages: BTreeMap::from([("*/pricing*".to_string(), key_pages)]),
        last_seen_ms: 0,
        heat,
        recent_visits: Vec::new(),
        first_seen_ms: 0,
        top_pages: vec![("/product".to_string(), 3), ("/pricing".to_string(), 2)],
        status: None,
        owner: None,
    }
}

fn facts(at_ms: i64, row: HotAccount) -> Facts {
    Facts {
        now_ms: at_ms,
        account: Some(AccountFacts {
            domain: row.domain.clone(),
            firmographics: row.firmographics.clone(),
            first_visit: false,
            rows: vec![row],
        }),
        person: None,
        pages: vec!["/pricing".into()],
    }
}

/// 2026-12-02 03:00 UTC is 12:00 in Tokyo.
const NOON_TOKYO_MS: i64 = 1_796_180_400_000;

#[test]
fn an_account_rule_fires_when_every_condition_holds_and_not_while_cooling() {
    let rules = compile(&parse(HOT).expect("valid"));
    let never = |_: &str, _: &str, _: i64| false;
    let hot = rules.decide(
        "demo",
        &facts(NOON_TOKYO_MS, row(12.0, 1, Some(900))),
        &never,
    );
    assert_eq!(hot.len(), 1);
    let alert = &hot[0];
    assert_eq!(alert.kind, "account.hot");
    assert_eq!(alert.subject, "account:toyota-demo.example");
    assert_eq!(alert.destinations, vec!["sales-slack".to_string()]);
    assert_eq!(
        alert.pages,
        vec!["/pricing".to_string(), "/product".to_string()],
        "the batch's page first, then the window's most viewed"
    );
    for (heat, key, employees) in [
        (9.0, 1, Some(900)),
        (12.0, 0, Some(900)),
        (12.0, 1, Some(90)),
        (12.0, 1, None),
    ] {
        let none = rules.decide(
            "demo",
            &facts(NOON_TOKYO_MS, row(heat, key, employees)),
            &never,
        );
        assert!(none.is_empty(), "{heat} {key} {employees:?}");
    }
    let cooling =
        |rule: &str, subject: &str, _: i64| rule == "hot" && subject.starts_with("account:");
    assert!(
        rules
            .decide(
                "demo",
                &facts(NOON_TOKYO_MS, row(12.0, 1, Some(900))),
                &cooling
            )
            .is_empty()
    );
    assert!(
        rules
            .decide(
                "other",
                &facts(NOON_TOKYO_MS, row(12.0, 1, Some(900))),
                &never
            )
            .is_empty()
    );
}

#[test]
fn quiet_hours_follow_the_sites_time_zone() {
    let quiet = HOT.replace(
        "to = [\"sales-slack\"]",
        "to = [\"sales-slack\"]\nquiet_hours = \"20:00-08:00\"",
    );
    let rules = compile(&parse(&quiet).expect("valid"));
    let never = |_: &str, _: &str, _: i64| false;
    let hour = 3_600_000;
    assert_eq!(
        rules
            .decide(
                "demo",
                &facts(NOON_TOKYO_MS, row(12.0, 1, Some(900))),
                &never
            )
            .len(),
        1
    );
    // 21:00 and 07:59 in Tokyo are quiet; 08:00 is not.
    for (offset, quiet) in [
        (9 * hour, true),
        (20 * hour - 60_000, true),
        (20 * hour, false),
    ] {
        let raised = rules.decide(
            "demo",
            &facts(NOON_TOKYO_MS + offset, row(12.0, 1, Some(900))),
            &never,
        );
        assert_eq!(raised.is_empty(), quiet, "{offset}");
    }
}

#[test]
fn person_and_page_rules() {
    let extra = r#"
[[alerts]]
name = "back"
site = "demo"
to = ["sales-slack"]
[alerts.person]
returned = true
score_at_least = 50

[[alerts]]
name = "pricing"
site = "demo"
to = ["sales-slack"]
lang = "en"
[alerts.page]
path = "/pricing*"
"#;
    let rules = compile(&parse(extra).expect("valid"));
    let never = |_: &str, _: &str, _: i64| false;
    let mut f = facts(NOON_TOKYO_MS, row(1.0, 0, None));
    f.person = Some(PersonFacts {
        id: 42,
        returned: false,
        email_click: false,
        score_before: 40.0,
        score_after: 55.0,
    });
    let raised = rules.decide("demo", &f, &never);
    let kinds: Vec<&str> = raised.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(kinds, ["person.score", "page.viewed"]);
    assert_eq!(raised[0].subject, "person:42");
    assert_eq!(raised[1].lang, "en");
    if let Some(person) = f.person.as_mut() {
        person.score_before = 60.0;
        person.score_after = 61.0;
    }
    if let Some(account) = f.account.as_mut() {
        account.firmographics.source = "email".into();
    }
    assert!(
        rules.decide("demo", &f, &never).is_empty(),
        "no crossing, no business network"
    );
}
