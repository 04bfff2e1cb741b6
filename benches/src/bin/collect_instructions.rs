//! Instructions and allocator calls per `POST /v1/collect`, counted by callgrind over the whole
//! release edge process (every thread: the request's task, the log writer, the runtime), so
//! that progress on the collect path shows through the noise of wall-clock benchmarks.
//!
//! The edge runs under `valgrind --tool=callgrind` twice, with the demo company database when
//! `cargo xtask demo` has built it: once for `SHORT` requests and once for `LONG`, sent one after
//! another on one keep-alive connection, five page views per visitor (the first mints the id,
//! the next four send it back). The difference of the two totals, divided by `LONG - SHORT`, is
//! the cost of one request without the start-up and shutdown. Every request is its own group
//! commit here (one `fdatasync` each); under load a sync is shared, so this is an upper bound
//! for the log's share.
//!
//! Run with `cargo xtask bench-collect`. `--profile FILE` keeps the longer run's callgrind file
//! for `callgrind_annotate`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use mikomi_benches::edge::{self, EdgeSetup};
use mikomi_benches::load;
use mikomi_benches::process::Server;

const SHORT: u64 = 500;
const LONG: u64 = 2_500;
/// Page views per visitor.
const VIEWS: u64 = 5;

/// What callgrind counted over one run of the edge.
struct Counts {
    instructions: u64,
    /// Calls to `malloc`, `calloc` and `realloc`.
    allocations: u64,
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let profile = match args.as_slice() {
        [] => None,
        [flag, file] if flag == "--profile" => Some(PathBuf::from(file)),
        _ => bail!("usage: collect-instructions [--profile FILE]"),
    };
    let release = std::env::current_exe()?
        .parent()
        .map(Path::to_path_buf)
        .context("the binary's folder")?;
    let companies = edge::demo_companies();
    if companies.is_none() {
        eprintln!(
            "note: target/demo/companies.mmdb is missing (cargo xtask demo builds it): no company lookup"
        );
    }
    let setup = EdgeSetup {
        companies: companies.as_deref(),
        ..EdgeSetup::default()
    };
    let short = measure(&release, setup, SHORT, None)?;
    let long = measure(&release, setup, LONG, profile.as_deref())?;
    let requests = LONG - SHORT;
    let per = |long: u64, short: u64| long.saturating_sub(short) as f64 / requests as f64;
    println!(
        "collect, sequential on one keep-alive connection, {VIEWS} page views per visitor, company lookup: {}",
        if companies.is_some() { "demo company database" } else { "none" }
    );
    println!(
        "{:.0} instructions per request, {:.1} allocator calls per request",
        per(long.instructions, short.instructions),
        per(long.allocations, short.allocations)
    );
    if let Some(file) = profile {
        println!(
            "profile of the {LONG}-request run: {} (callgrind_annotate --inclusive=yes)",
            file.display()
        );
    }
    Ok(())
}

/// Runs the edge under callgrind for `requests` collects.
fn measure(
    release: &Path,
    setup: EdgeSetup,
    requests: u64,
    keep: Option<&Path>,
) -> anyhow::Result<Counts> {
    let config = edge::write_config(release, &format!("callgrind-{requests}"), setup)?;
    let out = match keep {
        Some(file) => file.to_path_buf(),
        None => config.with_file_name("callgrind.out"),
    };
    eprintln!("{requests} collects under callgrind");
    let server = Server::start_within(
        Path::new("valgrind"),
        &[
            "--tool=callgrind",
            "--separate-threads=no",
            &format!("--callgrind-out-file={}", out.display()),
            &release.join("mikomi-edge").display().to_string(),
            "serve",
            "--config",
            &config.display().to_string(),
        ],
        Duration::from_secs(300),
    )
    .context("start the edge under valgrind (install it: apt-get install valgrind)")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(send(&server.address, requests))?;
    server.stop(Duration::from_secs(300))?;
    let text = std::fs::read_to_string(&out)
        .with_context(|| format!("read the callgrind file {}", out.display()))?;
    counts(&text).with_context(|| format!("{}: no totals", out.display()))
}

/// `requests` collects, one after another on one connection; each must be answered 200.
async fn send(address: &str, requests: u64) -> anyhow::Result<()> {
    let stream = tokio::net::TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut vid: Option<String> = None;
    for sequence in 0..requests {
        let visitor = (sequence / VIEWS) as usize;
        if sequence % VIEWS == 0 {
            vid = None;
        }
        let request: hyper::Request<Full<Bytes>> =
            load::collect_request(address, visitor, vid.as_deref(), sequence)?;
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        if status != hyper::StatusCode::OK {
            bail!(
                "collect {sequence} answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        if vid.is_none() {
            vid = load::extract_vid(&body);
        }
    }
    Ok(())
}

/// The total instructions (the `summary:` line) and the calls into the allocator, from a
/// callgrind file. Function names are compressed: `(12) malloc` the first time, `(12)` after.
fn counts(text: &str) -> Option<Counts> {
    let mut names = std::collections::HashMap::new();
    let mut instructions = None;
    let mut allocations = 0;
    let mut calling_allocator = false;
    for line in text.lines() {
        if let Some(total) = line.strip_prefix("summary:") {
            instructions = total.trim().parse().ok();
        } else if let Some(called) = line.strip_prefix("cfn=") {
            calling_allocator = matches!(
                function_name(called, &mut names),
                "malloc" | "calloc" | "realloc"
            );
        } else if let Some(call) = line.strip_prefix("calls=") {
            if calling_allocator {
                allocations += call
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0);
            }
            calling_allocator = false;
        } else if let Some(function) = line.strip_prefix("fn=") {
            function_name(function, &mut names);
        }
    }
    Some(Counts {
        instructions: instructions?,
        allocations,
    })
}

/// The name a `fn=`/`cfn=` value stands for, remembering `(id) name` definitions.
fn function_name<'a>(
    value: &'a str,
    names: &mut std::collections::HashMap<&'a str, &'a str>,
) -> &'a str {
    match value.split_once(") ") {
        Some((id, name)) if id.starts_with('(') => {
            names.insert(id, name);
            name
        }
        _ => names
            .get(value.trim_end_matches(')'))
            .copied()
            .unwrap_or(value),
    }
}
