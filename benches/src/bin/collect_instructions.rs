//! Instructions and allocator calls per `POST /v1/collect`, counted by callgrind over the whole
//! release edge process (every thread: the request's task, the log writer, the runtime), so
//! that progress on the collect path shows through the noise of wall-clock benchmarks.
//!
//! The edge runs under `valgrind --tool=callgrind` with the demo company database when
//! `cargo xtask demo` has built it, with instrumentation off while it starts and for `WARMUP`
//! requests; then `callgrind_control` turns it on, `MEASURED` requests follow, and a dump
//! counts exactly those (start-up and shutdown are left out). Requests go one after another on
//! one keep-alive connection, five page views per visitor (the first mints the id, the next four
//! send it back). Every request is its own group commit here (one `fdatasync` each); under load
//! a sync is shared, so this is an upper bound for the log's share. valgrind's CPU has no SHA
//! extensions, so the HMAC of visitor ids counts as the portable SHA-256 code; on a CPU with
//! them it costs a fraction of that.
//!
//! Run with `cargo xtask bench-collect`. `--profile FILE` keeps the callgrind dump for
//! `callgrind_annotate`; `--rules on` runs the edge with the demo's popup rules.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use mikomi_benches::edge::{self, EdgeSetup};
use mikomi_benches::load;
use mikomi_benches::process::Server;

const WARMUP: u64 = 200;
const MEASURED: u64 = 2_000;
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
    let mut profile = None;
    let mut rules = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--profile", Some(file)) => profile = Some(PathBuf::from(file)),
            ("--rules", Some(on)) if on == "on" || on == "off" => rules = on == "on",
            _ => bail!("usage: collect-instructions [--profile FILE] [--rules on|off]"),
        }
    }
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
        rules,
        ..EdgeSetup::default()
    };
    let counts = measure(&release, setup, profile.as_deref())?;
    let per = |n: u64| n as f64 / MEASURED as f64;
    println!(
        "collect, sequential on one keep-alive connection, {VIEWS} page views per visitor, company lookup: {}, demo popup rules: {}",
        if companies.is_some() {
            "demo company database"
        } else {
            "none"
        },
        if rules { "on" } else { "off" }
    );
    println!(
        "{:.0} instructions per request, {:.1} allocator calls per request ({MEASURED} requests after {WARMUP})",
        per(counts.instructions),
        per(counts.allocations)
    );
    if let Some(file) = profile {
        println!(
            "profile: {} (callgrind_annotate --inclusive=yes)",
            file.display()
        );
    }
    Ok(())
}

/// Runs the edge under callgrind and counts `MEASURED` collects after `WARMUP`.
fn measure(release: &Path, setup: EdgeSetup, keep: Option<&Path>) -> anyhow::Result<Counts> {
    let config = edge::write_config(release, "callgrind", setup)?;
    let out = config.with_file_name("callgrind.out");
    eprintln!("{WARMUP} collects, then {MEASURED} counted, under callgrind");
    let server = Server::start_within(
        Path::new("valgrind"),
        &[
            "--tool=callgrind",
            "--instr-atstart=no",
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
    let pid = server.pid().to_string();
    runtime.block_on(async {
        let mut client = Client::connect(&server.address).await?;
        client.send(WARMUP).await?;
        callgrind_control(&["--instr=on", &pid])?;
        client.send(MEASURED).await?;
        callgrind_control(&["--dump", &pid])
    })?;
    server.stop(Duration::from_secs(300))?;
    // The first dump is numbered; the file without a number is what came after it.
    let dump = out.with_extension("out.1");
    let text = std::fs::read_to_string(&dump)
        .with_context(|| format!("read the callgrind dump {}", dump.display()))?;
    if let Some(file) = keep {
        std::fs::copy(&dump, file).with_context(|| format!("copy to {}", file.display()))?;
    }
    counts(&text).with_context(|| format!("{}: no totals", dump.display()))
}

fn callgrind_control(args: &[&str]) -> anyhow::Result<()> {
    let output = std::process::Command::new("callgrind_control")
        .args(args)
        .output()
        .context("run callgrind_control (it comes with valgrind)")?;
    if !output.status.success() {
        bail!(
            "callgrind_control {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// One keep-alive connection sending collects, visitor after visitor.
struct Client<'a> {
    address: &'a str,
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    sent: u64,
    vid: Option<String>,
}

impl<'a> Client<'a> {
    async fn connect(address: &'a str) -> anyhow::Result<Client<'a>> {
        let stream = tokio::net::TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        Ok(Client {
            address,
            sender,
            sent: 0,
            vid: None,
        })
    }

    /// `requests` more collects, one after another; each must be answered 200.
    async fn send(&mut self, requests: u64) -> anyhow::Result<()> {
        for _ in 0..requests {
            let sequence = self.sent;
            self.sent += 1;
            if sequence.is_multiple_of(VIEWS) {
                self.vid = None;
            }
            let visitor = (sequence / VIEWS) as usize;
            let request =
                load::collect_request(self.address, visitor, self.vid.as_deref(), sequence)?;
            self.sender.ready().await?;
            let response = self.sender.send_request(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            if status != hyper::StatusCode::OK {
                bail!(
                    "collect {sequence} answered {status}: {}",
                    String::from_utf8_lossy(&body)
                );
            }
            if self.vid.is_none() {
                self.vid = load::extract_vid(&body);
            }
        }
        Ok(())
    }
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
