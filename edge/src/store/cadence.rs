//! When a store takes its next snapshot, and how fast it writes it: the same rules for both
//! stores.
//!
//! A snapshot costs as much as the whole state. Taken every fixed amount of log however large
//! the state, its cost per record grows with the state: under load a 170 MB embedded state was
//! rewritten every 13 s, and a 70 MB state went through Redis's append-only file (holding up
//! every node's appends) as often. Waiting also for as much log as the last snapshot held keeps
//! the cost per record constant, and a restart replays at most that much log.

/// Whether the log since the last snapshot calls for the next one: `since` (in the unit the
/// store is configured in: bytes of log for the embedded store, records for Redis) has reached
/// `configured`, and the `log_bytes` written since are at least the `last_snapshot_bytes` that
/// snapshot held (0 before the first).
pub fn snapshot_due(since: u64, configured: u64, log_bytes: u64, last_snapshot_bytes: u64) -> bool {
    since >= configured && log_bytes >= last_snapshot_bytes
}

/// How a snapshot shares the machine (and, for Redis, the server) with the requests beside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// As fast as it can: nothing else needs the machine (start-up, shutdown, a migration), or
    /// a caller waits for it (an erasure's compaction).
    Full,
    /// Beside live traffic: after each step (a megabyte encoded and written, a chunk sent) it
    /// rests as long as the step took, so that it takes at most half of what it runs on. A
    /// full-speed snapshot takes a whole core for as long as it runs (and a single Redis for
    /// every chunk it stores); on a two-core machine at half load, requests queued behind it for
    /// 100–150 ms.
    Background,
}

impl Pace {
    /// The rest after a step that took `step`.
    pub fn rest_after(self, step: std::time::Duration) -> std::time::Duration {
        match self {
            Pace::Full => std::time::Duration::ZERO,
            Pace::Background => step,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Pace, snapshot_due};
    use std::time::Duration;

    #[test]
    fn a_background_snapshot_rests_as_long_as_it_works() {
        let step = Duration::from_millis(7);
        assert_eq!(Pace::Background.rest_after(step), step);
        assert_eq!(Pace::Full.rest_after(step), Duration::ZERO);
    }

    const MIB: u64 = 1 << 20;

    #[test]
    fn the_configured_amount_is_the_lower_bound() {
        assert!(!snapshot_due(63 * MIB, 64 * MIB, 63 * MIB, 0));
        assert!(snapshot_due(64 * MIB, 64 * MIB, 64 * MIB, 0));
        assert!(snapshot_due(64 * MIB, 64 * MIB, 64 * MIB, 10 * MIB));
        assert!(!snapshot_due(99_999, 100_000, 200 * MIB, 0));
        assert!(snapshot_due(100_000, 100_000, MIB, 0));
    }

    #[test]
    fn a_large_state_waits_for_as_much_log_as_it_holds() {
        assert!(!snapshot_due(100 * MIB, 64 * MIB, 100 * MIB, 170 * MIB));
        assert!(snapshot_due(170 * MIB, 64 * MIB, 170 * MIB, 170 * MIB));
        assert!(!snapshot_due(100_000, 100_000, 40 * MIB, 70 * MIB));
        assert!(snapshot_due(300_000, 100_000, 70 * MIB, 70 * MIB));
    }
}
