//! CPU time the hypervisor took from this machine ("steal"), read from `/proc/stat`: on a shared
//! virtual machine a neighbour's load can take a third of the cores for tens of seconds, and a
//! benchmark run then measures the neighbour. A phase reports how much was taken while it was
//! measured, and each slow second how much was taken in it, so a stall of the host is told
//! apart from a stall of the server.

use std::time::{Duration, Instant};

/// Cumulative CPU time counters of all cores, in clock ticks.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CpuTimes {
    pub total: u64,
    pub steal: u64,
}

impl CpuTimes {
    /// The machine's counters now; `None` where `/proc/stat` is not there (not Linux).
    pub fn now() -> Option<CpuTimes> {
        parse_stat(&std::fs::read_to_string("/proc/stat").ok()?)
    }

    /// The share of CPU time stolen between `self` and the later reading `later` (0..=1).
    pub fn stolen_until(self, later: CpuTimes) -> f64 {
        let total = later.total.saturating_sub(self.total);
        if total == 0 {
            return 0.0;
        }
        later.steal.saturating_sub(self.steal) as f64 / total as f64
    }
}

/// The first line of `/proc/stat`: `cpu user nice system idle iowait irq softirq steal …`
/// (guest time is already inside user time, so it is not added again).
fn parse_stat(text: &str) -> Option<CpuTimes> {
    let line = text.lines().next()?;
    let mut fields = line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let values: Vec<u64> = fields
        .take(8)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    if values.len() < 8 {
        return None;
    }
    Some(CpuTimes {
        total: values.iter().sum(),
        steal: values[7],
    })
}

/// The share stolen in each whole second from `from` to `until`, read once a second (the
/// first entry is the first second). Empty where the counters cannot be read.
pub async fn per_second(from: Instant, until: Instant) -> Vec<f64> {
    tokio::time::sleep_until(from.into()).await;
    let Some(mut last) = CpuTimes::now() else {
        return Vec::new();
    };
    let mut shares = Vec::new();
    let mut tick = from;
    while tick + Duration::from_secs(1) <= until {
        tick += Duration::from_secs(1);
        tokio::time::sleep_until(tick.into()).await;
        let Some(now) = CpuTimes::now() else { break };
        shares.push(last.stolen_until(now));
        last = now;
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_steal_column_of_the_cpu_line() {
        let stat = "cpu  241697 169 48335 125915 7352 0 7778 20031 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n";
        let times = parse_stat(stat).expect("parses");
        assert_eq!(times.steal, 20031);
        assert_eq!(
            times.total,
            241697 + 169 + 48335 + 125915 + 7352 + 7778 + 20031
        );
    }

    #[test]
    fn the_share_is_stolen_ticks_over_all_ticks() {
        let before = CpuTimes {
            total: 1000,
            steal: 10,
        };
        let after = CpuTimes {
            total: 1200,
            steal: 60,
        };
        assert!((before.stolen_until(after) - 0.25).abs() < 1e-9);
        assert_eq!(before.stolen_until(before), 0.0);
    }

    #[test]
    fn a_text_that_is_not_the_stat_file_reads_as_nothing() {
        assert_eq!(parse_stat(""), None);
        assert_eq!(parse_stat("intr 1 2 3"), None);
        assert_eq!(parse_stat("cpu 1 2 x 4 5 6 7 8"), None);
        assert_eq!(parse_stat("cpu 1 2 3"), None);
    }
}
