//! Memory per idle visitor: stores 1,000,000 distinct visitors (one page view each) in the
//! embedded store, the way collect does, and prints resident memory per visitor. Then closes
//! (final snapshot) and reopens the store to show recovery time at that size.
//!
//! Run with `cargo xtask bench-memory`; `--visitors N` changes the count.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use mikomi_benches::process::rss_bytes;
use mikomi_edge::engine::Model;
use mikomi_edge::event::{Event, TimedEvent};
use mikomi_edge::metrics::StoreMetrics;
use mikomi_edge::model::{Batch, SessionRules, truncate_ip};
use mikomi_edge::scoring::ScoringRules;
use mikomi_edge::store::Store;
use mikomi_edge::store::embedded::{EmbeddedOptions, EmbeddedStore};
use mikomi_edge::visitor_id::VisitorIdCodec;

const WRITERS: usize = 256;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let visitors: usize = match args.iter().position(|a| a == "--visitors") {
        Some(i) => args
            .get(i + 1)
            .context("--visitors takes a number")?
            .parse()?,
        None => 1_000_000,
    };
    let dir = tempfile::Builder::new()
        .prefix("memory-bench-")
        .tempdir_in(std::env::current_dir()?)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let baseline = rss_bytes()?;
        let store = Arc::new(open(dir.path())?);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for writer in 0..WRITERS {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                let codec = VisitorIdCodec::new(b"memory benchmark secret");
                for n in (writer..visitors).step_by(WRITERS) {
                    store.record(batch(&codec, n)).await?;
                }
                anyhow::Ok(())
            }));
        }
        for task in tasks {
            task.await??;
        }
        let insert = started.elapsed();
        let rss = rss_bytes()?;
        let per_visitor = (rss.saturating_sub(baseline)) as f64 / visitors as f64;
        println!(
            "inline sizes: Visitor {} B, Session {} B, StoredEvent {} B\n",
            std::mem::size_of::<mikomi_edge::model::Visitor>(),
            std::mem::size_of::<mikomi_edge::model::Session>(),
            std::mem::size_of::<mikomi_edge::model::StoredEvent>(),
        );
        println!("| visitors | insert time | RSS growth | RSS per visitor |");
        println!("|---:|---:|---:|---:|");
        println!(
            "| {visitors} | {:.1} s | {:.0} MiB | {per_visitor:.0} B |",
            insert.as_secs_f64(),
            (rss - baseline) as f64 / 1048576.0
        );
        let started = Instant::now();
        store.close().await?;
        let close = started.elapsed();
        drop(store);
        let started = Instant::now();
        let reopened = open(dir.path())?;
        println!(
            "\nclose (final snapshot) {:.2} s; reopen (recovery from the snapshot) {:.2} s, {} visitors",
            close.as_secs_f64(),
            started.elapsed().as_secs_f64(),
            reopened.stats().visitors
        );
        anyhow::Ok(())
    })
}

fn open(dir: &std::path::Path) -> anyhow::Result<EmbeddedStore> {
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

/// One visitor's first page view, as collect would store it.
fn batch(codec: &VisitorIdCodec, n: usize) -> Batch {
    let (visitor, _) = codec.mint();
    let ip = std::net::IpAddr::from([127, (n >> 16) as u8, (n >> 8) as u8, n as u8]);
    Batch {
        site: Arc::from("demo"),
        visitor,
        received_ms: 1_700_000_000_000 + n as i64,
        network: Some(truncate_ip(ip)),
        company: None,
        events: vec![TimedEvent {
            client_ts: Some(1_700_000_000_000),
            event: Event::PageView {
                url: "https://www.example.co.jp/product/overview?utm_source=newsletter".into(),
                referrer: Some("https://www.google.com/".into()),
                title: Some("製品概要 | Example".into()),
            },
        }],
    }
}
