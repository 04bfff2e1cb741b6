//! The real edge under strace until it listens: what it did to files before it served.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::edge::{EdgeConfig, edge_binary};

/// Starts the edge on `config` under `strace -f -e trace=<syscalls>`, waits until it listens,
/// then ends it with SIGKILL, as a crash would: what is checked happened before it listened. (A
/// graceful stop under strace once hung, which is the graceful shutdown tests' business.)
/// Returns the trace; fails the test if the edge did not start.
pub fn until_listening(config: &EdgeConfig, syscalls: &str) -> String {
    let config_path = config.data_dir.path().join("edge.toml");
    std::fs::write(&config_path, config.to_toml()).expect("write the configuration");
    let trace = config.data_dir.path().join("trace.txt");
    let mut strace = Command::new("strace")
        .args(["-f", "-qq", "-e", &format!("trace={syscalls}")])
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
    // The edge is strace's only child: stop it by its own pid.
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
    std::fs::read_to_string(&trace).expect("the trace")
}

/// The descriptor `openat` returned on the first line after `from` that opens `dir` read-only,
/// and whether that descriptor is then `fsync`ed: a directory sync.
pub fn dir_synced_after(lines: &[&str], from: usize, dir: &str) -> Result<(), String> {
    let opened = format!("\"{dir}\", O_RDONLY");
    let fd = lines[from..]
        .iter()
        .find(|l| l.contains("openat(") && l.contains(&opened))
        .and_then(|l| l.rsplit("= ").next())
        .map(str::trim)
        .ok_or_else(|| format!("{dir} was not opened"))?;
    if lines[from..]
        .iter()
        .any(|l| l.contains(&format!("fsync({fd})")))
    {
        Ok(())
    } else {
        Err(format!("{dir} was opened as {fd} but not synced"))
    }
}
