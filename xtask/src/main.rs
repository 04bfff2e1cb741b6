//! Project tasks, run as `cargo xtask <task>`:
//!
//! - `demo`: build the tag and the demo company database, then run the edge on
//!   http://127.0.0.1:8080 with the demo site under /demo/.
//! - `test`: build everything the tests need, then run formatting, lint and every test.
//! - `bench-load`: the load benchmark (collect against a bare-hyper baseline), release build.
//! - `bench-collect`: instructions and allocator calls per collect request over the whole edge
//!   process, counted by callgrind (`--profile FILE` keeps the profile).
//! - `bench-memory`: resident memory per idle visitor for 1,000,000 visitors.
//! - `bench-console`: the console's hot-accounts and company pages as the store grows.
//! - `bench-retention`: the retention soak, 2,000,000 visitors over 400 simulated days, with
//!   the retention policy and without it, each in its own process.
//! - `bench-import`: a 100,000-row people import (rows per second) and collect latency during it.
//! - `bench-tag`: the tag in headless Chromium against a release edge: the page's `load` event
//!   to its first collect request, median of 20 loads.
//! - `bench-rules`: instructions per popup decision for each case of the `rules_decide`
//!   benchmark, counted by callgrind (valgrind), which a noisy machine does not move.
//! - `bench-ipdb`: instructions per typed ipdb lookup over the full real ASN database, the
//!   same way.
//!
//! Each task installs what it needs and the machine lacks (see `setup`). A failure prints the
//! error and its causes, not a backtrace: `--verbose` or `RUST_BACKTRACE=full` adds one.

mod demo_db;
mod fresh_clone;
mod setup;
mod tracker;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};

use tracker::Budget;

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let verbose = args.iter().any(|a| a == "--verbose");
    args.retain(|a| a != "--verbose");
    let task = args.first().cloned().unwrap_or_else(|| "help".into());
    match run_task(&task, &args[args.len().min(1)..]) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("\nerror: cargo xtask {task}: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            let full = std::env::var("RUST_BACKTRACE").is_ok_and(|v| v == "full");
            if verbose || full {
                eprintln!("\n{}", error.backtrace());
            }
            ExitCode::FAILURE
        }
    }
}

