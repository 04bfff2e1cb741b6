//! What the engine's seams used to get wrong, through the real edge: ids of one collect, popup
//! conditions on score and stage, and rule results kept per site.

use std::collections::BTreeSet;

use mikomi_tests::edge::page_view;
use mikomi_tests::{Edge, EdgeConfig, SITE};
use serde_json::{Value, json};

const OTHER_SITE: &str = "other";
const OTHER_KEY: &str = "other-site-api-key-0123456789abcdef";

async fn view(edge: &Edge, vid: Option<&str>, site: &str, path: &str) -> (String, Value) {
    let mut body = page_view(vid, &format!("http://site.test{path}"));
    body["site"] = site.into();
    let response = edge.collect(&body).await;
    assert_eq!(response.status().as_u16(), 200);
    let answer: Value = response.json().await.expect("JSON");
    let vid = answer["vid"].as_str().expect("a visitor id").to_string();
    (vid, answer["popup"].clone())
}

fn conversion(email: &str) -> Value {
    json!({"type": "conversion", "form": "contact", "url": "http://site.test/contact",
           "fields": {"email": email, "name": "見込 太郎", "company": "Northwind"}})
}

async fn owner(edge: &Edge, vid: &str) -> String {
    let visitor = edge.visitor(vid).await.expect("the visitor is known");
    visitor["person"].as_str().expect("an owner").to_string()
}

/// Walks the shared-device chain back from the visitor's last owner: each join of another
/// email on the same browser is audited as `shared_device` from the previous person.
async fn people_of_the_chain(edge: &Edge, last: &str) -> Vec<(String, String)> {
    let mut people = Vec::new();
    let mut at = Some(last.to_string());
    while let Some(id) = at.take() {
        let (status, person) = edge.api_get(&format!("/api/v1/people/{id}")).await;
        assert_eq!(status, 200, "{id}: {person}");
        let email = person["email"].as_str().expect("email").to_string();
        people.push((id.clone(), email));
        let (status, audit) = edge.api_get(&format!("/api/v1/people/{id}/audit")).await;
        assert_eq!(status, 200, "{audit}");
        at = audit["audit"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["event"]["type"] == "shared_device" && e["event"]["to"] == id.as_str())
            .and_then(|e| e["event"]["from"].as_str())
            .map(str::to_string);
        assert!(people.len() <= 50, "the chain ends");
    }
    people
}

/// Twenty conversions of twenty addresses in one collect: twenty people, each with its own id
/// and answering to its own email, and the same after a restart from a snapshot.
#[tokio::test]
async fn one_collect_of_twenty_new_emails_makes_twenty_people_before_and_after_a_restart() {
    // One browser making twenty people is past the default daily bound (three): raised here,
    // where the ids are what is tested.
    let config = EdgeConfig {
        extra_toml: "[identity]\nmax_new_people_per_visitor = 20\n".into(),
        ..EdgeConfig::default()
    };
    let edge = Edge::start(&config);
    let emails: Vec<String> = (1..=20)
        .map(|i| format!("lead{i:02}@corp.example"))
        .collect();
    let events: Vec<Value> = emails.iter().map(|e| conversion(e)).collect();
    let body = json!({"site": SITE, "vid": null, "events": events});
    let response = edge.collect(&body).await;
    assert_eq!(response.status().as_u16(), 200);
    let vid = response.json::<Value>().await.expect("JSON")["vid"]
        .as_str()
        .expect("vid")
        .to_string();

    let check = |people: Vec<(String, String)>| {
        let ids: BTreeSet<&String> = people.iter().map(|(id, _)| id).collect();
        let found: BTreeSet<&String> = people.iter().map(|(_, email)| email).collect();
        let wanted: BTreeSet<&String> = emails.iter().collect();
        assert_eq!(ids.len(), 20, "twenty distinct ids: {people:?}");
        assert_eq!(found, wanted, "each email its own person: {people:?}");
        people
    };
    let last = owner(&edge, &vid).await;
    let before = check(people_of_the_chain(&edge, &last).await);
    let edge = edge.restart_after(|edge| {
        let status = edge.terminate();
        assert!(status.success(), "exit status {status:?}");
    });
    let after = check(people_of_the_chain(&edge, &owner(&edge, &vid).await).await);
    assert_eq!(before, after, "the snapshot holds the same people");
}

const SCORE_RULE: &str = r#"
[scoring]
pageview = 10.0

[[rules]]
id = "hot-reader"
template = "brochure"
when = [{ score = { at_least = 25 } }]
"#;

