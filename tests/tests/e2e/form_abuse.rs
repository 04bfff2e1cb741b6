//! What anyone who knows an address can do with a form: not overwrite the person, not mint
//! people without end, not score the person up to an MQL.

use mikomi_tests::{Edge, EdgeConfig, SITE};
use serde_json::{Value, json};

fn form(vid: Option<&str>, form: &str, fields: Value) -> Value {
    json!({"site": SITE, "vid": vid, "events": [
        {"type": "conversion", "form": form, "url": "http://site.test/contact", "fields": fields}]})
}

/// Sends a form (whose body names the browser, or none for a new one) from `ip`; returns the
/// visitor id.
async fn submit(edge: &Edge, ip: &str, body: Value) -> String {
    let answer = edge.collect_from(ip, &body).await;
    answer["vid"].as_str().expect("vid").to_string()
}

async fn owner(edge: &Edge, vid: &str) -> Value {
    edge.visitor(vid).await.expect("the visitor")["person"].clone()
}

fn config(extra: &str) -> EdgeConfig {
    EdgeConfig {
        trusted_proxies: vec!["127.0.0.0/8"],
        extra_toml: extra.to_string(),
        ..EdgeConfig::default()
    }
}

#[tokio::test]
async fn a_form_fills_blanks_and_a_different_value_waits_for_the_backend() {
    let config = config("");
    let edge = Edge::start(&config);
    let hanako = json!({"email": "hanako@northwind.example", "name": "佐藤 花子"});
    let vid = submit(&edge, "192.0.2.1", form(None, "contact", hanako)).await;
    let id = owner(&edge, &vid)
        .await
        .as_str()
        .expect("a person")
        .to_string();
    // Someone else, who knows the address.
    let forged = json!({"email": "hanako@northwind.example", "name": "Mallory", "title": "CEO"});
    submit(&edge, "198.51.100.7", form(None, "contact", forged)).await;
    let (status, person) = edge.api_get(&format!("/api/v1/people/{id}")).await;
    assert_eq!(status, 200, "{person}");
    assert_eq!(person["name"], "佐藤 花子", "not replaced: {person}");
    assert_eq!(person["title"], "CEO", "a blank is filled");
    let proposed = person["proposed_changes"].as_array().expect("proposals");
    assert_eq!(proposed.len(), 1, "{person}");
    assert_eq!(proposed[0]["attribute"], "name");
    assert_eq!(proposed[0]["value"], "Mallory");
    assert_eq!(proposed[0]["current"], "佐藤 花子");
    let (_, audit) = edge.api_get(&format!("/api/v1/people/{id}/audit")).await;
    assert!(audit.to_string().contains("proposed_change"), "{audit}");
    // The backend decides.
    let (status, patched) = edge
        .api(
            reqwest::Method::PATCH,
            &format!("/api/v1/people/{id}"),
            Some(json!({"attributes": {"name": "Mallory"}})),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["name"], "Mallory");
    assert_eq!(
        patched["proposed_changes"],
        json!([]),
        "taken, no longer proposed"
    );
}

#[tokio::test]
async fn new_people_per_browser_and_per_address_are_capped_per_day() {
    let config =
        config("[identity]\nmax_new_people_per_visitor = 2\nmax_new_people_per_address = 3\n");
    let edge = Edge::start(&config);
    // One browser: two new people, then its forms identify nobody new.
    let ip = "192.0.2.10";
    let vid = submit(
        &edge,
        ip,
        form(None, "contact", json!({"email": "p1@x.example"})),
    )
    .await;
    submit(
        &edge,
        ip,
        form(Some(&vid), "contact", json!({"email": "p2@x.example"})),
    )
    .await;
    let second = owner(&edge, &vid).await;
    assert!(second.is_string());
    submit(
        &edge,
        ip,
        form(Some(&vid), "contact", json!({"email": "p3@x.example"})),
    )
    .await;
    assert_eq!(
        owner(&edge, &vid).await,
        second,
        "no third person from one browser"
    );
    // A person already known is not a new one: joining it is still allowed.
    submit(
        &edge,
        ip,
        form(Some(&vid), "contact", json!({"email": "p1@x.example"})),
    )
    .await;
    assert_ne!(
        owner(&edge, &vid).await,
        second,
        "back to the first, who exists"
    );
    // One address: its third new person from another browser, then none.
    let other = submit(
        &edge,
        ip,
        form(None, "contact", json!({"email": "p4@x.example"})),
    )
    .await;
    assert!(
        owner(&edge, &other).await.is_string(),
        "the address's third"
    );
    let fourth = submit(
        &edge,
        ip,
        form(None, "contact", json!({"email": "p5@x.example"})),
    )
    .await;
    assert_eq!(
        owner(&edge, &fourth).await,
        Value::Null,
        "the address's fourth"
    );
    // The conversion itself is stored, without the address.
    let visitor = edge.visitor(&fourth).await.expect("visitor");
    let text = visitor.to_string();
    assert!(
        text.contains("conversion") && !text.contains("p5@x.example"),
        "{text}"
    );
    // Another address is not affected.
    let elsewhere = submit(
        &edge,
        "198.51.100.9",
        form(None, "contact", json!({"email": "p5@x.example"})),
    )
    .await;
    assert!(owner(&edge, &elsewhere).await.is_string());
}

#[tokio::test]
async fn one_form_over_and_over_scores_once_a_day() {
    let config = config("");
    let edge = Edge::start(&config);
    let fields = json!({"email": "taro@northwind.example"});
    let mut vid = submit(&edge, "192.0.2.20", form(None, "contact", fields.clone())).await;
    let id = owner(&edge, &vid)
        .await
        .as_str()
        .expect("a person")
        .to_string();
    let (_, person) = edge.api_get(&format!("/api/v1/people/{id}")).await;
    let once = person["score"].as_f64().expect("score");
    // Ten more times, from this browser and from fresh ones: a conversion is 20 points and the
    // MQL threshold 50, so without the bound the person becomes an MQL.
    for i in 0..10 {
        let from = if i % 2 == 0 { Some(vid.as_str()) } else { None };
        vid = submit(&edge, "192.0.2.21", form(from, "contact", fields.clone())).await;
    }
    let (_, person) = edge.api_get(&format!("/api/v1/people/{id}")).await;
    assert_eq!(person["score"].as_f64(), Some(once), "{person}");
    assert_eq!(person["stage"], "lead");
}
