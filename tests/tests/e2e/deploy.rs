//! The production files in `deploy/`: the example configuration is one the edge accepts, and the
//! systemd unit is one systemd accepts (checked with `systemd-analyze verify` where it exists).

use std::process::Command;

use mikomi_tests::edge::{edge_binary, workspace_root};

#[test]
fn the_production_configuration_passes_check_config() {
    let config = workspace_root().join("deploy/mikomi.toml");
    let out = Command::new(edge_binary())
        .arg("check-config")
        .arg(&config)
        .output()
        .expect("run check-config");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("ok (1 sites, 1 API keys"), "{stdout}");
}

/// `systemd-analyze verify` checks every directive and that the commands exist, so the unit is
/// checked with the built binary in place of `/usr/local/bin/mikomi-edge`. It exits 0 on
/// directives it ignores and only says so on stderr: any output is a failure.
#[test]
fn the_systemd_unit_verifies() {
    let Ok(found) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("systemd-analyze is not installed: the unit is not verified");
        return;
    };
    assert!(found.status.success());
    let unit = std::fs::read_to_string(workspace_root().join("deploy/mikomi-edge.service"))
        .expect("read the unit");
    for directive in [
        "User=mikomi",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/mikomi",
        "Restart=on-failure",
        "NoNewPrivileges=yes",
    ] {
        assert!(unit.lines().any(|l| l == directive), "{directive} missing");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join("mikomi-edge.service");
    let binary = edge_binary();
    std::fs::write(
        &copy,
        unit.replace("/usr/local/bin/mikomi-edge", &binary.display().to_string()),
    )
    .expect("write the unit");
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&copy)
        .output()
        .expect("run systemd-analyze verify");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
}
