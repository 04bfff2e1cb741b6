//! Retention soak: visitors arrive over simulated days into the embedded store, the way collect
//! stores them, and the retention policy runs once a simulated day as the edge runs it (search,
//! then expiry records through the log). Prints, per simulated month, the visitors held,
//! resident memory and the data directory's size: with retention they level off, without it
//! they grow with all traffic ever.
//!
//! Run with `cargo xtask bench-retention` (both modes, one after the other, each in its own
//! process). Options: `--retention on|off`, `--visitors N` (arrivals in all, default 2,000,000),
//! `--days N` (default 400), `--anonymous-days N` (default 90).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use mikomi_benches::process::rss_bytes;
use mikomi_edge::engine::Model;
use mikomi_edge::event::{Event, TimedEvent};
use mikomi_edge::metrics::StoreMetrics;
use mikomi_edge::model::{Batch, SessionRules, truncate_ip};
use mikomi_edge::retention::Policy;
use mikomi_edge::scoring::ScoringRules;
use mikomi_edge::store::Store;
use mikomi_edge::store::embedded::{EmbeddedOptions, EmbeddedStore};
use mikomi_edge::visitor_id::{VisitorId, VisitorIdCodec};

const WRITERS: usize = 128;
const DAY_MS: i64 = 86_400_000;
/// Simulated day 0.
const START_MS: i64 = 1_700_000_000_000;
/// One visitor in this many comes back within the next month.
const RETURNING_ONE_IN: usize = 5;

struct Options {
    retention: bool,
    visitors: usize,
    days: usize,
    anonymous_days: i64,
}

fn options() -> anyhow::Result<Options> {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| args.iter().position(|a| a == name).map(|i| args.get(i + 1));
    let number = |name: &str, default: usize| -> anyhow::Result<usize> {
        match value(name) {
            Some(Some(v)) => v.parse().with_context(|| format!("{name} takes a number")),
            Some(None) => anyhow::bail!("{name} takes a number"),
            None => Ok(default),
        }
    };
    let retention = match value("--retention") {
        None => true,
        Some(Some(v)) if v == "on" => true,
        Some(Some(v)) if v == "off" => false,
        _ => anyhow::bail!("--retention takes on or off"),
    };
    Ok(Options {
        retention,
        visitors: number("--visitors", 2_000_000)?,
        days: number("--days", 400)?,
        anonymous_days: number("--anonymous-days", 90)? as i64,
    })
}

