//! Popup rules against the real edge: visits made separate by a one-second session timeout,
//! caps honoured across answers, the holdout counted, results and explain over the API and
//! the CLI, results surviving a restart, previews, and reloads that refuse a broken file.

use std::time::Duration;

use mikomi_tests::edge::{edge_binary, page_view};
use mikomi_tests::{Edge, EdgeConfig, SITE};
use serde_json::{Value, json};

const BROCHURE: &str = r#"
[popups]
max_per_day = 16

[[rules]]
id = "brochure-repeat"
template = "brochure"
priority = 10
holdout = 0.5
when = [
  { anonymous = true },
  { visits = { at_least = 3, within = "7d" } },
]
caps = { once_per = "1s", backoff = ["2s"], max_dismissals = 5 }
"#;

const SEMINAR: &str = r#"
[[rules]]
id = "seminar-faq-pricing"
template = "seminar"
priority = 20
when = [
  { anonymous = true },
  { pages = { glob = "*/faq*", at_least = 2, within = "30d" } },
  { pages = { glob = "*/pricing*", at_least = 2, within = "30d" } },
]
event = { title = { ja = "見込み客発掘セミナー", en = "Finding prospects" }, date = "2025-07-10 15:00 JST" }
"#;

/// Longer than the one-second session timeout: the next page view is a new visit.
async fn next_visit() {
    tokio::time::sleep(Duration::from_millis(1100)).await;
}

/// Views a page; returns the visitor id and the popup (or null).
async fn view(edge: &Edge, vid: Option<&str>, url: &str) -> (String, Value) {
    let response = edge.collect(&page_view(vid, url)).await;
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.expect("JSON");
    let vid = body["vid"].as_str().expect("a visitor id").to_string();
    (vid, body["popup"].clone())
}

async fn answer(edge: &Edge, vid: &str, rule: &str, action: &str) {
    let mut events =
        vec![json!({"type": "popup", "rule": rule, "variant": "default", "action": action})];
    if action == "submitted" {
        // As the tag does: a popup's form is submitted as a conversion alongside.
        events.insert(
            0,
            json!({"type": "conversion", "form": rule, "url": "http://site.test/demo/",
            "fields": {"email": "popup@corp.example", "name": "ポップアップ"}}),
        );
    }
    let body = json!({"site": SITE, "vid": vid, "events": events});
    assert_eq!(edge.collect(&body).await.status().as_u16(), 200);
}

