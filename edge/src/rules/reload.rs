//! Rules reload without a restart: at once on SIGHUP, and when the configuration file changes
//! (checked every `[popups] reload_check`). A file that does not load is refused with its line
//! and reason, in the log and in `GET /api/v1/rules/stats`, and the old rules keep serving.
//! Rules and popups are reloaded, and whoever started the watch is handed the configuration the
//! new rules came from (the edge takes its API keys and the console's users from it); other
//! settings need a restart.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::clock::Clock;
use crate::config::Config;
use crate::metrics::{ReloadResult, RulesMetrics};

use super::Rules;

/// What identifies a version of the file without reading it.
fn stamp(path: &PathBuf) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Watches the file until `stop` says so.
pub async fn run(
    rules: Arc<Rules>,
    metrics: RulesMetrics,
    clock: Arc<dyn Clock>,
    path: PathBuf,
    every: Duration,
    on_reload: impl Fn(&Config) + Send + 'static,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    metrics.loaded.set(rules.status().rules as i64);
    let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(signal) => Some(signal),
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGHUP; rules reload on file changes only");
            None
        }
    };
    {
        let mut seen = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || stamp(&path))
                .await
                .ok()
                .flatten()
        };
        let mut tick = tokio::time::interval(every.max(Duration::from_millis(100)));
        tick.tick().await;
        loop {
            let forced = tokio::select! {
                _ = tick.tick() => false,
                Some(()) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => true,
                _ = stop.wait_for(|stop| *stop) => return,
            };
            let file = path.clone();
            let now_stamp = tokio::task::spawn_blocking(move || stamp(&file))
                .await
                .ok()
                .flatten();
            if !forced && now_stamp == seen {
                continue;
            }
            seen = now_stamp;
            let file = path.clone();
            let Ok(loaded) = tokio::task::spawn_blocking(move || super::load(&file)).await else {
                continue;
            };
            let (config, loaded) = match loaded {
                Ok((config, set)) => (Some(config), Ok(set)),
                Err(e) => (None, Err(e)),
            };
            match rules.reload(loaded, clock.now_ms()) {
                Ok(count) => {
                    if let Some(config) = &config {
                        on_reload(config);
                    }
                    metrics
                        .reloads
                        .get_or_create(&ReloadResult { result: "ok" })
                        .inc();
                    metrics.loaded.set(count as i64);
                    tracing::info!(forced, rules = count, "popup rules reloaded");
                }
                Err(reason) => {
                    metrics
                        .reloads
                        .get_or_create(&ReloadResult { result: "refused" })
                        .inc();
                    tracing::error!(%reason, "popup rules reload refused; the old rules keep serving");
                }
            }
        }
    }
}