fn main() -> anyhow::Result<()> {
    let options = options()?;
    let dir = tempfile::Builder::new()
        .prefix("retention-bench-")
        .tempdir_in(std::env::current_dir()?)?;
    let policy = Policy {
        anonymous_ms: options.anonymous_days * DAY_MS,
        people_ms: 760 * DAY_MS,
        events_ms: 400 * DAY_MS,
        keep_stages: Vec::new(),
    };
    let per_day = options.visitors.div_ceil(options.days);
    println!(
        "retention {}: {} visitors over {} simulated days ({per_day} a day, one in {RETURNING_ONE_IN} back within a month), anonymous visitors kept {} days\n",
        if options.retention { "on" } else { "off" },
        options.visitors,
        options.days,
        options.anonymous_days
    );
    println!(
        "| month | visitors held | expired so far | RSS | data directory | day's traffic | retention pass |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let store = Arc::new(open(dir.path())?);
        let codec = Arc::new(VisitorIdCodec::new(b"retention benchmark secret"));
        // Visitors of the last month, who may come back.
        let mut recent: Vec<(usize, VisitorId)> = Vec::new();
        let mut expired = 0usize;
        let mut arrived = 0usize;
        let mut day_work = std::time::Duration::ZERO;
        let mut pass_work = std::time::Duration::ZERO;
        let mut days_in_month = 0u32;
        for day in 0..options.days {
            let started = Instant::now();
            let day_ms = START_MS + day as i64 * DAY_MS;
            let count = per_day.min(options.visitors - arrived);
            let new: Vec<VisitorId> = (0..count).map(|_| codec.mint().0).collect();
            // Returning visitors: those who arrived 1 to 30 days ago, one in five.
            let back: Vec<VisitorId> = recent
                .iter()
                .filter(|(d, v)| {
                    day - d == 1 + (v.0[0] as usize % 30)
                        && (v.0[1] as usize).is_multiple_of(RETURNING_ONE_IN)
                })
                .map(|(_, v)| *v)
                .collect();
            let mut all: Vec<VisitorId> = new.clone();
            all.extend(back);
            store_day(&store, &all, day_ms, arrived).await?;
            day_work += started.elapsed();
            let started = Instant::now();
            arrived += count;
            recent.extend(new.into_iter().map(|v| (day, v)));
            recent.retain(|(d, _)| day - d < 31);
            if options.retention {
                let now = day_ms + DAY_MS - 1;
                let records = store.engine().expired(&policy, now);
                for record in records {
                    expired += record.visitors.len();
                    store
                        .admin(mikomi_edge::model::record::AdminOp::Expire(Box::new(
                            record,
                        )))
                        .await?;
                }
            }
            pass_work += started.elapsed();
            days_in_month += 1;
            if (day + 1) % 30 == 0 || day + 1 == options.days {
                println!(
                    "| {} | {} | {} | {:.0} MiB | {:.0} MiB | {:.2} s | {:.0} ms |",
                    (day + 1).div_ceil(30),
                    store.stats().visitors,
                    expired,
                    rss_bytes()? as f64 / 1048576.0,
                    dir_bytes(dir.path())? as f64 / 1048576.0,
                    day_work.as_secs_f64() / f64::from(days_in_month),
                    pass_work.as_secs_f64() * 1000.0 / f64::from(days_in_month),
                );
                days_in_month = 0;
                day_work = std::time::Duration::ZERO;
                pass_work = std::time::Duration::ZERO;
            }
        }
        store.close().await?;
        anyhow::Ok(())
    })?;
    println!(
        "\n(`day's traffic`: wall time to store a simulated day's page views; `retention pass`: the day's search and expiry records; both averaged over the month's days)"
    );
    Ok(())
}

/// One simulated day's page views, spread over the day, by `WRITERS` concurrent writers.
async fn store_day(
    store: &Arc<EmbeddedStore>,
    visitors: &[VisitorId],
    day_ms: i64,
    offset: usize,
) -> anyhow::Result<()> {
    let visitors: Arc<Vec<VisitorId>> = Arc::new(visitors.to_vec());
    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let store = Arc::clone(store);
        let visitors = Arc::clone(&visitors);
        tasks.push(tokio::spawn(async move {
            let step = DAY_MS / visitors.len().max(1) as i64;
            for i in (writer..visitors.len()).step_by(WRITERS) {
                let at = day_ms + i as i64 * step;
                store.record(batch(visitors[i], offset + i, at)).await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}

fn open(dir: &Path) -> anyhow::Result<EmbeddedStore> {
    Ok(EmbeddedStore::open(EmbeddedOptions {
        dir: dir.to_path_buf(),
        model: Model {
            sessions: SessionRules {
                timeout_ms: 30 * 60 * 1000,
                max_sessions: 100,
                max_events_per_session: 200,
            },
            scoring: ScoringRules::default(),
            key_pages: Vec::new(),
            webhooks: false,
        },
        snapshot_after_bytes: 64 * 1024 * 1024,
        metrics: StoreMetrics::default(),
    })?)
}

/// A page view as collect would store it.
fn batch(visitor: VisitorId, n: usize, at_ms: i64) -> Batch {
    let ip = std::net::IpAddr::from([127, (n >> 16) as u8, (n >> 8) as u8, n as u8]);
    Batch {
        site: Arc::from("demo"),
        visitor,
        received_ms: at_ms,
        network: Some(truncate_ip(ip)),
        company: None,
        events: vec![TimedEvent {
            client_ts: Some(at_ms),
            event: Event::PageView {
                url: "https://www.example.co.jp/product/overview?utm_source=newsletter".into(),
                referrer: Some("https://www.google.com/".into()),
                title: Some("製品概要 | Example".into()),
            },
        }],
    }
}

fn dir_bytes(dir: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            dir_bytes(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}
