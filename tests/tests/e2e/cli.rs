//! The command line: `check-config` points at the broken line; `--version` answers; an id
//! that starts with `-` is an id, not a flag.

use std::process::Command;

use mikomi_tests::edge::{Edge, EdgeConfig, edge_binary, page_view, workspace_root};

#[test]
fn check_config_accepts_the_demo_and_names_the_broken_line() {
    let demo = workspace_root().join("demo/mikomi.toml");
    let ok = Command::new(edge_binary())
        .arg("check-config")
        .arg(&demo)
        .output()
        .expect("run");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("ok"));

    let dir = tempfile::tempdir().expect("tempdir");
    let broken = dir.path().join("broken.toml");
    std::fs::write(
        &broken,
        "[server]\nlisten = \"127.0.0.1:8080\"\n\n[[sites]]\nkey = \"demo\"\norigins = [\"www.example.jp\"]\n",
    )
    .expect("write");
    let out = Command::new(edge_binary())
        .arg("check-config")
        .arg(&broken)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!("{}:6:", broken.display());
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(
        stderr.contains("sites.origins") && stderr.contains("http://"),
        "{stderr}"
    );
}

#[test]
fn serve_refuses_a_broken_config_before_binding() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "[[sites]]\nkey = \"demo\"\norigins = [\"http://a\"]\n[limits]\nmax_events_per_request = \"many\"\n").expect("write");
    let out = Command::new(edge_binary())
        .args(["serve", "--config"])
        .arg(&broken)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(":5:") && stderr.contains("limits.max_events_per_request"),
        "{stderr}"
    );
}

#[test]
fn version_is_printed() {
    let out = Command::new(edge_binary())
        .arg("--version")
        .output()
        .expect("run");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("mikomi-edge {}", env!("CARGO_PKG_VERSION"))
    );
}

/// Collects page views of fresh visitors until their ids start with each of `-` and `_` (one
/// id in 64 starts with either), and asks `explain` about them: the id after `--vid` is taken as
/// the value even when it looks like a flag.
#[tokio::test]
async fn explain_takes_visitor_ids_that_start_with_a_dash_or_an_underscore() {
    let config = EdgeConfig::default();
    let edge = Edge::start(&config);
    let url = "http://site.test/demo/faq.html";
    let mut wanted = vec!['-', '_'];
    let mut found = Vec::new();
    // Expected about 100 views; 5,000 misses both only with probability below 1e-30.
    for _ in 0..5_000 {
        let response = edge.collect(&page_view(None, url)).await;
        assert_eq!(response.status().as_u16(), 200);
        let body: serde_json::Value = response.json().await.expect("JSON");
        let vid = body["vid"].as_str().expect("a visitor id").to_string();
        if let Some(at) = wanted.iter().position(|c| vid.starts_with(*c)) {
            wanted.remove(at);
            found.push(vid);
        }
        if wanted.is_empty() {
            break;
        }
    }
    assert!(wanted.is_empty(), "no visitor id started with {wanted:?}");
    for vid in found {
        let output = Command::new(edge_binary())
            .args(["explain", "--config"])
            .arg(edge.config_path())
            .args(["--vid", &vid, "--url", url, "--edge", &edge.base])
            .output()
            .expect("run explain");
        assert!(
            output.status.success(),
            "explain --vid {vid}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// A SIGTERM the moment the edge says it listens stops it gracefully (exit 0): the signal is
/// caught from before that line, not only once the accept loop first waits (under load, a
/// signal in between used to kill the process).
#[test]
fn a_sigterm_right_after_listening_is_a_graceful_stop() {
    for _ in 0..5 {
        let edge = Edge::start(&EdgeConfig::default());
        let status = edge.terminate();
        assert!(status.success(), "{status}");
    }
}
