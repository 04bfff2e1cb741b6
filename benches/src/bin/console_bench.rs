//! The console's pages as a store grows: the hot-accounts list and company pages, timed over
//! real HTTP against a release edge whose data directory holds N visitors of M companies
//! (Zipf-like: a few companies bring most of the visitors, as real traffic does).
//!
//! The data is written through the embedded store the way collect writes it (one batch per
//! visit, companies resolved), the store is closed (final snapshot), then `mikomi-edge serve`
//! opens it and the pages are requested signed in as a console user: 5 warm-ups, then 40 timed
//! requests each, one at a time. Run with `cargo xtask bench-console`; `--sizes 10000:500,100000:5000`
//! changes the sizes (visitors:companies).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use mikomi_benches::process::Server;
use mikomi_edge::engine::Model;
use mikomi_edge::event::{Event, TimedEvent};
use mikomi_edge::metrics::StoreMetrics;
use mikomi_edge::model::{Batch, SessionRules};
use mikomi_edge::scoring::ScoringRules;
use mikomi_edge::store::Store;
use mikomi_edge::store::embedded::{EmbeddedOptions, EmbeddedStore};
use mikomi_edge::visitor_id::VisitorIdCodec;
use mikomi_tests::console::{Console, PASSWORD, users_toml};

const WRITERS: usize = 64;
const DAY_MS: i64 = 86_400_000;
const SECRET: &str = "console-benchmark-secret-0123456789abcdef";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let sizes: Vec<(usize, usize)> = match args.iter().position(|a| a == "--sizes") {
        Some(i) => args
            .get(i + 1)
            .context("--sizes takes visitors:companies,…")?
            .split(',')
            .map(|pair| {
                let (v, c) = pair.split_once(':').context("visitors:companies")?;
                Ok((v.parse()?, c.parse()?))
            })
            .collect::<anyhow::Result<_>>()?,
        None => vec![(10_000, 500), (100_000, 5_000)],
    };
    let edge = std::env::current_dir()?.join("target/release/mikomi-edge");
    println!("| visitors | companies | page | median | p95 | max |");
    println!("|---:|---:|---|---:|---:|---:|");
    for (visitors, companies) in sizes {
        let dir = tempfile::Builder::new()
            .prefix("console-bench-")
            .tempdir_in(std::env::current_dir()?)?;
        let runtime = tokio::runtime::Runtime::new()?;
        runtime.block_on(fill(dir.path(), visitors, companies))?;
        let config = dir.path().join("edge.toml");
        std::fs::write(&config, config_text(dir.path()))?;
        let server = Server::start(&edge, &["serve", "--config", &config.to_string_lossy()])?;
        runtime.block_on(measure(&server.address, visitors, companies))?;
    }
    Ok(())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The company of rank `rank` (0 is the busiest).
fn company(rank: usize) -> Arc<ipdb::Company> {
    let industries = [
        "製造業",
        "情報通信業",
        "卸売業",
        "金融・保険業",
        "Software",
        "Retail",
    ];
    let employees = [12u32, 85, 140, 320, 650, 4_200][rank % 6];
    Arc::new(ipdb::Company {
        name: Some(format!("株式会社サンプル{rank:04}")),
        domain: Some(format!("sample{rank:04}.example")),
        industry: Some(industries[rank % industries.len()].into()),
        employees: Some(employees),
        size_band: ipdb::SizeBand::from_employees(Some(employees)),
        country: Some(if rank.is_multiple_of(5) { "US" } else { "JP" }.into()),
        asn: None,
        as_org: None,
        network_kind: ipdb::NetworkKind::Business,
        network_kind_confidence: ipdb::Confidence::High,
        source: "companies".into(),
        network: ipnet::Ipv4Net::new(
            std::net::Ipv4Addr::new(10, (rank / 256) as u8, (rank % 256) as u8, 0),
            24,
        )
        .expect("a /24 is a valid prefix")
        .into(),
    })
}

/// Visitor `n`'s company: rank r with weight 1/(r+1), by inverting the harmonic sums.
fn rank_of(n: usize, visitors: usize, companies: usize) -> usize {
    let total: f64 = (1..=companies).map(|k| 1.0 / k as f64).sum();
    let target = (n as f64 + 0.5) / visitors as f64 * total;
    let mut sum = 0.0;
    for k in 1..=companies {
        sum += 1.0 / k as f64;
        if sum >= target {
            return k - 1;
        }
    }
    companies - 1
}

