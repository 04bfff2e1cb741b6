//! A Redis node's spool is a file that must survive a crash from the moment it exists: watched
//! with strace on the real process.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use mikomi_tests::edge::edge_binary;
use mikomi_tests::{EdgeConfig, TestStore};

/// The spool file is created when the node opens its store, before it serves; its directory is
/// synced after that, or a crash could forget the file together with records acknowledged
/// into it during an outage.
#[test]
fn the_spool_file_is_durable_from_its_creation() {
    let config = EdgeConfig {
        store: TestStore::Redis(Default::default()),
        ..EdgeConfig::default()
    };
    config.redis().expect("a redis of its own");
    let config_path = config.data_dir.path().join("edge.toml");
    std::fs::write(&config_path, config.to_toml()).expect("write the configuration");
    let trace = config.data_dir.path().join("trace.txt");
    let mut strace = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=openat,fsync,fdatasync"])
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
    // As in the secret file's test: what is checked happened before the edge listened, so a
    // crash (SIGKILL) ends it.
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
    let lines: Vec<&str> = trace.lines().collect();
    let created = lines
        .iter()
        .position(|l| l.contains("openat(") && l.contains("spool-003.log") && l.contains("O_CREAT"))
        .unwrap_or_else(|| panic!("the spool file was not created:\n{trace}"));
    let dir = config.data_dir.path().join("spool").display().to_string();
    let opened = format!("\"{dir}\", O_RDONLY");
    let dir_fd = lines[created..]
        .iter()
        .find(|l| l.contains("openat(") && l.contains(&opened))
        .and_then(|l| l.rsplit("= ").next())
        .map(str::trim)
        .unwrap_or_else(|| {
            panic!("the spool directory was not opened after the file was created:\n{trace}")
        });
    assert!(
        lines[created..]
            .iter()
            .any(|l| l.contains(&format!("fsync({dir_fd})"))),
        "the spool directory was not synced after the file was created:\n{trace}"
    );
}
