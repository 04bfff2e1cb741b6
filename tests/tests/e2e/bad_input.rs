//! Every kind of bad request gets its status and error code, and stores nothing.

use mikomi_tests::edge::page_view;
use mikomi_tests::{Edge, EdgeConfig, ORIGIN, SITE};
use serde_json::{Value, json};

struct Case {
    name: &'static str,
    origin: Option<&'static str>,
    content_type: &'static str,
    body: String,
    status: u16,
    code: &'static str,
}

fn case(name: &'static str, body: Value, status: u16, code: &'static str) -> Case {
    Case {
        name,
        origin: Some(ORIGIN),
        content_type: "application/json",
        body: body.to_string(),
        status,
        code,
    }
}

#[tokio::test]
async fn each_bad_request_is_refused_with_its_code_and_nothing_is_stored() {
    let edge = Edge::start(&EdgeConfig::default());
    let good = page_view(None, "http://site.test/");
    let forged_vid = "A".repeat(38);
    let cases = vec![
        Case {
            body: "{\"site\": \"test\", \"events\": [".into(),
            ..case("malformed JSON", Value::Null, 400, "malformed_json")
        },
        Case {
            body: "not json at all".into(),
            ..case("not JSON", Value::Null, 400, "malformed_json")
        },
        Case {
            content_type: "application/x-www-form-urlencoded",
            ..case(
                "wrong content type",
                good.clone(),
                415,
                "unsupported_media_type",
            )
        },
        case(
            "unknown site",
            json!({"site": "nope", "events": [{"type": "pageview", "url": "http://site.test/"}]}),
            400,
            "unknown_site",
        ),
        Case {
            origin: Some("http://evil.test"),
            ..case("disallowed origin", good.clone(), 403, "origin_not_allowed")
        },
        Case {
            origin: None,
            ..case("no origin", good.clone(), 403, "origin_required")
        },
        Case {
            body: format!(
                "{{\"site\":\"{SITE}\",\"events\":[{{\"type\":\"pageview\",\"url\":\"http://site.test/\",\"title\":\"{}\"}}]}}",
                "x".repeat(70 * 1024)
            ),
            ..case("oversize body", Value::Null, 413, "body_too_large")
        },
        case(
            "forged visitor id",
            page_view(Some(&forged_vid), "http://site.test/"),
            400,
            "invalid_visitor_id",
        ),
        case(
            "garbage visitor id",
            page_view(Some("../../etc"), "http://site.test/"),
            400,
            "invalid_visitor_id",
        ),
        case(
            "no events",
            json!({"site": SITE, "events": []}),
            400,
            "event_count",
        ),
        case(
            "unknown event type",
            json!({"site": SITE, "events": [{"type": "hover", "url": "http://site.test/"}]}),
            400,
            "malformed_json",
        ),
        case(
            "relative URL",
            json!({"site": SITE, "events": [{"type": "pageview", "url": "/pricing"}]}),
            400,
            "invalid_event",
        ),
        case(
            "one bad event among good ones",
            json!({"site": SITE, "events": [
                {"type": "pageview", "url": "http://site.test/a"},
                {"type": "engagement", "url": "http://site.test/a", "ms": 99_999_999_999u64}
            ]}),
            400,
            "invalid_event",
        ),
        case(
            "too many events",
            json!({"site": SITE, "events": vec![json!({"type": "pageview", "url": "http://site.test/"}); 51]}),
            400,
            "event_count",
        ),
    ];
    for case in cases {
        let mut request = edge
            .http
            .post(edge.url("/v1/collect"))
            .header("content-type", case.content_type)
            .body(case.body.clone());
        if let Some(origin) = case.origin {
            request = request.header("origin", origin);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let cookie = response.headers().get("set-cookie").cloned();
        let body: Value = response.json().await.expect("a JSON error body");
        assert_eq!(status, case.status, "{}: {body}", case.name);
        assert_eq!(body["error"]["code"], case.code, "{}: {body}", case.name);
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{}",
            case.name
        );
        assert!(
            cookie.is_none(),
            "{}: no visitor cookie on an error",
            case.name
        );
    }
    assert_eq!(edge.stored_events().await, 0, "nothing was stored");
    let metrics = edge.metrics().await;
    assert!(
        metrics.contains("mikomi_rejected_total{code=\"malformed_json\"} 3"),
        "{metrics}"
    );

    // The same edge still stores a good request.
    let response = edge.collect(&good).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(edge.stored_events().await, 1);
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after_and_store_nothing_more() {
    let edge = Edge::start(&EdgeConfig {
        per_ip: (1, 3),
        ..EdgeConfig::default()
    });
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for i in 0..6 {
        let response = edge
            .collect(&page_view(None, &format!("http://site.test/{i}")))
            .await;
        statuses.push(response.status().as_u16());
        if response.status().as_u16() == 429 {
            retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body: Value = response.json().await.expect("JSON");
            assert_eq!(body["error"]["code"], "rate_limited");
        }
    }
    assert_eq!(&statuses[..3], &[200, 200, 200], "{statuses:?}");
    assert!(statuses[3..].iter().all(|s| *s == 429), "{statuses:?}");
    let seconds: u64 = retry_after
        .expect("Retry-After")
        .parse()
        .expect("whole seconds");
    assert!((1..=2).contains(&seconds));
    assert_eq!(edge.stored_events().await, 3);
}

#[tokio::test]
async fn bots_are_answered_and_not_stored() {
    let edge = Edge::start(&EdgeConfig::default());
    let response = edge
        .http
        .post(edge.url("/v1/collect"))
        .header("origin", ORIGIN)
        .header("content-type", "application/json")
        .header("user-agent", "Mozilla/5.0 (compatible; Googlebot/2.1)")
        .body(page_view(None, "http://site.test/").to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(edge.stored_events().await, 0);
}
