//! `/metrics` and `/healthz` are for operators: per-rule funnels, visitor counts and the store's
//! reasons are not for anyone who can reach the public listener.

use mikomi_tests::edge::METRICS_TOKEN;
use mikomi_tests::{Edge, EdgeConfig};
use serde_json::Value;

async fn get(edge: &Edge, base: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let mut request = edge.http.get(format!("{base}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[tokio::test]
async fn the_public_listener_needs_the_metrics_token() {
    // The configuration owns the data directory: it lives as long as the edge.
    let config = EdgeConfig::default();
    let edge = Edge::start(&config);
    let base = edge.base.clone();
    let (status, anonymous) = get(&edge, &base, "/healthz", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        json(&anonymous),
        serde_json::json!({"status": "ok"}),
        "no reasons, no stats"
    );
    let (status, full) = get(&edge, &base, "/healthz", Some(METRICS_TOKEN)).await;
    assert_eq!(status, 200);
    assert!(json(&full)["store"]["stats"]["events"].is_u64(), "{full}");
    let wrong = "not-the-metrics-token-0123456789";
    assert_eq!(
        json(&get(&edge, &base, "/healthz", Some(wrong)).await.1)
            .as_object()
            .map(|o| o.len()),
        Some(1)
    );

    assert_eq!(get(&edge, &base, "/metrics", None).await.0, 401);
    assert_eq!(get(&edge, &base, "/metrics", Some(wrong)).await.0, 401);
    let (status, metrics) = get(&edge, &base, "/metrics", Some(METRICS_TOKEN)).await;
    assert_eq!(status, 200);
    assert!(metrics.contains("mikomi_visitors"), "{metrics}");
}

#[tokio::test]
async fn the_admin_listener_serves_only_the_operator_routes() {
    let config = EdgeConfig {
        metrics_token: None,
        server_toml: "admin_listen = \"127.0.0.1:0\"\n".into(),
        ..EdgeConfig::default()
    };
    let edge = Edge::start(&config);
    let public = edge.base.clone();
    let admin = edge
        .admin_base
        .clone()
        .expect("the admin listener's address");
    assert_ne!(admin, public);
    // Without a token, the public listener has no metrics at all, and a terse health.
    assert_eq!(get(&edge, &public, "/metrics", None).await.0, 404);
    assert_eq!(
        get(&edge, &public, "/metrics", Some(METRICS_TOKEN)).await.0,
        404
    );
    let (_, terse) = get(&edge, &public, "/healthz", None).await;
    assert_eq!(json(&terse), serde_json::json!({"status": "ok"}));
    // The admin listener: both, in full, and nothing else.
    let (status, metrics) = get(&edge, &admin, "/metrics", None).await;
    assert_eq!(status, 200);
    assert!(metrics.contains("mikomi_visitors"), "{metrics}");
    let (_, full) = get(&edge, &admin, "/healthz", None).await;
    assert!(json(&full)["store"]["stats"].is_object(), "{full}");
    for path in ["/api/v1/openapi.json", "/t.js", "/v1/collect", "/"] {
        assert_eq!(get(&edge, &admin, path, None).await.0, 404, "{path}");
    }
}
