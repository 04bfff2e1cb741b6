//! The load benchmark: in one run, the bare-hyper baseline, then the edge's `POST /v1/collect`
//! (every answered event fsync'd) with the demo's popup rules and without, back to back; collect
//! again at half its peak rate for latency; beside a stream of hostile requests (malformed,
//! oversize, forged, misaddressed, slow bodies: valid traffic must keep its throughput and lose
//! nothing); and on the Redis store. Prints a markdown table with ratios to the baseline.
//!
//! Run with `cargo xtask bench-load` (release build). Options:
//! `--connections N` (64), `--seconds S` (5), `--open-seconds S` (60: the open-loop phases, long
//! enough to catch a stall; the worst second is printed), `--warmup S` (1), `--client-threads N`
//! (1), `--open-fraction F` (0.5: the open-loop rate as a share of the closed loop's peak).

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
    /// The open-loop phases' rate, as a share of the closed loop's throughput.
    open_fraction: f64,
}

fn parse_options() -> anyhow::Result<Options> {
    let mut options = Options {
        connections: 64,
        seconds: 5.0,
        open_seconds: 60.0,
        warmup: 1.0,
        client_threads: 1,
        open_fraction: 0.5,
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
            "--open-fraction" => {
                options.open_fraction = value.parse()?;
                anyhow::ensure!(
                    options.open_fraction > 0.0 && options.open_fraction <= 1.0,
                    "--open-fraction takes a share of the peak between 0 and 1"
                );
            }
            other => anyhow::bail!("unknown option {other}"),
        }
    }
    Ok(options)
}

