//! The generated secret survives a crash right after it was written: watched with strace on the
//! real process.

use mikomi_tests::trace;
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
    let trace = trace::until_listening(&config, "openat,rename,renameat,renameat2,fsync,fdatasync");
    let lines: Vec<&str> = trace.lines().collect();
    let renamed = lines
        .iter()
        .position(|l| l.contains("rename") && l.contains("secret.key") && !l.contains("= -1"))
        .unwrap_or_else(|| panic!("secret.key was not renamed into place:\n{trace}"));
    // After the rename: the data directory is opened, and that descriptor is synced.
    let dir = config.data_dir.path().display().to_string();
    if let Err(why) = trace::dir_synced_after(&lines, renamed, &dir) {
        panic!("after the rename, {why}:\n{trace}");
    }
}
