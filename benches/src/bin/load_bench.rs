//! The load benchmark: in one run, the bare-hyper baseline and the edge's `POST /v1/collect`
//! (every answered event fsync'd), then collect again at half its peak rate for latency, with
//! the demo's popup rules, beside a stream of hostile requests (malformed, oversize, forged,
//! misaddressed, slow bodies: valid traffic must keep its throughput and lose nothing), and on
//! the Redis store. Prints a markdown table with ratios to the baseline.
//!
//! Run with `cargo xtask bench-load` (release build). Options:
//! `--connections N` (64), `--seconds S` (5), `--open-seconds S` (60: the open-loop phases, long
//! enough to catch a stall; the worst second is printed), `--warmup S` (1), `--client-threads N`
//! (1).

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use mikomi_benches::edge::{METRICS_TOKEN, start_edge};
use mikomi_benches::faults;
use mikomi_benches::load::{self, LoadResult, LoadSpec, Workload};
use mikomi_benches::process::Server;
use mikomi_tests::redis::RedisServer;

struct Options {
    connections: usize,
    seconds: f64,
    open_seconds: f64,
    warmup: f64,
    client_threads: usize,
}

fn parse_options() -> anyhow::Result<Options> {
    let mut options = Options {
        connections: 64,
        seconds: 5.0,
        open_seconds: 60.0,
        warmup: 1.0,
        client_threads: 1,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).context("every option takes a value")?;
        match pair[0].as_str() {
            "--connections" => options.connections = value.parse()?,
            "--seconds" => options.seconds = value.parse()?,
            "--open-seconds" => options.open_seconds = value.parse()?,
            "--warmup" => options.warmup = value.parse()?,
            "--client-threads" => options.client_threads = value.parse()?,
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.client_threads)
        .enable_all()
        .build()?;
    let spec = |address: &str, workload, rate: Option<f64>| LoadSpec {
        address: address.to_string(),
        connections: options.connections,
        warmup: Duration::from_secs_f64(options.warmup),
        measure: Duration::from_secs_f64(if rate.is_some() {
            options.open_seconds
        } else {
            options.seconds
        }),
        rate,
        workload,
    };

    eprintln!("baseline: bare hyper answering 204");
    let baseline = {
        let server = Server::start(&release.join("bare-hyper"), &[])?;
        runtime.block_on(load::run(&spec(&server.address, Workload::Bare, None)))?
    };

    let collect = Workload::Collect {
        visitors_per_connection: 200,
    };
    let companies = mikomi_benches::edge::demo_companies();
    if companies.is_none() {
        eprintln!(
            "note: target/demo/companies.mmdb is missing (cargo xtask demo builds it): no company lookup"
        );
    }

    // Rules off: every request parsed, validated, resolved, logged and fsync'd.
    let edge = start_edge(&release, "plain", companies.as_deref(), false, None)?;
    eprintln!(
        "collect: page views from {} distinct visitors, closed loop",
        options.connections * 200
    );
    let peak = runtime.block_on(load::run(&spec(&edge.address, collect, None)))?;
    let half_rate = peak.per_second() / 2.0;
    eprintln!("collect: open loop at {half_rate:.0} req/s (half of peak)");
    let half = runtime.block_on(load::run(&spec(&edge.address, collect, Some(half_rate))))?;
    let metrics = load::http_get(&edge.address, "/metrics", METRICS_TOKEN).unwrap_or_default();
    drop(edge);

    // Rules on: the demo's popup rules decided on every page view.
    let edge = start_edge(&release, "rules", companies.as_deref(), true, None)?;
    eprintln!("collect with the demo rules: closed loop");
    let ruled = runtime.block_on(load::run(&spec(&edge.address, collect, None)))?;
    drop(edge);

    // Valid traffic with hostile traffic beside it, on a fresh edge.
    let edge = start_edge(&release, "faults", companies.as_deref(), false, None)?;
    eprintln!(
        "collect, closed loop, beside {FAULT_CONNECTIONS} connections of hostile requests and {DRIBBLERS} slow bodies"
    );
    let valid_spec = spec(&edge.address, collect, None);
    let stop_at = std::time::Instant::now() + valid_spec.warmup + valid_spec.measure;
    let (under_faults, hostile) = runtime.block_on(async {
        tokio::join!(
            load::run(&valid_spec),
            faults::run(&edge.address, FAULT_CONNECTIONS, DRIBBLERS, stop_at)
        )
    });
    let (under_faults, hostile) = (under_faults?, hostile?);
    let fault_metrics =
        load::http_get(&edge.address, "/metrics", METRICS_TOKEN).unwrap_or_default();
    drop(edge);

    // The shared store: one edge node on a single Redis that syncs every write.
    let redis = RedisServer::start(&mikomi_benches::edge::bench_dir(&release, "redis-server")?);
    let edge = start_edge(
        &release,
        "redis",
        companies.as_deref(),
        false,
        Some(&redis.url()),
    )?;
    eprintln!("collect on redis: closed loop");
    let on_redis = runtime.block_on(load::run(&spec(&edge.address, collect, None)))?;
    let redis_half = on_redis.per_second() / 2.0;
    eprintln!("collect on redis: open loop at {redis_half:.0} req/s (half of its peak)");
    let on_redis_half =
        runtime.block_on(load::run(&spec(&edge.address, collect, Some(redis_half))))?;
    let redis_metrics =
        load::http_get(&edge.address, "/metrics", METRICS_TOKEN).unwrap_or_default();
    drop(edge);
    drop(redis);

    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "\n{} connections, {:.0} s measured closed loop and {:.0} s open loop after {:.0} s warm-up, {cores} cores shared by server and load generator ({} client thread(s)), loopback\n",
        options.connections,
        options.seconds,
        options.open_seconds,
        options.warmup,
        options.client_threads
    );
    println!("| server | load | req/s | p50 ms | p99 ms | req/s vs baseline | failures |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    row(
        "bare hyper 1 + tokio, 204",
        "closed loop",
        &baseline,
        &baseline,
    );
    row(
        "mikomi-edge `POST /v1/collect`, fsync'd",
        "closed loop",
        &peak,
        &baseline,
    );
    row(
        "mikomi-edge `POST /v1/collect`, fsync'd",
        "open loop, half of peak",
        &half,
        &baseline,
    );
    row(
        "mikomi-edge `POST /v1/collect`, fsync'd, demo popup rules",
        "closed loop",
        &ruled,
        &baseline,
    );
    row(
        "mikomi-edge `POST /v1/collect`, fsync'd, beside hostile traffic",
        "closed loop",
        &under_faults,
        &baseline,
    );
    row(
        "mikomi-edge `POST /v1/collect`, redis store (appendfsync always)",
        "closed loop",
        &on_redis,
        &baseline,
    );
    row(
        "mikomi-edge `POST /v1/collect`, redis store (appendfsync always)",
        "open loop, half of its peak",
        &on_redis_half,
        &baseline,
    );
    println!(
        "\nredis store vs embedded store: {:.2} req/s, p99 {:.2} ms vs {:.2} ms at half of each peak",
        on_redis.per_second() / peak.per_second(),
        on_redis_half.quantile_ms(0.99),
        half.quantile_ms(0.99)
    );
    for (what, result) in [
        ("embedded store, open loop at half of peak", &half),
        ("redis store, open loop at half of its peak", &on_redis_half),
    ] {
        if let Some(worst) = result.worst_second() {
            println!(
                "worst second, {what}: second {} of {:.0}, p99 {:.2} ms, max {:.2} ms over {} requests",
                worst.second, options.open_seconds, worst.p99_ms, worst.max_ms, worst.requests
            );
        }
    }
    for (what, result) in [("embedded store", &half), ("redis store", &on_redis_half)] {
        let stalls = result.seconds_over(STALL_MS);
        let started = result
            .measured_from
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        println!(
            "seconds with p99 over {STALL_MS} ms, {what} (measured from unix time {started}): {}",
            if stalls.is_empty() {
                "none".to_string()
            } else {
                stalls
                    .iter()
                    .map(|s| format!("{} ({:.1} ms, max {:.1})", s.second, s.p99_ms, s.max_ms))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        );
    }
    println!(
        "redis store: {:.0} records spooled, {:.0} replayed, {:.0} calls answered late by a busy redis",
        metric(&redis_metrics, "mikomi_store_spooled_records_total").unwrap_or(-1.0),
        metric(&redis_metrics, "mikomi_store_replayed_records_total").unwrap_or(-1.0),
        metric(&redis_metrics, "mikomi_store_redis_slow_calls_total").unwrap_or(-1.0)
    );
    println!(
        "\nrules on vs rules off: {:.2}; company lookup: {}",
        ruled.per_second() / peak.per_second(),
        if companies.is_some() {
            "demo company database"
        } else {
            "none"
        }
    );
    let stored = metric(&fault_metrics, "mikomi_events_stored_total").unwrap_or(-1.0);
    println!(
        "\nbeside hostile traffic: valid collect at {:.2} of its throughput without it, {} valid requests failed; \
         {} valid page views acknowledged, {stored:.0} events stored; hostile: {} requests sent, {} refused (4xx), \
         {} accepted, {} answered 5xx, {} slow bodies cut off",
        under_faults.per_second() / peak.per_second(),
        under_faults.failures,
        under_faults.acknowledged,
        hostile.sent,
        hostile.refused,
        hostile.accepted,
        hostile.server_errors,
        hostile.slow_cut
    );
    if let (Some(syncs), Some(batches)) = (
        metric(&metrics, "mikomi_wal_fsync_seconds_count"),
        metric(&metrics, "mikomi_wal_group_size_sum"),
    ) {
        let fsync_sum = metric(&metrics, "mikomi_wal_fsync_seconds_sum").unwrap_or(0.0);
        println!(
            "write-ahead log: {batches:.0} batches in {syncs:.0} fdatasyncs ({:.1} per sync), mean write+sync {:.3} ms",
            batches / syncs.max(1.0),
            fsync_sum / syncs.max(1.0) * 1000.0
        );
        if let Some((bound, within)) =
            bucket_at_most(&metrics, "mikomi_wal_fsync_seconds", SLOW_SYNC_SECONDS)
        {
            println!(
                "write-ahead log writes + syncs over {:.1} ms: {:.0}",
                bound * 1000.0,
                syncs - within
            );
        }
    }
    Ok(())
}

