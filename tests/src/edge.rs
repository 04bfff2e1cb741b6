//! A running edge process with its own data directory. Dropping it kills the process; the data
//! directory lives as long as the `EdgeConfig` so a test can restart on the same data.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock, mpsc};
use std::time::Duration;

use serde_json::Value;

use crate::redis::RedisServer;
use crate::{API_KEY, BROWSER_UA, ORIGIN, SITE};

/// The token test edges open `/metrics` and the full `/healthz` with.
pub const METRICS_TOKEN: &str = "test-metrics-token-0123456789abcdef";

/// The secret edges sharing a Redis share (visitor ids are signed with it).
pub const TEST_SECRET: &str = "test-secret-shared-by-every-node-0123456789";

/// The knobs tests turn; everything else is the edge's default.
pub struct EdgeConfig {
    /// Shared with every edge started on it: a configuration dropped while its edge runs
    /// (`Edge::start(&config())`) must not delete the directory under the running process.
    pub data_dir: Arc<tempfile::TempDir>,
    /// (per second, burst) for each client address.
    pub per_ip: (u32, u32),
    pub per_site: (u32, u32),
    pub consent: &'static str,
    pub public_prefix: &'static str,
    pub trusted_proxies: Vec<&'static str>,
    pub snapshot_after_bytes: u64,
    pub demo_site: Option<PathBuf>,
    pub assets_dir: Option<PathBuf>,
    /// Extra origins besides `ORIGIN`.
    pub origins: Vec<String>,
    /// ipdb layers: (name, .mmdb path), tried in order.
    pub ipdb_layers: Vec<(String, PathBuf)>,
    /// `[sessions] timeout`, e.g. "1s" so a test makes separate visits by sleeping.
    pub session_timeout: Option<&'static str>,
    /// Webhook receivers: (url, `whsec_…` secret).
    pub webhooks: Vec<(String, String)>,
    /// Appended as written: `[popups]` and `[[rules]]` sections.
    pub extra_toml: String,
    /// Lines added to the `[server]` table as written (`forwarded_header = "forwarded"`).
    pub server_toml: String,
    /// `server.metrics_token`; `METRICS_TOKEN` unless a test turns it off.
    pub metrics_token: Option<&'static str>,
    /// Which backend the edge stores into.
    pub store: TestStore,
}

/// The storage backend of a test edge. The suite runs with the embedded store, and again with
/// `MIKOMI_TEST_STORE=redis` against a Redis of each test's own.
pub enum TestStore {
    Embedded,
    /// A `redis-server` of this configuration's own, started in its data directory on first use
    /// (so every file it writes is under the data directory too).
    Redis(OnceLock<Arc<RedisServer>>),
    /// A Redis or Redis Cluster shared with other edges: several nodes as one service.
    Shared {
        urls: Vec<String>,
        cluster: bool,
    },
    /// A Redis reached over TLS (`rediss://`), trusting the CA in `ca_file`.
    Tls {
        url: String,
        ca_file: PathBuf,
    },
}

impl TestStore {
    /// The backend `MIKOMI_TEST_STORE` names: `embedded` (the default) or `redis`.
    pub fn from_env() -> TestStore {
        match std::env::var("MIKOMI_TEST_STORE").as_deref() {
            Ok("redis") => TestStore::Redis(OnceLock::new()),
            Ok("embedded") | Err(_) => TestStore::Embedded,
            Ok(other) => panic!("MIKOMI_TEST_STORE={other}: expected `embedded` or `redis`"),
        }
    }

    pub fn is_redis(&self) -> bool {
        !matches!(self, TestStore::Embedded)
    }
}

impl Default for EdgeConfig {
    fn default() -> Self {
        EdgeConfig {
            data_dir: Arc::new(tempfile::tempdir().expect("a temporary data directory")),
            per_ip: (100_000, 100_000),
            per_site: (100_000, 100_000),
            consent: "none",
            public_prefix: "",
            trusted_proxies: Vec::new(),
            snapshot_after_bytes: 64 * 1024 * 1024,
            demo_site: None,
            assets_dir: None,
            origins: Vec::new(),
            ipdb_layers: Vec::new(),
            session_timeout: None,
            webhooks: Vec::new(),
            extra_toml: String::new(),
            server_toml: String::new(),
            metrics_token: Some(METRICS_TOKEN),
            store: TestStore::from_env(),
        }
    }
}