fn run_task(task: &str, rest: &[String]) -> anyhow::Result<()> {
    let root = workspace_root();
    match task {
        "demo" => demo(&root),
        "test" => test(&root, rest),
        "bench-load" => {
            demo_db::build(&root)?;
            bench(&root, "load", rest)
        }
        "bench-collect" => {
            demo_db::build(&root)?;
            run_release(&root, "collect-instructions", rest)
        }
        "bench-memory" => bench(&root, "memory", rest),
        "bench-console" => bench(&root, "console", rest),
        "bench-retention" => bench_retention(&root, rest),
        "bench-import" => bench(&root, "import", rest),
        "bench-tag" => bench_tag(&root),
        "bench-rules" => bench_rules(&root),
        "bench-ipdb" => bench_ipdb(&root),
        "build-tag" => tracker::build(&root, Budget::WarnUnoptimised),
        _ => {
            eprintln!(
                "usage: cargo xtask <demo | test | bench-load | bench-collect | bench-memory | bench-console | bench-import | bench-retention | bench-tag | bench-rules | bench-ipdb | build-tag>"
            );
            if task == "help" {
                Ok(())
            } else {
                bail!("unknown task `{task}`")
            }
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn demo(root: &Path) -> anyhow::Result<()> {
    step("building the tag");
    tracker::build(root, Budget::WarnUnoptimised).context("step: building the tag")?;
    step("building the demo company database");
    demo_db::build(root).context("step: building the demo company database")?;
    step(
        "building and starting the edge (the first build takes a few minutes). Once it says it \
         is listening (Ctrl-C stops it), open the demo site at http://127.0.0.1:8080/demo/ and \
         the console at http://127.0.0.1:8080/console/ (user `demo`, password `mikomi-demo`; \
         user `viewer` with the same password can only read)",
    );
    cargo(
        root,
        &[
            "run",
            "--quiet",
            "-p",
            "mikomi-edge",
            "--",
            "serve",
            "--config",
            "demo/mikomi.toml",
        ],
    )
}

fn test(root: &Path, extra: &[String]) -> anyhow::Result<()> {
    step("checking for the programs the tests start");
    setup::system_tools(&setup::TEST_TOOLS).context("step: installing system packages")?;
    setup::schemathesis().context("step: installing schemathesis")?;
    step("building the tag");
    tracker::build(root, Budget::Enforce).context("step: building the tag")?;
    step("building the demo company database");
    demo_db::build(root).context("step: building the demo company database")?;
    step("formatting");
    cargo(root, &["fmt", "--all", "--", "--check"])?;
    step("lints");
    cargo(
        root,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    step("lints of the tag for its wasm target");
    cargo(
        root,
        &[
            "clippy",
            "-p",
            "tracker-wasm",
            "--target",
            setup::WASM_TARGET,
            "--",
            "-D",
            "warnings",
        ],
    )?;
    step("building the binaries the end-to-end tests run");
    cargo(root, &["build", "--workspace", "--bins"])?;
    step("tests");
    let mut args = vec!["test", "--workspace"];
    args.extend(extra.iter().map(String::as_str));
    cargo(root, &args)?;
    step("the end-to-end and browser tests again, with the redis store");
    let mut args = vec![
        "test",
        "-p",
        "mikomi-tests",
        "--test",
        "e2e",
        "--test",
        "browser",
    ];
    args.extend(extra.iter().map(String::as_str));
    let cargo_bin = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(Command::new(cargo_bin)
        .args(&args)
        .env("MIKOMI_TEST_STORE", "redis")
        .current_dir(root))?;
    step("a clean clone of HEAD with nothing beside it: the tests that read the data");
    fresh_clone::check(root).context("step: the clean-clone check")
}

fn bench(root: &Path, which: &str, extra: &[String]) -> anyhow::Result<()> {
    run_release(root, &format!("{which}-bench"), extra)
}

/// Builds the edge and the benchmark binaries in release, then runs `binary extra…`.
fn run_release(root: &Path, binary: &str, extra: &[String]) -> anyhow::Result<()> {
    step("building release binaries");
    cargo(
        root,
        &[
            "build",
            "--release",
            "-p",
            "mikomi-edge",
            "-p",
            "mikomi-benches",
            "--bins",
        ],
    )?;
    let binary = release_dir(root).join(binary);
    step(&format!("running {}", binary.display()));
    run(Command::new(&binary).args(extra).current_dir(root))
}

/// The retention soak with the policy and without it: separate processes, so that one run's
/// memory does not show in the other's.
fn bench_retention(root: &Path, extra: &[String]) -> anyhow::Result<()> {
    bench(root, "retention", &with(extra, ["--retention", "on"]))?;
    let binary = release_dir(root).join("retention-bench");
    step(&format!("running {} without retention", binary.display()));
    run(Command::new(&binary)
        .args(with(extra, ["--retention", "off"]))
        .current_dir(root))
}

fn with(extra: &[String], more: [&str; 2]) -> Vec<String> {
    let mut args = extra.to_vec();
    args.extend(more.iter().map(|s| s.to_string()));
    args
}

/// The tag latency benchmark (the ignored `tag_latency` browser test) with the built tag and a
/// release edge.
fn bench_tag(root: &Path) -> anyhow::Result<()> {
    step("checking for Chromium and its driver");
    setup::system_tools(&setup::TEST_TOOLS[2..6]).context("step: installing system packages")?;
    step("building the tag");
    tracker::build(root, Budget::Enforce)?;
    step("building the release edge");
    cargo(root, &["build", "--release", "-p", "mikomi-edge"])?;
    step("running the tag latency benchmark in headless Chromium");
    cargo(
        root,
        &[
            "test",
            "--release",
            "-p",
            "mikomi-tests",
            "--test",
            "browser",
            "--",
            "--ignored",
            "--exact",
            "tag_latency",
            "--nocapture",
        ],
    )
}

/// Decisions per case in the shorter and the longer callgrind run: the difference of their
/// instruction counts is the cost of `RULES_LONG - RULES_SHORT` decisions, without the set-up.
const RULES_SHORT: u64 = 1_000;
const RULES_LONG: u64 = 3_000;
const RULES_CASES: [&str; 4] = [
    "100_rules_none_eligible",
    "100_rules_last_wins",
    "100_rules_50_distinct_page_globs",
    "100_rules_50_distinct_page_globs_first_sight",
];

fn bench_rules(root: &Path) -> anyhow::Result<()> {
    let binary = build_bench_bin(root, "rules-instructions")?;
    step("counting instructions per decision under callgrind");
    for case in RULES_CASES {
        let count = |n: u64| callgrind_instructions(&binary, &[case, &n.to_string()]);
        let per =
            count(RULES_LONG)?.saturating_sub(count(RULES_SHORT)?) / (RULES_LONG - RULES_SHORT);
        println!("{case}: {per} instructions per decision");
    }
    Ok(())
}

/// Lookups in the shorter and the longer callgrind run of `bench-ipdb`.
const IPDB_SHORT: u64 = 20_000;
const IPDB_LONG: u64 = 60_000;

fn bench_ipdb(root: &Path) -> anyhow::Result<()> {
    let binary = build_bench_bin(root, "ipdb-instructions")?;
    step("building the full ASN database");
    let dir = tempfile::tempdir().context("a temporary directory")?;
    let file = dir.path().join("asn.mmdb");
    let file = file.to_str().context("a UTF-8 temporary path")?;
    run(Command::new(&binary).args(["build", file]))?;
    step("counting instructions per typed lookup under callgrind");
    let count = |n: u64| callgrind_instructions(&binary, &["lookup", file, &n.to_string()]);
    let per = count(IPDB_LONG)?.saturating_sub(count(IPDB_SHORT)?) / (IPDB_LONG - IPDB_SHORT);
    println!("typed lookup (Resolver::lookup -> Company): {per} instructions per lookup");
    Ok(())
}

/// Builds one binary of the benches package in release and returns its path.
fn build_bench_bin(root: &Path, name: &str) -> anyhow::Result<PathBuf> {
    step(&format!("building the release {name} binary"));
    cargo(
        root,
        &["build", "--release", "-p", "mikomi-benches", "--bin", name],
    )?;
    Ok(release_dir(root).join(name))
}

/// The folder of release binaries in the target directory cargo uses (`CARGO_TARGET_DIR` when
/// set, relative to the workspace root when relative).
fn release_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root.join(p) })
        .unwrap_or_else(|| root.join("target"))
        .join("release")
}

/// The instructions callgrind counted for one run of `binary` with `args` (its `Collected`
/// line).
fn callgrind_instructions(binary: &Path, args: &[&str]) -> anyhow::Result<u64> {
    let output = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(binary)
        .args(args)
        .output()
        .context("start valgrind (install it: apt-get install valgrind)")?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!(
            "callgrind on {} {args:?} failed: {stderr}",
            binary.display()
        );
    }
    stderr
        .lines()
        .find_map(|line| line.split_once("Collected :").map(|(_, n)| n.trim()))
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("no `Collected` count in callgrind's output: {stderr}"))
}

pub fn cargo(root: &Path, args: &[&str]) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(Command::new(cargo).args(args).current_dir(root))
}

pub fn run(command: &mut Command) -> anyhow::Result<()> {
    let shown = format!("{command:?}");
    let status = command.status().with_context(|| format!("start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed: {status}");
    }
    Ok(())
}

pub fn step(what: &str) {
    eprintln!("\n==> {what}");
}
