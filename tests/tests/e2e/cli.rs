//! The command line: `check-config` points at the broken line; `--version` answers.

use std::process::Command;

use mikomi_tests::edge::{edge_binary, workspace_root};

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