impl EdgeConfig {
    /// This configuration's own Redis, started on first use; `None` unless the store is
    /// `TestStore::Redis`.
    pub fn redis(&self) -> Option<&Arc<RedisServer>> {
        match &self.store {
            TestStore::Redis(server) => {
                Some(server.get_or_init(|| {
                    Arc::new(RedisServer::start(&self.data_dir.path().join("redis")))
                }))
            }
            _ => None,
        }
    }

    /// The `[storage]` lines (and the shared secret several nodes need) for the backend.
    fn storage_toml(&self) -> (String, String) {
        let (urls, cluster) = match &self.store {
            TestStore::Embedded => return (String::new(), String::new()),
            TestStore::Redis(_) => {
                let server = self.redis().expect("a redis store has a server");
                (vec![server.url()], false)
            }
            TestStore::Shared { urls, cluster } => (urls.clone(), *cluster),
            TestStore::Tls { url, ca_file } => {
                return (
                    format!("secret = {TEST_SECRET:?}\n"),
                    format!(
                        "backend = \"redis\"\n\n[storage.redis]\nurls = [{url:?}]\nca_file = {:?}\ntimeout = \"2s\"\n",
                        ca_file.display().to_string()
                    ),
                );
            }
        };
        let urls: Vec<String> = urls.iter().map(|u| format!("{u:?}")).collect();
        (
            format!("secret = {TEST_SECRET:?}\n"),
            format!(
                "backend = \"redis\"\n\n[storage.redis]\nurls = [{}]\ncluster = {cluster}\ntimeout = \"300ms\"\n",
                urls.join(", ")
            ),
        )
    }

    pub fn to_toml(&self) -> String {
        let quoted = |items: &[String]| {
            items
                .iter()
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut origins = vec![ORIGIN.to_string()];
        origins.extend(self.origins.iter().cloned());
        let proxies: Vec<String> = self.trusted_proxies.iter().map(|s| s.to_string()).collect();
        let (secret, storage) = self.storage_toml();
        let mut text = format!(
            r#"[server]
listen = "127.0.0.1:0"
public_prefix = "{prefix}"
trusted_proxies = [{proxies}]
shutdown_timeout = "5s"
{secret}{metrics_token}{server_extra}
[storage]
data_dir = {data:?}
snapshot_after_bytes = {snapshot}
{storage}
[limits.per_ip]
per_second = {ip_rate}
burst = {ip_burst}

[limits.per_site]
per_second = {site_rate}
burst = {site_burst}

[[sites]]
key = "{SITE}"
origins = [{origins}]
consent = "{consent}"

[[api_keys]]
key = "{API_KEY}"
sites = ["{SITE}"]
"#,
            prefix = self.public_prefix,
            server_extra = self.server_toml,
            metrics_token = self
                .metrics_token
                .map(|t| format!("metrics_token = {t:?}\n"))
                .unwrap_or_default(),
            proxies = quoted(&proxies),
            data = self.data_dir.path().display().to_string(),
            snapshot = self.snapshot_after_bytes,
            ip_rate = self.per_ip.0,
            ip_burst = self.per_ip.1,
            site_rate = self.per_site.0,
            site_burst = self.per_site.1,
            origins = quoted(&origins),
            consent = self.consent,
        );
        if let Some(dir) = &self.assets_dir {
            text.push_str(&format!(
                "\n[assets]\ndir = {:?}\n",
                dir.display().to_string()
            ));
        }
        for (name, path) in &self.ipdb_layers {
            text.push_str(&format!(
                "\n[[ipdb.layers]]\nname = {name:?}\npath = {:?}\n",
                path.display().to_string()
            ));
        }
        if let Some(timeout) = self.session_timeout {
            text.push_str(&format!("\n[sessions]\ntimeout = {timeout:?}\n"));
        }
        for (url, secret) in &self.webhooks {
            text.push_str(&format!(
                "\n[[webhooks]]\nurl = {url:?}\nsecret = {secret:?}\n"
            ));
        }
        if let Some(dir) = &self.demo_site {
            text.push_str(&format!(
                "\n[demo]\nsite_dir = {:?}\n",
                dir.display().to_string()
            ));
        }
        if !self.extra_toml.is_empty() {
            text.push('\n');
            text.push_str(&self.extra_toml);
        }
        text
    }
}

/// The workspace root, found from this crate's manifest directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

/// The test data the repository carries (`ipdb/testdata`): the real ASN ranges and MaxMind's
/// test databases.
pub fn test_data() -> PathBuf {
    workspace_root().join("ipdb/testdata")
}

/// The demo company database (`cargo xtask test` builds it before the tests run).
pub fn demo_companies() -> PathBuf {
    let path = workspace_root().join("target/demo/companies.mmdb");
    assert!(
        path.exists(),
        "{} is missing: `cargo xtask test` builds it first",
        path.display()
    );
    path
}

/// The `mikomi-edge` binary of this build (`cargo xtask test` builds it first).
pub fn edge_binary() -> PathBuf {
    if let Ok(path) = std::env::var("MIKOMI_EDGE_BIN") {
        return PathBuf::from(path);
    }
    // target/<profile>/deps/<test binary> → target/<profile>/mikomi-edge
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binaries live in target/<profile>/deps");
    let binary = profile_dir.join("mikomi-edge");
    assert!(
        binary.exists(),
        "{} is missing: build it with `cargo build -p mikomi-edge` (`cargo xtask test` does)",
        binary.display()
    );
    binary
}

/// The `mikomi-ipdb` binary beside the edge's.
pub fn ipdb_binary() -> PathBuf {
    let edge = edge_binary();
    let binary = edge.with_file_name("mikomi-ipdb");
    assert!(
        binary.exists(),
        "{} is missing: build it with `cargo build --workspace --bins`",
        binary.display()
    );
    binary
}

pub struct Edge {
    child: Child,
    pub base: String,
    /// The admin listener (`server.admin_listen`), when configured.
    pub admin_base: Option<String>,
    pub http: reqwest::Client,
    config_path: PathBuf,
    /// Lines the process wrote to stderr (its log), for failure messages.
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    redis: Option<Arc<RedisServer>>,
    /// Keeps the data directory of `Edge::start` while the process runs.
    data_dir: Option<Arc<tempfile::TempDir>>,
}

impl Edge {
    /// Writes the configuration next to the data directory and starts the edge on it.
    pub fn start(config: &EdgeConfig) -> Edge {
        let config_path = config.data_dir.path().join("edge.toml");
        std::fs::write(&config_path, config.to_toml()).expect("write the test configuration");
        let mut edge = Edge::start_with_file(&config_path);
        // A test may drop its configuration while the edge runs: its Redis and its data
        // directory stay with the edge.
        edge.redis = config.redis().cloned();
        edge.data_dir = Some(Arc::clone(&config.data_dir));
        edge
    }