async fn fill(dir: &Path, visitors: usize, companies: usize) -> anyhow::Result<()> {
    let store = Arc::new(EmbeddedStore::open(EmbeddedOptions {
        dir: dir.join("data").join("store"),
        model: Model {
            sessions: SessionRules {
                timeout_ms: 30 * 60 * 1000,
                max_sessions: 100,
                max_events_per_session: 200,
            },
            scoring: ScoringRules::default(),
            key_pages: ["*/pricing*", "*/product*"]
                .iter()
                .filter_map(|g| mikomi_edge::glob::Glob::new(g).ok())
                .collect(),
            webhooks: false,
        },
        snapshot_after_bytes: 256 * 1024 * 1024,
        metrics: StoreMetrics::default(),
    })?);
    let ranks: Arc<Vec<usize>> = Arc::new(
        (0..visitors)
            .map(|n| rank_of(n, visitors, companies))
            .collect(),
    );
    let started = Instant::now();
    let now = now_ms();
    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let store = Arc::clone(&store);
        let ranks = Arc::clone(&ranks);
        tasks.push(tokio::spawn(async move {
            let codec = VisitorIdCodec::new(SECRET.as_bytes());
            for n in (writer..visitors).step_by(WRITERS) {
                let (visitor, _) = codec.mint();
                let company = company(ranks[n]);
                let at = now - (n as i64 * 7_919) % (29 * DAY_MS);
                let pages = ["/", "/pricing.html", "/product.html", "/faq.html"];
                let events = (0..1 + n % 3)
                    .map(|i| TimedEvent {
                        client_ts: Some(at),
                        event: Event::PageView {
                            url: format!("https://www.example.co.jp{}", pages[(n + i) % 4]),
                            referrer: Some("https://www.google.com/".into()),
                            title: Some("製品 | Example".into()),
                        },
                    })
                    .collect();
                store
                    .record(Batch {
                        site: Arc::from("demo"),
                        visitor,
                        received_ms: at,
                        network: Some(company.network),
                        company: Some(company),
                        events,
                    })
                    .await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    store.close().await?;
    eprintln!(
        "stored {visitors} visitors of {companies} companies in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn config_text(dir: &Path) -> String {
    format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nsecret = \"{SECRET}\"\n\n[storage]\ndata_dir = {:?}\n\n\
         [[sites]]\nkey = \"demo\"\norigins = [\"https://www.example.co.jp\"]\ntime_zone = \"Asia/Tokyo\"\n{}",
        dir.join("data").display().to_string(),
        users_toml("demo")
    )
}

async fn measure(address: &str, visitors: usize, companies: usize) -> anyhow::Result<()> {
    let mut console = Console::at(&format!("http://{address}"));
    anyhow::ensure!(
        console.login("sales", PASSWORD).await == 303,
        "sign-in failed"
    );
    let median_rank = companies / 2;
    let pages = [
        (
            "hot accounts, 7 days",
            "/console/sites/demo/accounts".to_string(),
        ),
        (
            "hot accounts, 30 days, 大手 only",
            "/console/sites/demo/accounts?window=30d&band=enterprise".to_string(),
        ),
        (
            "attack-list CSV, 7 days",
            "/console/sites/demo/accounts.csv".to_string(),
        ),
        (
            "company page, the busiest company",
            "/console/sites/demo/accounts/sample0000.example".to_string(),
        ),
        (
            "company page, a median company",
            format!("/console/sites/demo/accounts/sample{median_rank:04}.example"),
        ),
    ];
    for (name, path) in pages {
        let mut times = Vec::new();
        for round in 0..45 {
            let started = Instant::now();
            let (status, _, body) = console.get(&path).await;
            let took = started.elapsed();
            anyhow::ensure!(status == 200 && !body.is_empty(), "{path}: status {status}");
            if round >= 5 {
                times.push(took);
            }
        }
        times.sort();
        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
        println!(
            "| {visitors} | {companies} | {name} | {} | {} | {} |",
            ms(times[times.len() / 2]),
            ms(times[times.len() * 95 / 100]),
            ms(times[times.len() - 1])
        );
    }
    Ok(())
}
