//! The people import: how fast a large seminar list imports (rows per second) through
//! `POST /api/v1/people/import` on a release edge, and what it does to collect latency while it
//! runs.
//!
//! One edge, two sites. First the file (100,000 rows of Shift_JIS by default, as Japanese Excel
//! saves it) is imported into site `alone` with nothing else going on: that is the import rate,
//! and its duration D sets the windows below. Then collect runs open-loop at a fixed rate for D
//! with no import (the baseline latency), and again for D while the same file is imported into
//! site `busy` (fresh people there). Run with `cargo xtask bench-import`; `--rows N`, `--rate R`
//! (collect requests per second, 1000) and `--connections N` (8) change it.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use mikomi_benches::load::{self, LoadResult, LoadSpec, Workload};
use mikomi_benches::process::Server;

const API_KEY: &str = "import-bench-api-key-0123456789abcdef";

struct Options {
    rows: usize,
    rate: f64,
    connections: usize,
}

fn parse_options() -> anyhow::Result<Options> {
    let mut options = Options {
        rows: 100_000,
        rate: 1_000.0,
        connections: 8,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).context("every option takes a value")?;
        match pair[0].as_str() {
            "--rows" => options.rows = value.parse()?,
            "--rate" => options.rate = value.parse()?,
            "--connections" => options.connections = value.parse()?,
            other => anyhow::bail!("unknown option {other}"),
        }
    }
    Ok(options)
}

fn main() -> anyhow::Result<()> {
    let options = parse_options()?;
    let release = std::env::current_exe()?
        .parent()
        .map(Path::to_path_buf)
        .context("the binary's folder")?;
    let work = release.join("bench-import");
    if work.exists() {
        std::fs::remove_dir_all(&work)?;
    }
    std::fs::create_dir_all(&work)?;
    let config = work.join("edge.toml");
    std::fs::write(&config, edge_config(&work.join("data")))?;
    let server = Server::start(
        &release.join("mikomi-edge"),
        &["serve", "--config", &config.display().to_string()],
    )?;
    let file = attendee_list(options.rows);
    println!(
        "file: {} rows, {:.1} MiB of Shift_JIS",
        options.rows,
        file.len() as f64 / (1024.0 * 1024.0)
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(run(&server.address, &options, file))
}

async fn run(address: &str, options: &Options, file: Vec<u8>) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let (alone, report) = import(&http, address, "alone", file.clone()).await?;
    println!(
        "import alone: {} rows in {:.2} s = {:.0} rows/s ({} created, {} chunks)",
        report["rows"],
        alone.as_secs_f64(),
        options.rows as f64 / alone.as_secs_f64(),
        report["created"],
        report["chunks"]
    );
    let window = alone.max(Duration::from_secs(2));
    let spec = LoadSpec {
        address: address.to_string(),
        connections: options.connections,
        warmup: Duration::from_millis(500),
        measure: window,
        rate: Some(options.rate),
        workload: Workload::Collect {
            visitors_per_connection: 50,
        },
    };
    let baseline = load::run(&spec).await?;

    // A dry run decodes, reads and previews the file and writes nothing: the CPU part alone.
    let previewing = {
        let http = http.clone();
        let address = address.to_string();
        let file = file.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            import(&http, &address, "busy&dry_run=true", file).await
        })
    };
    let during_dry_run = load::run(&spec).await?;
    let (dry, _) = previewing.await??;
    println!(
        "dry run under collect: {:.2} s = {:.0} rows/s",
        dry.as_secs_f64(),
        options.rows as f64 / dry.as_secs_f64()
    );

    let importing = {
        let http = http.clone();
        let address = address.to_string();
        tokio::spawn(async move {
            // Starts as the load's warm-up ends.
            tokio::time::sleep(Duration::from_millis(500)).await;
            import(&http, &address, "busy", file).await
        })
    };
    let during = load::run(&spec).await?;
    let (busy, _) = importing.await??;
    println!(
        "import under collect at {:.0} req/s: {:.2} s = {:.0} rows/s",
        options.rate,
        busy.as_secs_f64(),
        options.rows as f64 / busy.as_secs_f64()
    );
    println!();
    println!(
        "| collect at {:.0} req/s | requests | failures | p50 | p99 | max |",
        options.rate
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, result) in [
        ("no import", &baseline),
        ("during a dry run (decode, read, preview)", &during_dry_run),
        ("during the import", &during),
    ] {
        row(name, result);
    }
    Ok(())
}

fn row(name: &str, r: &LoadResult) {
    println!(
        "| {name} | {} | {} | {:.2} ms | {:.2} ms | {:.2} ms |",
        r.requests,
        r.failures,
        r.quantile_ms(0.5),
        r.quantile_ms(0.99),
        r.quantile_ms(1.0)
    );
}

async fn import(
    http: &reqwest::Client,
    address: &str,
    site: &str,
    file: Vec<u8>,
) -> anyhow::Result<(Duration, serde_json::Value)> {
    let started = Instant::now();
    let response = http
        .post(format!("http://{address}/api/v1/people/import?site={site}"))
        .bearer_auth(API_KEY)
        .body(file)
        .send()
        .await?;
    let status = response.status();
    let report: serde_json::Value = response.json().await?;
    let took = started.elapsed();
    anyhow::ensure!(status == 200, "import answered {status}: {report}");
    Ok((took, report))
}

/// A seminar attendee list as Japanese Excel saves it.
fn attendee_list(rows: usize) -> Vec<u8> {
    let mut text =
        String::from("メールアドレス,姓,名,会社名,部署,役職,電話番号,種別,セミナー名,開催日\r\n");
    for i in 0..rows {
        text.push_str(&format!(
            "attendee{i}@company{}.example,佐藤,花子{i},株式会社サンプル{},営業部,課長,03-1234-{:04},セミナー,はじめての見込み客発掘,2026/11/10\r\n",
            i % 5_000,
            i % 5_000,
            i % 10_000
        ));
    }
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
    bytes.into_owned()
}

/// Defaults, except two sites, a larger import limit, and the load generator trusted as a
/// proxy (each visitor has its own forwarded address) with the per-site limit raised.
fn edge_config(data: &Path) -> String {
    format!(
        r#"[server]
listen = "127.0.0.1:0"
trusted_proxies = ["127.0.0.1/32"]

[storage]
data_dir = {data:?}

[limits.per_site]
per_second = 10000000
burst = 10000000

[imports]
max_bytes = 134217728

[[sites]]
key = "bench"
origins = ["http://127.0.0.1:8080"]

[[sites]]
key = "alone"
origins = ["http://127.0.0.1:8080"]

[[sites]]
key = "busy"
origins = ["http://127.0.0.1:8080"]

[[api_keys]]
key = "{API_KEY}"
sites = ["alone", "busy"]
"#,
        data = data.display().to_string()
    )
}