/// A rule on the lead score fires once the visitor has earned it, not before.
#[tokio::test]
async fn a_score_rule_fires_once_the_score_is_reached() {
    let config = EdgeConfig {
        extra_toml: SCORE_RULE.into(),
        ..EdgeConfig::default()
    };
    let edge = Edge::start(&config);
    let (vid, first) = view(&edge, None, SITE, "/").await;
    assert!(first.is_null(), "one page view is worth 10 points: {first}");
    let mut fired = None;
    for n in 2..=6 {
        let (_, popup) = view(&edge, Some(&vid), SITE, &format!("/page{n}")).await;
        if !popup.is_null() {
            fired = Some((n, popup));
            break;
        }
    }
    let (n, popup) = fired.expect("the score rule fired within six page views");
    assert_eq!(popup["rule"], "hot-reader");
    assert!(
        (3..=4).contains(&n),
        "25 points take three page views: fired on view {n}"
    );
}

const STAGE_RULE: &str = r#"
[scoring]
mql_threshold = 23.0

[[rules]]
id = "mql-brochure"
template = "brochure"
when = [{ stage = ["mql"] }]
"#;

async fn stage(edge: &Edge, person: &str) -> String {
    let (status, body) = edge.api_get(&format!("/api/v1/people/{person}")).await;
    assert_eq!(status, 200, "{body}");
    body["stage"].as_str().expect("stage").to_string()
}

/// A rule on the stage fires for a person who became an MQL, and never for anonymous visitors
/// or leads.
#[tokio::test]
async fn a_stage_rule_fires_once_the_person_is_an_mql() {
    let config = EdgeConfig {
        extra_toml: STAGE_RULE.into(),
        ..EdgeConfig::default()
    };
    let edge = Edge::start(&config);
    let (vid, anonymous) = view(&edge, None, SITE, "/").await;
    assert!(anonymous.is_null(), "anonymous visitors have no stage");
    // One page view and a conversion: 21 points, a lead below the threshold of 23.
    let body = json!({"site": SITE, "vid": vid, "events": [conversion("mql@corp.example")]});
    assert_eq!(edge.collect(&body).await.status().as_u16(), 200);
    let person = owner(&edge, &vid).await;
    assert_eq!(stage(&edge, &person).await, "lead");
    let mut shown = None;
    for n in 2..=6 {
        let (_, popup) = view(&edge, Some(&vid), SITE, &format!("/page{n}")).await;
        let now = stage(&edge, &person).await;
        if popup.is_null() {
            continue;
        }
        assert_eq!(now, "mql", "shown only to an MQL");
        shown = Some(popup);
        break;
    }
    let popup = shown.expect("the stage rule fired once the person became an MQL");
    assert_eq!(popup["rule"], "mql-brochure");
}

/// A rule without `sites` applies to both sites; each site's API key reads only its own
/// visitors' counts.
#[tokio::test]
async fn a_rule_of_every_site_reports_per_site() {
    let config = EdgeConfig {
        extra_toml: format!(
            r#"
[[sites]]
key = "{OTHER_SITE}"
origins = ["http://site.test"]
consent = "none"

[[api_keys]]
key = "{OTHER_KEY}"
sites = ["{OTHER_SITE}"]

[[rules]]
id = "everyone"
template = "brochure"
when = [{{ anonymous = true }}]
"#
        ),
        ..EdgeConfig::default()
    };
    let edge = Edge::start(&config);
    for _ in 0..3 {
        let (_, popup) = view(&edge, None, SITE, "/").await;
        assert_eq!(popup["rule"], "everyone");
    }
    let eligible = |stats: &Value| -> u64 {
        stats["rules"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["rule"] == "everyone")
            .flat_map(|r| r["arms"].as_array().cloned().unwrap_or_default())
            .map(|a| a["eligible"].as_u64().unwrap_or(0))
            .sum()
    };
    let other_stats = || async {
        let response = reqwest::Client::new()
            .get(edge.url("/api/v1/rules/stats"))
            .bearer_auth(OTHER_KEY)
            .send()
            .await
            .expect("stats");
        assert_eq!(response.status().as_u16(), 200);
        response.json::<Value>().await.expect("JSON")
    };
    let (_, mine) = edge.api_get("/api/v1/rules/stats").await;
    assert_eq!(eligible(&mine), 3, "{mine}");
    let theirs = other_stats().await;
    assert_eq!(eligible(&theirs), 0, "none of site A's counts: {theirs}");

    let (_, popup) = view(&edge, None, OTHER_SITE, "/").await;
    assert_eq!(popup["rule"], "everyone");
    let theirs = other_stats().await;
    assert_eq!(eligible(&theirs), 1, "{theirs}");
    let (_, mine) = edge.api_get("/api/v1/rules/stats").await;
    assert_eq!(eligible(&mine), 3, "unchanged by the other site: {mine}");
}