async fn stats(edge: &Edge) -> Value {
    let (status, body) = edge.api_get("/api/v1/rules/stats").await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The counts of one rule's arm from the stats answer (zeros when absent).
fn arm(stats: &Value, rule: &str, arm: &str) -> Value {
    stats["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["rule"] == rule)
        .flat_map(|r| r["arms"].as_array().cloned().unwrap_or_default())
        .find(|a| a["arm"] == arm)
        .unwrap_or_else(|| json!({"eligible": 0, "shown": 0, "dismissed": 0, "submitted": 0}))
}

#[tokio::test]
async fn brochure_on_the_third_visit_with_caps_holdout_results_and_explain() {
    let config = EdgeConfig {
        session_timeout: Some("1s"),
        extra_toml: BROCHURE.into(),
        ..EdgeConfig::default()
    };
    let edge = Edge::start(&config);
    let url = "http://site.test/demo/index.html";
    // Sixteen visitors in step: with a holdout of one half, both arms get some.
    let mut vids = Vec::new();
    for _ in 0..16 {
        let (vid, popup) = view(&edge, None, url).await;
        assert!(popup.is_null(), "first visit");
        vids.push(vid);
    }
    next_visit().await;
    for vid in &vids {
        assert!(
            view(&edge, Some(vid), url).await.1.is_null(),
            "second visit"
        );
    }
    next_visit().await;
    let mut shown = Vec::new();
    let mut held_out = Vec::new();
    for vid in &vids {
        let (_, popup) = view(&edge, Some(vid), url).await;
        if popup.is_null() {
            held_out.push(vid.clone());
        } else {
            assert_eq!(popup["rule"], "brochure-repeat");
            assert_eq!(popup["template"], "brochure");
            shown.push(vid.clone());
        }
    }
    assert!(
        !shown.is_empty() && !held_out.is_empty(),
        "both arms: {shown:?} {held_out:?}"
    );

    // Caps: a dismissal backs off (2 s), then the popup returns; after a submit, never again.
    let s = &shown[0];
    answer(&edge, s, "brochure-repeat", "dismissed").await;
    tokio::time::sleep(Duration::from_millis(1050)).await;
    assert!(view(&edge, Some(s), url).await.1.is_null(), "backing off");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, again) = view(&edge, Some(s), url).await;
    assert_eq!(again["rule"], "brochure-repeat", "the back-off is over");
    answer(&edge, s, "brochure-repeat", "submitted").await;
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert!(
        view(&edge, Some(s), url).await.1.is_null(),
        "never after a submit"
    );

    // The holdout never sees one, however often it comes back.
    let h = &held_out[0];
    assert!(view(&edge, Some(h), url).await.1.is_null());

    let results = stats(&edge).await;
    let holdout = arm(&results, "brochure-repeat", "holdout");
    let variant = arm(&results, "brochure-repeat", "default");
    assert_eq!(holdout["eligible"], held_out.len(), "{results}");
    assert_eq!(holdout["shown"], 0);
    assert_eq!(variant["eligible"], shown.len(), "{results}");
    assert_eq!(variant["shown"], shown.len() + 1, "{results}");
    assert_eq!(
        (variant["dismissed"].as_u64(), variant["submitted"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(variant["conversion_ci95"].is_array(), "{variant}");

    let metrics = edge.metrics().await;
    let line = format!(
        "mikomi_popup_eligible{{rule=\"brochure-repeat\",arm=\"holdout\"}} {}",
        held_out.len()
    );
    assert!(metrics.contains(&line), "{line} missing from\n{metrics}");

    // Explain over the API: the visitor who submitted is known now, and capped for good.
    let query =
        format!("/api/v1/rules/explain?vid={s}&url=http%3A%2F%2Fsite.test%2Fdemo%2Fpricing.html");
    let (status, explained) = edge.api_get(&query).await;
    assert_eq!(status, 200, "{explained}");
    assert_eq!(explained["decision"], "none");
    let rule = &explained["rules"][0];
    assert_eq!(rule["outcome"], "conditions failed", "{rule}");
    assert_eq!(
        rule["conditions"][0]["held"], false,
        "no longer anonymous: {rule}"
    );
    let held = |name: &str| {
        rule["caps"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["cap"] == name)
            .map(|c| c["held"].clone())
    };
    assert_eq!(held("never after submit"), Some(json!(false)), "{rule}");

    // And through the CLI, for a visitor on their first visit.
    let (fresh, _) = view(&edge, None, url).await;
    let output = std::process::Command::new(edge_binary())
        .args(["explain", "--config"])
        .arg(edge.config_path())
        .args([
            "--vid",
            &fresh,
            "--url",
            "http://site.test/demo/faq.html",
            "--edge",
            &edge.base,
        ])
        .output()
        .expect("run explain");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("rule brochure-repeat"), "{text}");
    assert!(text.contains("when ok   anonymous = true"), "{text}");
    assert!(
        text.contains("when FAIL visits >= 3 within 7d (1 visits)"),
        "{text}"
    );

    // Results are derived from durable state: a restart counts the same.
    let edge = edge.restart_after(|e| {
        e.terminate();
    });
    assert_eq!(stats(&edge).await["rules"], results["rules"]);
}

#[tokio::test]
async fn seminar_after_faq_and_pricing_previews_and_reloads() {
    let config = EdgeConfig {
        extra_toml: SEMINAR.into(),
        ..EdgeConfig::default()
    };
    let edge = Edge::start(&config);
    let mut vid = None;
    for path in [
        "/demo/en/faq.html",
        "/demo/en/pricing.html",
        "/demo/en/faq.html",
    ] {
        let (v, popup) = view(&edge, vid.as_deref(), &format!("http://site.test{path}")).await;
        assert!(popup.is_null(), "{path}");
        vid = Some(v);
    }
    let (_, popup) = view(
        &edge,
        vid.as_deref(),
        "http://site.test/demo/en/pricing.html",
    )
    .await;
    let mut keys: Vec<&String> = popup.as_object().expect("a popup").keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "body",
            "fields",
            "privacy_url",
            "rule",
            "submit",
            "template",
            "title",
            "variant"
        ]
    );
    assert_eq!(popup["rule"], "seminar-faq-pricing");
    assert_eq!(
        popup["title"], "Seminar registration",
        "an /en/ page gets English copy"
    );
    assert!(
        popup["body"]
            .as_str()
            .is_some_and(|b| b.starts_with("Finding prospects (2025-07-10")),
        "{popup}"
    );
    assert_eq!(
        popup["fields"][2],
        json!({"name": "email", "label": "Email", "type": "email", "required": true})
    );
    // The tag may say the page's language; it wins over the path.
    let body = json!({"site": SITE, "lang": "ja", "events": [{"type": "pageview", "url": "http://site.test/demo/en/faq.html"}]});
    assert_eq!(edge.collect(&body).await.status().as_u16(), 200);

    // A preview forces the popup on a fresh browser and counts nowhere.
    let before = stats(&edge).await;
    let (status, minted) = edge
        .api_post(
            "/api/v1/rules/preview",
            &json!({"rule": "seminar-faq-pricing", "ttl": "10m"}),
        )
        .await;
    assert_eq!(status, 200, "{minted}");
    let token = minted["token"].as_str().expect("a token");
    let body = json!({"site": SITE, "preview": token, "lang": "ja", "events": [{"type": "pageview", "url": "http://site.test/?mk_preview=x"}]});
    let previewed: Value = edge.collect(&body).await.json().await.expect("JSON");
    assert_eq!(previewed["popup"]["rule"], "seminar-faq-pricing");
    assert_eq!(previewed["popup"]["title"], "セミナー申込");
    assert_eq!(
        stats(&edge).await["rules"],
        before["rules"],
        "previews touch no results"
    );
    let forged = json!({"site": SITE, "preview": format!("{token}x"), "events": [{"type": "pageview", "url": "http://site.test/"}]});
    let forged: Value = edge.collect(&forged).await.json().await.expect("JSON");
    assert!(forged["popup"].is_null(), "a forged token is ignored");
    let (status, _) = edge
        .api_post("/api/v1/rules/preview", &json!({"rule": "nope"}))
        .await;
    assert_eq!(status, 404);

    // Reload on SIGHUP: a new rule serves.
    let path = edge.config_path().to_path_buf();
    let original = std::fs::read_to_string(&path).expect("config");
    let welcome = "\n[[rules]]\nid = \"welcome\"\ntemplate = \"brochure\"\npriority = 100\nwhen = [{ page = \"/welcome*\" }]\n";
    std::fs::write(&path, format!("{original}{welcome}")).expect("write");
    edge.hangup();
    wait_for(&edge, |s| s["reload"]["rules"] == 2).await;
    let (_, popup) = view(&edge, None, "http://site.test/welcome").await;
    assert_eq!(popup["rule"], "welcome");

    // A broken file is refused with its line; the rules loaded before keep serving.
    let broken = format!("{original}{welcome}\n[[rules]]\nid = \"broken\"\ntemplate = \"flyer\"\n");
    let line = broken
        .lines()
        .position(|l| l == "template = \"flyer\"")
        .expect("the line")
        + 1;
    std::fs::write(&path, &broken).expect("write");
    edge.hangup();
    let refused = wait_for(&edge, |s| s["reload"]["last_error"].is_string()).await;
    let error = refused["reload"]["last_error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        error.contains(&format!("edge.toml:{line}:")) && error.contains("no template `flyer`"),
        "{error}"
    );
    assert_eq!(refused["reload"]["rules"], 2);
    let (_, popup) = view(&edge, None, "http://site.test/welcome").await;
    assert_eq!(popup["rule"], "welcome", "the old rules keep serving");
    assert!(edge.log().contains("no template `flyer`"), "{}", edge.log());
}

/// Polls the stats until `done` holds (reloads are asynchronous); returns that answer.
async fn wait_for(edge: &Edge, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let current = stats(edge).await;
        if done(&current) {
            return current;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the reload did not happen; log:\n{}", edge.log());
}
