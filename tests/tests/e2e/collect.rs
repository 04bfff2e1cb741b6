//! The happy paths of collect: ids, cookies, sessions, CORS, consent, first-party serving.

use mikomi_tests::edge::page_view;
use mikomi_tests::{API_KEY, Edge, EdgeConfig, ORIGIN, SITE};
use serde_json::{Value, json};

#[tokio::test]
async fn a_visitor_gets_a_signed_id_and_cookie_and_keeps_it() {
    let edge = Edge::start(&EdgeConfig::default());
    let first = edge
        .collect(&page_view(
            None,
            "http://site.test/?mk_t=SECRET&utm_source=mail",
        ))
        .await;
    assert_eq!(first.status().as_u16(), 200);
    let headers = first.headers().clone();
    let cookie = headers["set-cookie"].to_str().expect("ascii").to_string();
    let body: Value = first.json().await.expect("JSON");
    let vid = body["vid"].as_str().expect("a visitor id").to_string();
    assert_eq!(vid.len(), 38);
    assert!(body["popup"].is_null());
    assert!(cookie.starts_with(&format!("mk_vid={vid};")), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=34560000"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert_eq!(headers["access-control-allow-origin"], ORIGIN);
    assert_eq!(headers["access-control-allow-credentials"], "true");

    // The id from the body (first-party storage) and from the cookie both lead back.
    let second = edge
        .collect(&page_view(Some(&vid), "http://site.test/pricing"))
        .await;
    let second: Value = second.json().await.expect("JSON");
    assert_eq!(second["vid"], vid.as_str());
    let via_cookie = edge
        .http
        .post(edge.url("/v1/collect"))
        .header("origin", ORIGIN)
        .header("content-type", "text/plain;charset=UTF-8")
        .header("cookie", format!("other=1; mk_vid={vid}"))
        .body(page_view(None, "http://site.test/faq").to_string())
        .send()
        .await
        .expect("request");
    let via_cookie: Value = via_cookie.json().await.expect("JSON");
    assert_eq!(via_cookie["vid"], vid.as_str());

    let visitor = edge.visitor(&vid).await.expect("stored");
    assert_eq!(visitor["pageviews"], 3);
    assert_eq!(
        visitor["visits"], 1,
        "three page views within minutes are one visit"
    );
    assert_eq!(
        visitor["network"], "127.0.0.0/24",
        "only the truncated network is kept"
    );
    assert_eq!(
        edge.stored_urls(&vid).await,
        vec![
            "http://site.test/?utm_source=mail",
            "http://site.test/pricing",
            "http://site.test/faq"
        ],
        "the email token never reaches storage"
    );
    let title = &visitor["sessions"][0]["events"][0]["title"];
    assert_eq!(title, "テスト");
}

/// A page view carrying `token` both as the cookie and in the body, as the tag sends it.
async fn with_token_twice(edge: &Edge, token: &str, url: &str) -> reqwest::Response {
    edge.http
        .post(edge.url("/v1/collect"))
        .header("origin", ORIGIN)
        .header("content-type", "text/plain;charset=UTF-8")
        .header("cookie", format!("mk_vid={token}"))
        .body(page_view(Some(token), url).to_string())
        .send()
        .await
        .expect("request")
}

/// The same token in the cookie and the body is checked once and handed back as it came; a
/// forged one is still refused, and stores nothing.
#[tokio::test]
async fn a_token_in_both_cookie_and_body_is_checked_once_and_still_checked() {
    let edge = Edge::start(&EdgeConfig::default());
    let first: Value = edge
        .collect(&page_view(None, "http://site.test/"))
        .await
        .json()
        .await
        .expect("JSON");
    let vid = first["vid"].as_str().expect("a visitor id").to_string();

    let again = with_token_twice(&edge, &vid, "http://site.test/pricing").await;
    assert_eq!(again.status().as_u16(), 200);
    let cookie = again.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(cookie.starts_with(&format!("mk_vid={vid};")), "{cookie}");
    let again: Value = again.json().await.expect("JSON");
    assert_eq!(again["vid"], vid.as_str());

    let last = vid.chars().last().expect("a character");
    let forged = format!(
        "{}{}",
        &vid[..vid.len() - 1],
        if last == 'A' { 'Q' } else { 'A' }
    );
    let refused = with_token_twice(&edge, &forged, "http://site.test/faq").await;
    assert_eq!(refused.status().as_u16(), 400);
    let refused: Value = refused.json().await.expect("JSON");
    assert_eq!(refused["error"]["code"], "invalid_visitor_id", "{refused}");

    let visitor = edge.visitor(&vid).await.expect("stored");
    assert_eq!(
        visitor["pageviews"], 2,
        "the refused page view stored nothing"
    );
}

#[tokio::test]
async fn preflight_is_answered_for_allowed_origins_only() {
    let edge = Edge::start(&EdgeConfig::default());
    let allowed = edge
        .http
        .request(reqwest::Method::OPTIONS, edge.url("/v1/collect"))
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("preflight");
    assert_eq!(allowed.status().as_u16(), 204);
    assert_eq!(allowed.headers()["access-control-allow-origin"], ORIGIN);
    assert!(
        allowed.headers()["access-control-allow-methods"]
            .to_str()
            .expect("ascii")
            .contains("POST")
    );
    let refused = edge
        .http
        .request(reqwest::Method::OPTIONS, edge.url("/v1/collect"))
        .header("origin", "http://evil.test")
        .send()
        .await
        .expect("preflight");
    assert_eq!(refused.status().as_u16(), 403);
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn opt_in_sites_store_nothing_before_consent() {
    let edge = Edge::start(&EdgeConfig {
        consent: "opt-in",
        ..EdgeConfig::default()
    });
    let before = edge.collect(&page_view(None, "http://site.test/")).await;
    assert!(before.headers().get("set-cookie").is_none());
    let body: Value = before.json().await.expect("JSON");
    assert!(body["vid"].is_null());
    assert_eq!(body["consent_required"], true);
    assert_eq!(edge.stored_events().await, 0);

    let consented = json!({"site": SITE, "consent": true, "events": [{"type": "pageview", "url": "http://site.test/"}]});
    let after = edge.collect(&consented).await;
    assert!(after.headers().get("set-cookie").is_some());
    let body: Value = after.json().await.expect("JSON");
    assert!(body["vid"].is_string());
    assert_eq!(edge.stored_events().await, 1);

    // Global Privacy Control is honoured by default even with consent.
    let gpc = edge
        .http
        .post(edge.url("/v1/collect"))
        .header("origin", ORIGIN)
        .header("content-type", "application/json")
        .header("sec-gpc", "1")
        .body(consented.to_string())
        .send()
        .await
        .expect("request");
    let body: Value = gpc.json().await.expect("JSON");
    assert!(body["vid"].is_null());
    assert_eq!(edge.stored_events().await, 1);
}

#[tokio::test]
async fn public_routes_mount_under_a_prefix_and_forwarded_addresses_are_trusted_only_from_proxies()
{
    let edge = Edge::start(&EdgeConfig {
        public_prefix: "/mk",
        trusted_proxies: vec!["127.0.0.0/8"],
        ..EdgeConfig::default()
    });
    let unprefixed = edge.collect(&page_view(None, "http://site.test/")).await;
    assert_eq!(unprefixed.status().as_u16(), 404);
    let response = edge
        .http
        .post(edge.url("/mk/v1/collect"))
        .header("origin", ORIGIN)
        .header("content-type", "application/json")
        .header("x-forwarded-for", "203.0.113.45")
        .header("x-forwarded-proto", "https")
        .body(page_view(None, "http://site.test/").to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 200);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(
        cookie.contains("Secure"),
        "HTTPS at the proxy makes the cookie Secure: {cookie}"
    );
    let body: Value = response.json().await.expect("JSON");
    let visitor = edge
        .visitor(body["vid"].as_str().expect("vid"))
        .await
        .expect("stored");
    assert_eq!(visitor["network"], "203.0.113.0/24");
}

#[tokio::test]
async fn the_api_needs_its_key() {
    let edge = Edge::start(&EdgeConfig::default());
    let body: Value = edge
        .collect(&page_view(None, "http://site.test/"))
        .await
        .json()
        .await
        .expect("JSON");
    let vid = body["vid"].as_str().expect("vid");
    let url = edge.url(&format!("/api/v1/visitors/{vid}"));
    let none = edge.http.get(&url).send().await.expect("request");
    assert_eq!(none.status().as_u16(), 401);
    let wrong = edge
        .http
        .get(&url)
        .bearer_auth("x".repeat(API_KEY.len()))
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status().as_u16(), 401);
    let right = edge
        .http
        .get(&url)
        .bearer_auth(API_KEY)
        .send()
        .await
        .expect("request");
    assert_eq!(right.status().as_u16(), 200);
}
