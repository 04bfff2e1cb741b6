//! A Redis node's spool is a file that must survive a crash from the moment it exists: watched
//! with strace on the real process.

use mikomi_tests::trace;
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
    let trace = trace::until_listening(&config, "openat,fsync,fdatasync");
    let lines: Vec<&str> = trace.lines().collect();
    let created = lines
        .iter()
        .position(|l| l.contains("openat(") && l.contains("spool-003.log") && l.contains("O_CREAT"))
        .unwrap_or_else(|| panic!("the spool file was not created:\n{trace}"));
    let dir = config.data_dir.path().join("spool").display().to_string();
    if let Err(why) = trace::dir_synced_after(&lines, created, &dir) {
        panic!("after the spool file was created, {why}:\n{trace}");
    }
}
