//! The backend API against its own contract: schemathesis (from PyPI) generates requests from
//! `edge/openapi.json`, valid and invalid, sends them to a real edge and checks every answer
//! against the document, with every check on and no 5xx for any input. Bounded: 30 examples
//! per operation, about ten seconds. Exceptions are in `tests/schemathesis.toml`, each with why.

use std::process::Command;
use std::time::{Duration, Instant};

use mikomi_tests::edge::workspace_root;
use mikomi_tests::{API_KEY, Edge, EdgeConfig, SITE};
use serde_json::json;

#[tokio::test]
async fn the_api_answers_as_its_openapi_document_says() {
    // The configuration owns the data directory: it lives as long as the edge.
    let config = EdgeConfig::default();
    let edge = Edge::start(&config);
    // A person and a visitor to find, so that not everything is a 404.
    let body = json!({"site": SITE, "vid": null, "events": [
        {"type": "conversion", "form": "contact", "url": "http://site.test/contact",
         "fields": {"email": "hanako@northwind.example", "name": "佐藤 花子"}}]});
    assert_eq!(edge.collect(&body).await.status().as_u16(), 200);

    let root = workspace_root();
    let started = Instant::now();
    let output = Command::new("schemathesis")
        .arg("--config-file")
        .arg(root.join("tests/schemathesis.toml"))
        .arg("run")
        .arg(edge.url("/api/v1/openapi.json"))
        .args([
            "--checks",
            "all",
            "--max-examples",
            "30",
            "--request-timeout",
            "10",
        ])
        .args(["--header", &format!("Authorization: Bearer {API_KEY}")])
        .args(["--no-color"])
        // Its cache of found crashes goes to the test's own folder, not the repository.
        .current_dir(config.data_dir.path())
        .output()
        .expect("schemathesis must be installed: pip install schemathesis (cargo xtask test does)");
    let took = started.elapsed();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found failures in {took:?}:\n{report}\n{}\nthe edge's log:\n{}",
        String::from_utf8_lossy(&output.stderr),
        edge.log()
    );
    assert!(took < Duration::from_secs(120), "bounded: {took:?}");
}

/// RFC 9110: a 405 names the methods the resource serves.
#[tokio::test]
async fn method_not_allowed_says_which_are() {
    // The configuration owns the data directory: it lives as long as the edge.
    let config = EdgeConfig::default();
    let edge = Edge::start(&config);
    let cases = [
        (reqwest::Method::DELETE, "/api/v1/sessions", "GET"),
        (
            reqwest::Method::PUT,
            "/api/v1/people/p1",
            "GET, PATCH, DELETE",
        ),
        (reqwest::Method::GET, "/api/v1/tokens", "POST"),
        (reqwest::Method::PUT, "/v1/collect", "POST, OPTIONS"),
        (reqwest::Method::POST, "/healthz", "GET, HEAD"),
    ];
    for (method, path, allow) in cases {
        let response = edge
            .http
            .request(method.clone(), edge.url(path))
            .bearer_auth(API_KEY)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 405, "{method} {path}");
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
    }
}
