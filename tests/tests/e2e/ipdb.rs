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

/// The hot list names only companies it can trust by default: an organisation called a
/// business on weak evidence (a legal form and a small announcement, `--weak-business`) is left
/// out and counted, and shows with `confidence=any`, marked as not confident; the company
/// object says how far its network kind can be trusted. As deployed with an ASN layer first
/// and a domain layer (here a company CSV of networks, names and domains) behind it.
#[tokio::test]
async fn the_hot_list_hides_companies_named_on_weak_evidence_and_says_how_many() {
    let dir = tempfile::tempdir().expect("dir");
    let csv = dir.path().join("asn.csv");
    std::fs::write(
        &csv,
        "127.0.2.0,127.0.2.255,64500,Tanaka Trading Ltd\n\
         127.0.3.0,127.0.3.255,64501,Sakura Precision Manufacturing Co\n",
    )
    .expect("write");
    let domains_csv = dir.path().join("domains.csv");
    std::fs::write(
        &domains_csv,
        "network,name,domain\n127.0.2.0/24,Tanaka Trading,tanaka-trading.example\n127.0.3.0/24,Sakura Precision,sakura-seimitsu.example\n",
    )
    .expect("write");
    let build = |format: &str, extra: &[&str], input: &std::path::Path, output: &str| {
        let output = dir.path().join(output);
        let built = std::process::Command::new(mikomi_tests::edge::ipdb_binary())
            .args(["build", "--format", format])
            .args(extra)
            .arg("--output")
            .arg(&output)
            .arg(input)
            .output()
            .expect("run mikomi-ipdb");
        assert!(built.status.success(), "{built:?}");
        output
    };
    let asn = build("asn", &["--weak-business"], &csv, "asn.mmdb");
    let domains = build("company", &[], &domains_csv, "domains.mmdb");
    let config = EdgeConfig {
        trusted_proxies: vec!["127.0.0.0/8"],
        ipdb_layers: vec![("asn".into(), asn), ("domains".into(), domains)],
        ..EdgeConfig::default()
    };
    let edge = Edge::start(&config);
    let weak = visit_from(&edge, "127.0.2.9").await;
    assert_eq!(weak["company"]["network_kind"], "business", "{weak}");
    assert_eq!(weak["company"]["network_kind_confidence"], "low");
    let strong = visit_from(&edge, "127.0.3.9").await;
    assert_eq!(
        strong["company"]["network_kind_confidence"], "high",
        "{strong}"
    );

    let (status, hot) = edge.api_get("/api/v1/accounts/hot").await;
    assert_eq!(status, 200, "{hot}");
    let names: Vec<&str> = hot["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(names, ["Sakura Precision Manufacturing Co"], "{hot}");
    assert_eq!(hot["hidden_unconfident"], 1);
    assert_eq!(hot["accounts"][0]["confident"], true);

    let (_, all) = edge.api_get("/api/v1/accounts/hot?confidence=any").await;
    assert_eq!(all["accounts"].as_array().map(Vec::len), Some(2), "{all}");
    assert_eq!(all["hidden_unconfident"], 0);
    let tanaka = all["accounts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["name"] == "Tanaka Trading Ltd")
        .expect("listed with confidence=any");
    assert_eq!(tanaka["confident"], false);

    let (status, refused) = edge.api_get("/api/v1/accounts/hot?confidence=some").await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"]["code"], "invalid_confidence");
}