/// A log write + sync slower than this stalls every request of its group.
const SLOW_SYNC_SECONDS: f64 = 0.03;

/// A second whose p99 passes this is a stall (the target p99 for the whole run).
const STALL_MS: f64 = 5.0;

/// Keep-alive connections sending hostile requests during the load-and-fault run.
const FAULT_CONNECTIONS: usize = 8;
/// Clients dribbling a body a byte at a time during it.
const DRIBBLERS: usize = 16;

fn row(server: &str, load: &str, result: &LoadResult, baseline: &LoadResult) {
    println!(
        "| {server} | {load} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
        result.per_second(),
        result.quantile_ms(0.5),
        result.quantile_ms(0.99),
        result.per_second() / baseline.per_second(),
        result.failures
    );
}

/// The histogram `name`'s largest bucket bound at most `seconds`, and its count.
fn bucket_at_most(text: &str, name: &str, seconds: f64) -> Option<(f64, f64)> {
    let prefix = format!("{name}_bucket{{le=\"");
    text.lines()
        .filter_map(|line| {
            let (bound, count) = line.strip_prefix(&prefix)?.split_once("\"} ")?;
            Some((
                bound.parse::<f64>().ok()?,
                count.trim().parse::<f64>().ok()?,
            ))
        })
        .filter(|(bound, _)| *bound <= seconds)
        .max_by(|a, b| a.0.total_cmp(&b.0))
}

fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        line.strip_prefix(name)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}
