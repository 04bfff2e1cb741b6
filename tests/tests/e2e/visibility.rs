//! What one site's API key can learn about another site's data: nothing, not even whether it
//! exists.

use mikomi_tests::{Edge, EdgeConfig, SITE};
use serde_json::{Value, json};

/// A second site with its own key, beside the test site.
const OTHER_KEY: &str = "other-site-api-key-0123456789abcdef";
const OTHER_SITES: &str = r#"
[[sites]]
key = "other"
origins = ["http://other.test"]

[[api_keys]]
key = "other-site-api-key-0123456789abcdef"
sites = ["other"]
"#;

async fn with_key(
    edge: &Edge,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = edge.http.request(method, edge.url(path)).bearer_auth(key);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.expect("API request");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Person ids are sequential: if another site's person answered differently from a missing one,
/// a key of one site could count every other site's people and find which ids are real. Every
/// route on a person answers the same 404 for both.
#[tokio::test]
async fn another_sites_person_is_not_found_like_a_missing_one() {
    let config = EdgeConfig {
        extra_toml: OTHER_SITES.to_string(),
        ..EdgeConfig::default()
    };
    let edge = Edge::start(&config);
    let body = json!({"site": SITE, "vid": null, "events": [
        {"type": "conversion", "form": "contact", "url": "http://site.test/contact",
         "fields": {"email": "hanako@northwind.example"}}]});
    assert_eq!(edge.collect(&body).await.status().as_u16(), 200);
    let (status, feed) = edge.api_get("/api/v1/sessions?identified=true").await;
    assert_eq!(status, 200);
    let id = feed["sessions"][0]["person"]["id"]
        .as_str()
        .expect("a person id")
        .to_string();
    let missing = "p999999";
    use reqwest::Method;
    let routes = |id: &str| {
        vec![
            (Method::GET, format!("/api/v1/people/{id}"), None),
            (Method::GET, format!("/api/v1/people/{id}/audit"), None),
            (
                Method::PATCH,
                format!("/api/v1/people/{id}"),
                Some(json!({"stage": "sql"})),
            ),
            (
                Method::POST,
                format!("/api/v1/people/{id}/split"),
                Some(json!({"visitor": "00000000000000000000000000000000"})),
            ),
            (
                Method::POST,
                format!("/api/v1/people/{id}/merge"),
                Some(json!({"from": "p1"})),
            ),
            (Method::DELETE, format!("/api/v1/people/{id}"), None),
        ]
    };
    for ((method, path, body), (_, missing_path, missing_body)) in
        routes(&id).into_iter().zip(routes(missing))
    {
        let theirs = with_key(&edge, OTHER_KEY, method.clone(), &path, body).await;
        let absent = with_key(
            &edge,
            OTHER_KEY,
            method.clone(),
            &missing_path,
            missing_body,
        )
        .await;
        assert_eq!(theirs.0, 404, "{method} {path}: {}", theirs.1);
        assert_eq!(theirs, absent, "{method} {path} tells the two apart");
    }
    // Merging another site's person into one's own is the same 404.
    let (status, _) = edge
        .api(
            Method::POST,
            &format!("/api/v1/people/{id}/merge"),
            Some(json!({"from": missing})),
        )
        .await;
    assert_eq!(status, 404);
    // The person is untouched.
    let (status, person) = edge.api_get(&format!("/api/v1/people/{id}")).await;
    assert_eq!(status, 200, "{person}");
    assert_eq!(person["stage"], "lead");
}
