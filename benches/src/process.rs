//! Servers under test run as child processes, as in production.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};

pub struct Server {
    child: Child,
    pub address: String,
}

impl Server {
    /// Starts `binary args…` and waits for its "listening on http://ADDR" line. Its log
    /// shows warnings only, unless `MIKOMI_BENCH_LOG` says otherwise (as `MIKOMI_LOG` would,
    /// e.g. `warn,mikomi_edge::store=info` to see snapshots land).
    pub fn start(binary: &Path, args: &[&str]) -> anyhow::Result<Server> {
        Server::start_within(binary, args, Duration::from_secs(30))
    }

    /// As `start`, waiting up to `timeout` for the line (a server under a profiler starts
    /// slowly).
    pub fn start_within(binary: &Path, args: &[&str], timeout: Duration) -> anyhow::Result<Server> {
        let log = std::env::var("MIKOMI_BENCH_LOG").unwrap_or_else(|_| "warn".into());
        let mut child = Command::new(binary)
            .args(args)
            .env("MIKOMI_LOG", log)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("start {}", binary.display()))?;
        let stdout = child.stdout.take().context("piped stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some((_, address)) = line.split_once("listening on http://") {
                    let _ = tx.send(address.trim().to_string());
                }
            }
        });
        match rx.recv_timeout(timeout) {
            Ok(address) => Ok(Server { child, address }),
            Err(_) => {
                let _ = child.kill();
                bail!("{} did not start within {timeout:?}", binary.display())
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The CPU time (user and system, all threads) the server has used so far, where
    /// `/proc` tells (Linux): the difference over a phase is its CPU per request.
    pub fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        cpu_ticks(&stat).map(|ticks| Duration::from_millis(ticks * 1000 / CLOCK_TICKS_PER_SECOND))
    }

    /// Asks the server to stop (SIGTERM, as an init system would) and waits up to `timeout` for
    /// it to exit: a server under a profiler writes its profile then.
    pub fn stop(mut self, timeout: Duration) -> anyhow::Result<()> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .context("run kill")?;
        if !status.success() {
            bail!("kill -TERM {} failed: {status}", self.child.id());
        }
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            match self.child.try_wait()? {
                Some(status) if status.success() => return Ok(()),
                Some(status) => bail!("the server exited with {status}"),
                None => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        bail!("the server did not exit within {timeout:?} of SIGTERM")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident memory of this process, from `/proc/self/status`.
pub fn rss_bytes() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .context("VmRSS in /proc/self/status")?
        .parse()?;
    Ok(kb * 1024)
}

/// `/proc`'s clock tick (USER_HZ), which Linux fixes at 100 on every architecture it exports
/// to user space.
const CLOCK_TICKS_PER_SECOND: u64 = 100;

/// utime + stime from a `/proc/PID/stat` line: fields 14 and 15, counted after the command
/// name (which may hold spaces, so the count starts after its closing parenthesis).
fn cpu_ticks(stat: &str) -> Option<u64> {
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_ticks_are_utime_plus_stime_after_the_command_name() {
        let stat = "4242 (mikomi edge) S 1 4242 4242 0 -1 4194560 2000 0 0 0 350 120 0 0 20 0 6 0";
        assert_eq!(super::cpu_ticks(stat), Some(470));
        assert_eq!(super::cpu_ticks("garbage"), None);
    }
}