fn main() -> anyhow::Result<()> {
    let options = parse_options()?;
    let open_share = if options.open_fraction == 0.5 {
        "half".to_string()
    } else {
        format!("{:.0} %", options.open_fraction * 100.0)
    };
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
        drive(
            &runtime,
            &server,
            &spec(&server.address, Workload::Bare, None),
        )?
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

    // Rules on, just before rules off so that both closed loops meet the same machine: the
    // demo's popup rules decided on every page view (each visitor's eighth view meets the
    // seminar rule).
    let edge = start_edge(&release, "rules", companies.as_deref(), true, None)?;
    eprintln!(
        "collect with the demo rules: page views from {} distinct visitors, closed loop",
        options.connections * 200
    );
    let ruled = drive(&runtime, &edge, &spec(&edge.address, collect, None))?;
    drop(edge);

    // Rules off: every request parsed, validated, resolved, logged and fsync'd.
    let edge = start_edge(&release, "plain", companies.as_deref(), false, None)?;
    eprintln!("collect: closed loop");
    let peak = drive(&runtime, &edge, &spec(&edge.address, collect, None))?;
    let half_rate = peak.per_second() * options.open_fraction;
    eprintln!("collect: open loop at {half_rate:.0} req/s ({open_share} of peak)");
    let half = drive(
        &runtime,
        &edge,
        &spec(&edge.address, collect, Some(half_rate)),
    )?;
    let metrics = load::http_get(&edge.address, "/metrics", METRICS_TOKEN).unwrap_or_default();
    drop(edge);

    // Valid traffic with hostile traffic beside it, on a fresh edge.
    let edge = start_edge(&release, "faults", companies.as_deref(), false, None)?;
    eprintln!(
        "collect, closed loop, beside {FAULT_CONNECTIONS} connections of hostile requests and {DRIBBLERS} slow bodies"
    );
    let valid_spec = spec(&edge.address, collect, None);
    let stop_at = std::time::Instant::now() + valid_spec.warmup + valid_spec.measure;
    let cpu_before = edge.cpu_time();
    let (under_faults, hostile) = runtime.block_on(async {
        tokio::join!(
            load::run(&valid_spec),
            faults::run(&edge.address, FAULT_CONNECTIONS, DRIBBLERS, stop_at)
        )
    });
    let (mut under_faults, hostile) = (under_faults?, hostile?);
    under_faults.server_cpu = cpu_used(cpu_before, edge.cpu_time());
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
    let on_redis = drive(&runtime, &edge, &spec(&edge.address, collect, None))?;
    let redis_half = on_redis.per_second() * options.open_fraction;
    eprintln!("collect on redis: open loop at {redis_half:.0} req/s ({open_share} of its peak)");
    let on_redis_half = drive(
        &runtime,
        &edge,
        &spec(&edge.address, collect, Some(redis_half)),
    )?;
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
    println!(
        "| server | load | req/s | p50 ms | p99 ms | req/s vs baseline | failures | server CPU µs/req | CPU stolen |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
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
        &format!("open loop, {open_share} of peak"),
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
        &format!("open loop, {open_share} of its peak"),
        &on_redis_half,
        &baseline,
    );
    let phases = [
        &baseline,
        &peak,
        &half,
        &ruled,
        &under_faults,
        &on_redis,
        &on_redis_half,
    ];
    let most_stolen = phases
        .iter()
        .filter_map(|p| p.stolen())
        .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s))));
    if let Some(most) = most_stolen {
        println!(
            "\nthe hypervisor took up to {} of this machine's CPU in a phase{}",
            percent(Some(most)),
            if most > HOST_NOISE {
                ": above 5 % the figures measure the host's neighbours as much as the server; run again"
            } else {
                ""
            }
        );
    }
    println!(
        "\nredis store vs embedded store: {:.2} req/s, p99 {:.2} ms vs {:.2} ms at half of each peak",
        on_redis.per_second() / peak.per_second(),
        on_redis_half.quantile_ms(0.99),
        half.quantile_ms(0.99)
    );
    for (what, result) in [
        ("embedded store, open loop", &half),
        ("redis store, open loop", &on_redis_half),
    ] {
        if let Some(worst) = result.worst_second() {
            println!(
                "worst second, {what}: second {} of {:.0}, p99 {:.2} ms, max {:.2} ms over {} requests, {} of the CPU stolen",
                worst.second,
                options.open_seconds,
                worst.p99_ms,
                worst.max_ms,
                worst.requests,
                percent(worst.stolen)
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
                    .map(|s| {
                        format!(
                            "{} ({:.1} ms, max {:.1}, client late {:.1}, {} stolen)",
                            s.second,
                            s.p99_ms,
                            s.max_ms,
                            s.client_late_ms,
                            percent(s.stolen)
                        )
                    })
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
        "\nrules on vs rules off: {:.2} (adjacent closed loops; {} measured answers carried a popup); company lookup: {}",
        ruled.per_second() / peak.per_second(),
        ruled.popups,
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

/// A phase that lost more than this share of the CPU to the hypervisor is not comparable with
/// one that did not.
const HOST_NOISE: f64 = 0.05;

/// Keep-alive connections sending hostile requests during the load-and-fault run.
const FAULT_CONNECTIONS: usize = 8;
/// Clients dribbling a body a byte at a time during it.
const DRIBBLERS: usize = 16;

fn row(server: &str, load: &str, result: &LoadResult, baseline: &LoadResult) {
    println!(
        "| {server} | {load} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} | {} |",
        result.per_second(),
        result.quantile_ms(0.5),
        result.quantile_ms(0.99),
        result.per_second() / baseline.per_second(),
        result.failures,
        result
            .server_cpu_us_per_request()
            .map_or_else(|| "?".to_string(), |us| format!("{us:.0}")),
        percent(result.stolen())
    );
}

/// Runs one phase against `server`, noting the CPU time the server spent on it.
fn drive(
    runtime: &tokio::runtime::Runtime,
    server: &Server,
    spec: &LoadSpec,
) -> anyhow::Result<LoadResult> {
    let before = server.cpu_time();
    let mut result = runtime.block_on(load::run(spec))?;
    result.server_cpu = cpu_used(before, server.cpu_time());
    Ok(result)
}

fn cpu_used(before: Option<Duration>, after: Option<Duration>) -> Option<Duration> {
    Some(after?.saturating_sub(before?))
}

/// A share as a whole percentage, or "?" where it was not measured.
fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "?".to_string(), |s| format!("{:.0} %", s * 100.0))
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