    /// Starts the edge and expects it to refuse to start; returns what it said.
    pub fn expect_start_failure(config: &EdgeConfig) -> String {
        let config_path = config.data_dir.path().join("edge.toml");
        std::fs::write(&config_path, config.to_toml()).expect("write the test configuration");
        let output = Command::new(edge_binary())
            .args(["serve", "--config"])
            .arg(&config_path)
            .stdin(Stdio::null())
            .output()
            .expect("run mikomi-edge");
        assert!(!output.status.success(), "the edge started: {output:?}");
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    pub fn start_with_file(config_path: &Path) -> Edge {
        let mut child = Command::new(edge_binary())
            .args(["serve", "--config"])
            .arg(config_path)
            .env("MIKOMI_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start mikomi-edge");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log_writer = std::sync::Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(mut log) = log_writer.lock() {
                    log.push(line);
                }
            }
        });
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // The admin line comes first, when there is one.
            let mut admin = None;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(address) = line.strip_prefix("mikomi-edge admin listening on ") {
                    admin = Some(address.to_string());
                }
                if let Some(address) = line.strip_prefix("mikomi-edge listening on ") {
                    let _ = tx.send((address.to_string(), admin.take()));
                }
            }
        });
        let (base, admin_base) = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(bases) => bases,
            Err(_) => {
                let _ = child.kill();
                let log = log.lock().map(|l| l.join("\n")).unwrap_or_default();
                panic!("mikomi-edge did not start within 30 s; its log:\n{log}");
            }
        };
        Edge {
            child,
            base,
            admin_base,
            http: reqwest::Client::builder()
                .user_agent(BROWSER_UA)
                .build()
                .expect("an HTTP client"),
            config_path: config_path.to_path_buf(),
            log,
            redis: None,
            data_dir: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The configuration file the process was started with.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// Sends SIGHUP (reload).
    pub fn hangup(&self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-HUP", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -HUP {pid}");
    }

    /// GETs an API path with the test key; returns the status and the JSON body.
    pub async fn api_get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(self.url(path))
            .bearer_auth(API_KEY)
            .send()
            .await
            .expect("API request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// POSTs JSON to an API path with the test key; returns the status and the JSON body.
    pub async fn api_post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .http
            .post(self.url(path))
            .bearer_auth(API_KEY)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("API request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.join("\n")).unwrap_or_default()
    }

    /// Whether the log comes to contain `needle` within a few seconds. The log is read from
    /// the process's stderr by another thread, so a line written before the edge said it was
    /// listening may not have been read yet when `start` returns.
    pub async fn log_shows(&self, needle: &str) -> bool {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !self.log().contains(needle) {
            if std::time::Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    /// `kill -9`: no chance to flush anything.
    pub fn kill_hard(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for a clean exit; returns the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {pid}");
        for _ in 0..300 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!(
            "mikomi-edge did not exit within 15 s of SIGTERM; log:\n{}",
            self.log()
        );
    }

    /// Starts a new process on the same configuration (and data directory).
    pub fn restart_after(self, stop: impl FnOnce(Edge)) -> Edge {
        let config_path = self.config_path.clone();
        let redis = self.redis.clone();
        let data_dir = self.data_dir.clone();
        stop(self);
        let mut edge = Edge::start_with_file(&config_path);
        edge.redis = redis;
        edge.data_dir = data_dir;
        edge
    }

    /// POSTs a collect body from the test origin.
    pub async fn collect(&self, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url("/v1/collect"))
            .header("origin", ORIGIN)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("collect request")
    }

    /// A visitor as the API shows it, or `None` for 404.
    pub async fn visitor(&self, vid: &str) -> Option<Value> {
        let response = self
            .http
            .get(self.url(&format!("/api/v1/visitors/{vid}")))
            .bearer_auth(API_KEY)
            .send()
            .await
            .expect("visitor request");
        match response.status().as_u16() {
            200 => Some(response.json().await.expect("visitor JSON")),
            404 => None,
            other => panic!(
                "GET visitor answered {other}: {}",
                response.text().await.unwrap_or_default()
            ),
        }
    }

    /// An API call with the test key; returns the status and the JSON body (`Null` if none).
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, self.url(path))
            .bearer_auth(API_KEY);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("API request");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A collect request from `ip` (the edge must trust 127.0.0.0/8 as a proxy).
    pub async fn collect_from(&self, ip: &str, body: &Value) -> Value {
        let response = self
            .http
            .post(self.url("/v1/collect"))
            .header("origin", ORIGIN)
            .header("content-type", "application/json")
            .header("x-forwarded-for", ip)
            .body(body.to_string())
            .send()
            .await
            .expect("collect");
        assert_eq!(response.status().as_u16(), 200, "collect from {ip}");
        response.json().await.expect("collect JSON")
    }

    /// Every session of the identified-sessions feed, paged two at a time with its cursor, so
    /// the paging itself is exercised.
    pub async fn all_sessions(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor = String::new();
        loop {
            let path = format!("/api/v1/sessions?identified=true&limit=2&after={cursor}");
            let (status, page) = self.api(reqwest::Method::GET, &path, None).await;
            assert_eq!(status, 200, "{page}");
            let sessions = page["sessions"].as_array().cloned().unwrap_or_default();
            if sessions.is_empty() {
                return out;
            }
            cursor = page["next_cursor"].as_str().expect("cursor").to_string();
            out.extend(sessions);
        }
    }

    /// The text of `/metrics`, asked with the metrics token.
    pub async fn metrics(&self) -> String {
        self.http
            .get(self.url("/metrics"))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text")
    }

    /// The full `/healthz`, asked with the metrics token.
    pub async fn health(&self) -> Value {
        self.http
            .get(self.url("/healthz"))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .expect("healthz")
            .json()
            .await
            .expect("healthz JSON")
    }

    /// The store's counters from `/healthz`.
    pub async fn stored_events(&self) -> u64 {
        let health = self.health().await;
        health["store"]["stats"]["events"]
            .as_u64()
            .expect("event count")
    }

    /// Page URLs stored for a visitor, in order.
    pub async fn stored_urls(&self, vid: &str) -> Vec<String> {
        let Some(visitor) = self.visitor(vid).await else {
            return Vec::new();
        };
        visitor["sessions"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|s| s["events"].as_array().cloned().unwrap_or_default())
            .filter_map(|e| e["url"].as_str().map(str::to_string))
            .collect()
    }
}

impl Drop for Edge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A one-page-view collect body.
pub fn page_view(vid: Option<&str>, url: &str) -> Value {
    serde_json::json!({
        "site": SITE,
        "vid": vid,
        "events": [{"type": "pageview", "url": url, "title": "テスト"}],
    })
}
