//! The edge as the benchmarks run it: a release binary on a fresh data folder, with a
//! configuration made for load (the load generator is a trusted proxy, one site with a high
//! per-site limit), optionally the demo company database, the demo rules or a Redis store.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::process::Server;

/// Opens `/metrics` on the benchmarks' edges.
pub const METRICS_TOKEN: &str = "bench-metrics-token-0123456789abcdef";

/// What the benchmark's edge runs with, beside the defaults.
#[derive(Clone, Copy, Default)]
pub struct EdgeSetup<'a> {
    /// The company database to resolve addresses with.
    pub companies: Option<&'a Path>,
    /// The demo's popup rules.
    pub rules: bool,
    /// A Redis URL: the shared store instead of the embedded one.
    pub redis: Option<&'a str>,
}

/// Starts a release edge on a fresh data folder named `name` beside the release binaries.
pub fn start_edge(
    release: &Path,
    name: &str,
    companies: Option<&Path>,
    rules: bool,
    redis: Option<&str>,
) -> anyhow::Result<Server> {
    let setup = EdgeSetup {
        companies,
        rules,
        redis,
    };
    let config = write_config(release, name, setup)?;
    Server::start(
        &release.join("mikomi-edge"),
        &["serve", "--config", &config.display().to_string()],
    )
}

/// Writes the configuration (and makes the empty data folder) for an edge named `name`;
/// returns the configuration's path.
pub fn write_config(release: &Path, name: &str, setup: EdgeSetup) -> anyhow::Result<PathBuf> {
    let work = bench_dir(release, name)?;
    let config = work.join("edge.toml");
    let mut text = edge_config(&work.join("data"));
    if let Some(url) = setup.redis {
        text = text.replace(
            "[storage]\n",
            &format!(
                "secret = \"bench-secret-shared-by-all-nodes-0123\"\n\n[storage]\nbackend = \"redis\"\nredis = {{ urls = [{url:?}] }}\n"
            ),
        );
    }
    if let Some(path) = setup.companies {
        text.push_str(&format!(
            "\n[[ipdb.layers]]\nname = \"companies\"\npath = {:?}\n",
            path.display().to_string()
        ));
    }
    if setup.rules {
        text.push('\n');
        text.push_str(demo_rules()?);
    }
    std::fs::write(&config, text)?;
    Ok(config)
}

/// The demo's `[popups]` and `[[rules]]`: the end of `demo/mikomi.toml`.
fn demo_rules() -> anyhow::Result<&'static str> {
    const DEMO: &str = include_str!("../../demo/mikomi.toml");
    let at = DEMO
        .find("[popups]")
        .context("demo/mikomi.toml has no [popups] section")?;
    Ok(&DEMO[at..])
}

/// The demo company database, when `cargo xtask demo` has built it.
pub fn demo_companies() -> Option<PathBuf> {
    let path = workspace_root().join("target/demo/companies.mmdb");
    path.exists().then_some(path)
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// A fresh folder for the edge's data, on the same disk as a real deployment's would be.
pub fn bench_dir(release: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let dir = release.join("bench-load").join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Defaults everywhere except: the load generator is a trusted proxy (each visitor has its own
/// forwarded address, so per-address limits apply per visitor), and the per-site limit is
/// raised past what one site would normally be allowed, since the benchmark is one site.
fn edge_config(data: &Path) -> String {
    format!(
        r#"[server]
listen = "127.0.0.1:0"
trusted_proxies = ["127.0.0.1/32"]
metrics_token = "{METRICS_TOKEN}"

[storage]
data_dir = {data:?}

[limits.per_site]
per_second = 10000000
burst = 10000000

[[sites]]
key = "bench"
origins = ["http://127.0.0.1:8080"]
"#,
        data = data.display().to_string()
    )
}
