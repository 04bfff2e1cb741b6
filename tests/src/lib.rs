//! Harness for the end-to-end tests: the real `mikomi-edge` binary as a child process, real
//! HTTP over loopback, and helpers to read back what it stored.

pub mod alerting;
pub mod console;
pub mod edge;
pub mod receiver;
pub mod redis_contents;
pub mod site;
pub mod smtp;
pub mod trace;

/// Real `redis-server` processes (the same crate the edge's own store tests use).
pub use mikomi_test_redis as redis;

pub use edge::{Edge, EdgeConfig, TestStore};

/// The API key every test configuration carries.
pub const API_KEY: &str = "test-api-key-0123456789abcdef";
/// The origin test pages pretend to be on.
pub const ORIGIN: &str = "http://site.test";
/// The site key of the test configuration.
pub const SITE: &str = "test";
/// A browser user agent: the edge ignores bots.
pub const BROWSER_UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";

/// Waits until a load's `counter` reaches `at_least`, failing the test if that takes longer
/// than `within`: a stalled load is a finding, not a hang.
pub async fn wait_for_count(
    counter: &std::sync::atomic::AtomicUsize,
    at_least: usize,
    within: std::time::Duration,
) {
    let deadline = std::time::Instant::now() + within;
    while counter.load(std::sync::atomic::Ordering::SeqCst) < at_least {
        assert!(
            std::time::Instant::now() < deadline,
            "the load stalled below {at_least} within {within:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}

/// Every file under `dir`, at any depth: what a test searches for bytes that must be gone.
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}
