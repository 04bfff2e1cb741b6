//! API keys follow the configuration file: a revoked key stops working when the rules reload,
//! without a restart.

use std::time::{Duration, Instant};

use mikomi_tests::{API_KEY, Edge, EdgeConfig};

async fn status_with(edge: &Edge, key: &str) -> u16 {
    edge.http
        .get(edge.url("/api/v1/sessions?identified=true"))
        .bearer_auth(key)
        .send()
        .await
        .expect("API request")
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_revoked_key_stops_working_on_reload() {
    let config = EdgeConfig::default();
    let edge = Edge::start(&config);
    let new_key = "the-next-api-key-0123456789abcdef";
    assert_eq!(status_with(&edge, API_KEY).await, 200);
    assert_eq!(status_with(&edge, new_key).await, 401);

    let text = std::fs::read_to_string(edge.config_path()).expect("the configuration");
    assert!(text.contains(API_KEY));
    std::fs::write(edge.config_path(), text.replace(API_KEY, new_key)).expect("rewrite");
    edge.hangup();
    let deadline = Instant::now() + Duration::from_secs(10);
    while status_with(&edge, new_key).await != 200 {
        assert!(
            Instant::now() < deadline,
            "the new key was not taken: {}",
            edge.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status_with(&edge, API_KEY).await, 401, "the revoked key");
}
