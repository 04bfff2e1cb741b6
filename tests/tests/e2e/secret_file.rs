//! The generated secret survives a crash right after it was written: watched with strace on the
//! real process.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use mikomi_tests::edge::edge_binary;
use mikomi_tests::{EdgeConfig, TestStore};

/// The generated `secret.key` is renamed into place and then its directory is synced: without
/// the directory sync a crash can forget the rename, the next start generates another secret,
/// and every visitor id handed out is void. Watched with strace on the real process.
#[test]
fn the_generated_secret_is_durable_before_the_edge_serves() {
    // The embedded store whatever the suite runs with: with Redis the secret is configured
    // (nodes share it) and nothing is generated.
    let config = EdgeConfig {
        store: TestStore::Embedded,
        ..EdgeConfig::default()
    };
    let config_path = config.data_dir.path().join("edge.toml");
    std::fs::write(&config_path, config.to_toml()).expect("write the configuration");
    let trace = config.data_dir.path().join("trace.txt");
    let mut strace = Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-e",
            "trace=openat,rename,renameat,renameat2,fsync,fdatasync",
        ])
        .arg("-o")
        .arg(&trace)
        .arg(edge_binary())
        .args(["serve", "--config"])
        .arg(&config_path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("strace must be installed for this test (apt-get install strace)");
    let stdout = strace.stdout.take().expect("piped stdout");
    let listening = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.starts_with("mikomi-edge listening on "));
    // The edge is strace's only child: stop it by its own pid. With SIGKILL, as a crash would:
    // what is checked happened before it listened, and a graceful stop under strace once hung
    // (an edge that had just started took SIGTERM and never exited), which is the graceful
    // shutdown tests' business, not this one's.
    let children = std::fs::read_to_string(format!(
        "/proc/{pid}/task/{pid}/children",
        pid = strace.id()
    ))
    .unwrap_or_default();
    for pid in children.split_whitespace() {
        let _ = Command::new("kill").args(["-KILL", pid]).status();
    }
    let _ = strace.wait();
    assert!(listening, "the edge did not start under strace");
    let trace = std::fs::read_to_string(&trace).expect("the trace");
    let dir = config.data_dir.path().display().to_string();
    let lines: Vec<&str> = trace.lines().collect();
    let renamed = lines
        .iter()
        .position(|l| l.contains("rename") && l.contains("secret.key") && !l.contains("= -1"))
        .unwrap_or_else(|| panic!("secret.key was not renamed into place:\n{trace}"));
    // After the rename: the data directory is opened, and that descriptor is synced.
    let opened = format!("\"{dir}\", O_RDONLY");
    let dir_fd = lines[renamed..]
        .iter()
        .find(|l| l.contains("openat(") && l.contains(&opened))
        .and_then(|l| l.rsplit("= ").next())
        .map(str::trim)
        .unwrap_or_else(|| panic!("the data directory was not opened after the rename:\n{trace}"));
    let synced = lines[renamed..]
        .iter()
        .any(|l| l.contains(&format!("fsync({dir_fd})")));
    assert!(
        synced,
        "the data directory was not synced after the rename:\n{trace}"
    );
}
