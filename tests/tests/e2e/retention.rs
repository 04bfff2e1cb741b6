//! The retention policy as an operator meets it: an edge started on a store whose visitors went
//! quiet long ago removes them at start (the policy's first pass), keeps the recent ones, and a
//! restart with the policy off does not bring the removed back (their removal went through the
//! log).
//!
//! The edge's clock cannot be moved, so the store is written the way collect writes it, through
//! the edge's own store, with page views received 100 and 2 days ago; the real binary then
//! starts on it.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mikomi_edge::config::Config;
use mikomi_edge::event::{Event, TimedEvent};
use mikomi_edge::metrics::StoreMetrics;
use mikomi_edge::model::Batch;
use mikomi_edge::store::Store;
use mikomi_edge::store::embedded::{EmbeddedOptions, EmbeddedStore};
use mikomi_edge::visitor_id::VisitorIdCodec;
use mikomi_tests::{Edge, EdgeConfig, SITE, TestStore};

const DAY_MS: i64 = 86_400_000;
const SECRET: &str = "retention-test-secret-retention-test-secret";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Writes one anonymous visitor per entry of `ages_days` into the store of the edge configured
/// by `config_path`, under the rules that edge will apply, each with one page view received that
/// many days ago; returns their tokens.
async fn write_visitors(config_path: &Path, ages_days: &[i64]) -> Vec<String> {
    let config = Config::load(config_path).expect("the test configuration");
    let store = EmbeddedStore::open(EmbeddedOptions {
        dir: config.storage.data_dir.join("store"),
        model: mikomi_edge::app::model(&config),
        snapshot_after_bytes: config.storage.snapshot_after_bytes,
        metrics: StoreMetrics::default(),
    })
    .expect("open the store");
    let codec = VisitorIdCodec::new(SECRET.as_bytes());
    let now = now_ms();
    let mut tokens = Vec::new();
    for days in ages_days {
        let (visitor, token) = codec.mint();
        let at = now - days * DAY_MS;
        store
            .record(Batch {
                site: Arc::from(SITE),
                visitor,
                received_ms: at,
                network: None,
                company: None,
                events: vec![TimedEvent {
                    client_ts: Some(at),
                    event: Event::PageView {
                        url: "https://www.example.co.jp/pricing.html".into(),
                        referrer: None,
                        title: Some("料金 | Example".into()),
                    },
                }],
            })
            .await
            .expect("record");
        tokens.push(token);
    }
    store.close().await.expect("close the store");
    tokens
}

/// The metric's value, once the edge reports it at `at_least` (the pass runs just after start).
async fn metric_reaches(edge: &Edge, name: &str, at_least: f64) -> f64 {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let value = edge
            .metrics()
            .await
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
            .unwrap_or(0.0);
        if value >= at_least || std::time::Instant::now() > deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn visitors_quiet_past_the_period_are_removed_at_start_and_stay_removed() {
    // The data folder is the embedded store's, whatever backend the suite runs on.
    let mut config = EdgeConfig {
        store: TestStore::Embedded,
        ..EdgeConfig::default()
    };
    config.server_toml = format!("secret = {SECRET:?}\n");
    // The defaults: anonymous visitors go after 90 days without activity. The configuration is
    // written where the edge will read it, so the store is written under the same rules.
    let config_path = config.data_dir.path().join("edge.toml");
    std::fs::write(&config_path, config.to_toml()).expect("write the configuration");
    let tokens = write_visitors(&config_path, &[100, 100, 100, 2, 2]).await;
    let (old, recent) = tokens.split_at(3);

    let edge = Edge::start(&config);
    let expired = metric_reaches(&edge, "mikomi_retention_expired_visitors", 3.0).await;
    assert_eq!(expired, 3.0, "log:\n{}", edge.log());
    for token in old {
        assert!(
            edge.visitor(token).await.is_none(),
            "{token} is still there"
        );
    }
    for token in recent {
        let visitor = edge.visitor(token).await;
        assert!(visitor.is_some(), "{token} was removed:\n{}", edge.log());
    }

    // Started again with the policy off: the removed stay removed because their removal is in
    // the log, not because a new pass removes them again.
    assert!(edge.terminate().success());
    config.extra_toml = "[retention]\nenabled = false\n".into();
    let edge = Edge::start(&config);
    for token in old {
        assert!(edge.visitor(token).await.is_none(), "{token} came back");
    }
    for token in recent {
        assert!(edge.visitor(token).await.is_some(), "{token} was lost");
    }
}
