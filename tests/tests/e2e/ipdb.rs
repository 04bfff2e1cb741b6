//! Company resolution inside the edge, on MaxMind's real test databases: the answer is kept on
//! the visitor, a corrupt file stops start-up with its name, a bad reload keeps the old file.

use std::path::PathBuf;
use std::time::Duration;

use mikomi_tests::edge::{page_view, test_data};
use mikomi_tests::{Edge, EdgeConfig, ORIGIN};
use serde_json::Value;

fn enterprise_test_db() -> PathBuf {
    test_data().join("maxmind-test-data/test-data/GeoIP2-Enterprise-Test.mmdb")
}

/// A collect from `ip` (forwarded by a trusted proxy); returns the stored visitor.
async fn visit_from(edge: &Edge, ip: &str) -> Value {
    let response = edge
        .http
        .post(edge.url("/v1/collect"))
        .header("origin", ORIGIN)
        .header("content-type", "application/json")
        .header("x-forwarded-for", ip)
        .body(page_view(None, "http://site.test/").to_string())
        .send()
        .await
        .expect("collect");
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.expect("JSON");
    edge.visitor(body["vid"].as_str().expect("vid"))
        .await
        .expect("stored")
}

#[tokio::test]
async fn the_company_behind_the_address_is_kept_on_the_visitor() {
    let edge = Edge::start(&EdgeConfig {
        trusted_proxies: vec!["127.0.0.0/8"],
        ipdb_layers: vec![("enterprise".into(), enterprise_test_db())],
        ..EdgeConfig::default()
    });
    let visitor = visit_from(&edge, "214.78.0.17").await;
    let company = &visitor["company"];
    assert_eq!(company["name"], "US Department of Defense", "{visitor}");
    assert_eq!(company["source"], "enterprise");
    assert_eq!(company["network"], "214.78.0.0/23");
    assert_eq!(
        visitor["network"], "214.78.0.0/24",
        "the address itself is not kept"
    );

    let unknown = visit_from(&edge, "192.0.2.1").await;
    assert!(unknown["company"].is_null(), "{unknown}");
}

#[test]
fn a_corrupt_database_stops_start_up_and_names_the_file() {
    let bad = test_data()
        .join("maxmind-test-data/bad-data/libmaxminddb/libmaxminddb-corrupt-search-tree.mmdb");
    let missing = PathBuf::from("/nonexistent/companies.mmdb");
    for path in [bad, missing] {
        let said = Edge::expect_start_failure(&EdgeConfig {
            ipdb_layers: vec![("companies".into(), path.clone())],
            ..EdgeConfig::default()
        });
        assert!(said.contains("ipdb"), "{said}");
        assert!(said.contains(&path.display().to_string()), "{said}");
    }
}

#[tokio::test]
async fn a_broken_replacement_is_refused_and_the_old_file_keeps_serving() {
    let config = EdgeConfig {
        trusted_proxies: vec!["127.0.0.0/8"],
        ..EdgeConfig::default()
    };
    let live = config.data_dir.path().join("companies.mmdb");
    std::fs::copy(enterprise_test_db(), &live).expect("copy");
    let config = EdgeConfig {
        ipdb_layers: vec![("companies".into(), live.clone())],
        ..config
    };
    let edge = Edge::start(&config);
    assert_eq!(
        visit_from(&edge, "214.78.0.17").await["company"]["name"],
        "US Department of Defense"
    );

    std::fs::write(&live, b"this is not a MaxMind database").expect("overwrite");
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &edge.pid().to_string()])
        .status()
        .expect("kill -HUP");
    assert!(hup.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !edge.log().contains("reload refused") {
        assert!(
            std::time::Instant::now() < deadline,
            "no reload attempt logged:\n{}",
            edge.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Another address of the same network: not answered from the lookup cache.
    assert_eq!(
        visit_from(&edge, "214.78.1.5").await["company"]["name"],
        "US Department of Defense",
        "the old database still answers"
    );
}
