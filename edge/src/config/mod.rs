//! The one TOML file an operator writes. Parsed once, validated completely, and turned into typed
//! values; every error names the file, the line and the key.

pub mod alerts;
mod console;
mod error;
mod identity;
mod outgoing;
mod retention;
pub mod rules;
mod values;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;
use toml::Spanned;

pub use console::{ConsoleConfig, ConsoleRole, ConsoleUserConfig};
pub use error::{ConfigError, Located, line_of};
pub use identity::{
    AccountsConfig, IdentityConfig, ImportsConfig, MAX_IMPORT_BYTES, MAX_OFFLINE_POINTS,
    MAX_TOKEN_TTL, OfflinePoints, ScoringConfig, WebhookConfig, WebhookUrl,
};
pub use outgoing::{OutgoingConfig, TrustRoots};
pub use retention::RetentionConfig;
pub use values::{AssetName, HumanDuration, Origin, PathPrefix, Secret, SiteKey};

use self::rules::{PopupsConfig, RuleConfig};

/// The whole configuration of one edge process.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub storage: StorageConfig,
    #[serde(default)]
    pub sessions: SessionConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    /// How long what is collected is kept.
    #[serde(default)]
    pub retention: RetentionConfig,
    #[serde(default)]
    pub assets: AssetsConfig,
    #[serde(default)]
    pub demo: Option<DemoConfig>,
    #[serde(default)]
    pub bots: BotsConfig,
    #[serde(default)]
    pub ipdb: IpdbConfig,
    #[serde(default)]
    pub identity: IdentityConfig,
    #[serde(default)]
    pub scoring: ScoringConfig,
    #[serde(default)]
    pub accounts: AccountsConfig,
    /// Limits of the list imports (`POST /api/v1/people/import`).
    #[serde(default)]
    pub imports: ImportsConfig,
    #[serde(default)]
    pub webhooks: Vec<WebhookConfig>,
    /// How outgoing HTTPS (webhooks, alerts) trusts receivers.
    #[serde(default)]
    pub outgoing: OutgoingConfig,
    #[serde(default)]
    pub sites: Vec<Spanned<SiteConfig>>,
    #[serde(default)]
    pub api_keys: Vec<Spanned<ApiKeyConfig>>,
    /// Site-wide popup settings and custom templates.
    #[serde(default)]
    pub popups: PopupsConfig,
    /// Popup rules, as written.
    #[serde(default)]
    pub rules: Vec<Spanned<RuleConfig>>,
    /// Alert rules, as written (compiled by `alerts::compile`).
    #[serde(default)]
    pub alerts: Vec<Spanned<alerts::AlertRuleConfig>>,
    /// Alert channels and delivery.
    #[serde(default)]
    pub alerting: alerts::AlertingConfig,
    /// Daily and weekly summaries.
    #[serde(default)]
    pub digests: Vec<Spanned<alerts::DigestConfig>>,
    /// Who may sign in to the console under `/console/`.
    #[serde(default)]
    pub console: ConsoleConfig,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Where to listen. Port 0 picks a free port (tests); the bound address is logged and printed.
    pub listen: SocketAddr,
    /// Mount point of the public routes (tag, assets, collect) for first-party serving.
    pub public_prefix: PathPrefix,
    /// Connections served at once; further ones wait in the kernel's backlog.
    pub max_connections: usize,
    /// How long shutdown waits for in-flight requests before closing connections.
    pub shutdown_timeout: HumanDuration,
    /// How long a client may take to send request headers.
    pub header_timeout: HumanDuration,
    /// How long a response may wait for the client to read any of it before the connection is
    /// closed.
    pub write_timeout: HumanDuration,
    /// How long a client may take to send a whole request body (collect and the API).
    pub body_timeout: HumanDuration,
    /// Bytes per second a request body must average after its first second; 0 turns it off.
    pub body_min_rate: u64,
    /// Peers whose forwarding header is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// The one header the trusted proxies write the client's address into.
    pub forwarded_header: ForwardedHeader,
    /// Signs visitor ids. Several edge nodes must share it. When absent, one is generated in
    /// the data directory on first start.
    pub secret: Option<Secret>,
    /// A second listener for operators only: `/metrics` and the full `/healthz`.
    pub admin_listen: Option<SocketAddr>,
    /// A bearer token that opens `/metrics` and the full `/healthz` on the public listener.
    pub metrics_token: Option<Secret>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_prefix: PathPrefix::default(),
            max_connections: 10_000,
            shutdown_timeout: HumanDuration(Duration::from_secs(10)),
            header_timeout: HumanDuration(Duration::from_secs(10)),
            write_timeout: HumanDuration(Duration::from_secs(10)),
            body_timeout: HumanDuration(Duration::from_secs(10)),
            body_min_rate: 1024,
            trusted_proxies: Vec::new(),
            forwarded_header: ForwardedHeader::default(),
            secret: None,
            admin_listen: None,
            metrics_token: None,
        }
    }
}

/// Which forwarding header names the client. Exactly one is read: a proxy that sets one of them
/// usually passes the others through as the client wrote them, so believing a second header
/// would let the client choose its own address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, …` (with `X-Forwarded-Proto`).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client;proto=https, for=proxy1`.
    Forwarded,
    /// `X-Real-IP: client`, one address set by the nearest proxy (with `X-Forwarded-Proto`).
    XRealIp,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// `embedded` (one node) or `redis` (several nodes sharing a Redis or a Redis Cluster).
    pub backend: StorageBackend,
    /// Where the write-ahead log, snapshots and the generated secret live; with Redis, this
    /// node's spool.
    pub data_dir: PathBuf,
    /// Write-ahead log bytes after which a snapshot is taken and older log segments dropped.
    pub snapshot_after_bytes: u64,
    /// Where Redis is, for `backend = "redis"`.
    pub redis: Option<Spanned<RedisConfig>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// One `redis://` (or `rediss://`, TLS) URL for a single server, or the seed nodes of a
    /// cluster.
    pub urls: Vec<Spanned<String>>,
    /// A PEM file of the CA that signed the Redis servers' certificates, for `rediss://` with a
    /// private CA; without it the webpki roots (the public CAs) are trusted.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Whether `urls` name a Redis Cluster; by default, when there is more than one.
    #[serde(default)]
    pub cluster: Option<bool>,
    /// Multiplexed connections per node (per cluster for a cluster).
    #[serde(default = "RedisConfig::default_connections")]
    pub connections: usize,
    /// How long Redis may give no sign of life (no answer to a call, nor to a probe after it)
    /// before it counts as unreachable and records are spooled.
    #[serde(default = "RedisConfig::default_timeout")]
    pub timeout: HumanDuration,
    /// How long one call may wait for a Redis that still answers probes: a busy Redis is
    /// waited for (collect requests queue meanwhile), not taken for a dead one.
    #[serde(default = "RedisConfig::default_busy_timeout")]
    pub busy_timeout: HumanDuration,
    /// Every key is `{prefix}:…`: one hash tag, so several deployments can share a Redis.
    #[serde(default = "RedisConfig::default_prefix")]
    pub key_prefix: String,
    /// Log records between snapshots (the log is trimmed behind them).
    #[serde(default = "RedisConfig::default_snapshot_every")]
    pub snapshot_every: u64,
}

impl RedisConfig {
    fn default_connections() -> usize {
        4
    }
    fn default_timeout() -> HumanDuration {
        HumanDuration(std::time::Duration::from_millis(250))
    }
    fn default_busy_timeout() -> HumanDuration {
        HumanDuration(std::time::Duration::from_secs(5))
    }
    fn default_prefix() -> String {
        "mikomi".into()
    }
    fn default_snapshot_every() -> u64 {
        100_000
    }

    pub fn is_cluster(&self) -> bool {
        self.cluster.unwrap_or(self.urls.len() > 1)
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            backend: StorageBackend::Embedded,
            data_dir: PathBuf::from("data"),
            snapshot_after_bytes: 64 * 1024 * 1024,
            redis: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    Embedded,
    Redis,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    /// A visit ends after this long without events.
    pub timeout: HumanDuration,
    /// Older sessions beyond this many are dropped from memory (counts are kept).
    pub max_sessions_per_visitor: usize,
    /// Events kept per session; later ones are counted, not kept.
    pub max_events_per_session: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            timeout: HumanDuration(Duration::from_secs(30 * 60)),
            max_sessions_per_visitor: 100,
            max_events_per_session: 200,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    pub max_body_bytes: usize,
    pub max_events_per_request: usize,
    pub per_ip: RateConfig,
    pub per_site: RateConfig,
    /// The network length an IPv4 client's bucket covers (32: one address).
    pub ipv4_prefix: u8,
    /// The network length an IPv6 client's bucket covers (64: one subnet, which one host can
    /// rotate through).
    pub ipv6_prefix: u8,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_body_bytes: 64 * 1024,
            max_events_per_request: 50,
            per_ip: RateConfig {
                per_second: 20,
                burst: 100,
            },
            per_site: RateConfig {
                per_second: 20_000,
                burst: 40_000,
            },
            ipv4_prefix: 32,
            ipv6_prefix: 64,
        }
    }
}

/// A token bucket: refills `per_second`, holds at most `burst`.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateConfig {
    pub per_second: u32,
    pub burst: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AssetsConfig {
    /// Where the built tag lives (`t.js`, the glue and the wasm module).
    pub dir: PathBuf,
    pub loader: AssetName,
    pub glue: AssetName,
    pub wasm: AssetName,
}

impl Default for AssetsConfig {
    fn default() -> Self {
        AssetsConfig {
            dir: PathBuf::from("target/tag"),
            loader: AssetName::new("t.js"),
            glue: AssetName::new("tracker.js"),
            wasm: AssetName::new("tracker_bg.wasm"),
        }
    }
}

/// A static demo website served under `/demo/`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoConfig {
    pub site_dir: PathBuf,
}

/// Company resolution: MaxMind DB files tried in order (a company layer first, then ASN).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IpdbConfig {
    pub layers: Vec<ipdb::LayerSpec>,
    /// Recent addresses whose answers are kept: real traffic repeats addresses.
    pub cache_entries: usize,
    /// How often the files are checked for changes (they are also reloaded on SIGHUP).
    pub reload_check: HumanDuration,
}

impl Default for IpdbConfig {
    fn default() -> Self {
        IpdbConfig {
            layers: Vec::new(),
            cache_entries: ipdb::SharedResolver::DEFAULT_CACHE,
            reload_check: HumanDuration(Duration::from_secs(10)),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BotsConfig {
    /// Case-insensitive substrings of the User-Agent that mark a bot: answered 204, not stored.
    pub user_agents: Vec<String>,
}

impl Default for BotsConfig {
    fn default() -> Self {
        let known = [
            "bot",
            "crawler",
            "spider",
            "slurp",
            "curl/",
            "wget/",
            "python-requests",
            "python-urllib",
            "go-http-client",
            "okhttp",
            "scrapy",
            "phantomjs",
            "facebookexternalhit",
            "embedly",
            "preview",
            "lighthouse",
            "pingdom",
        ];
        BotsConfig {
            user_agents: known.iter().map(|s| s.to_string()).collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    pub key: Spanned<SiteKey>,
    /// Pages on these origins may send events; nothing else may.
    pub origins: Vec<Origin>,
    /// `Domain=` of the visitor cookie when the edge is served from a first-party subdomain.
    #[serde(default)]
    pub cookie_domain: Option<String>,
    #[serde(default)]
    pub consent: ConsentMode,
    /// Treat a browser's Global Privacy Control signal as "no consent".
    #[serde(default = "yes")]
    pub honor_gpc: bool,
    /// Treat Do-Not-Track as "no consent".
    #[serde(default)]
    pub honor_dnt: bool,
    /// The IANA time zone the site's people work in: the console shows days and times in it.
    #[serde(default = "default_time_zone")]
    pub time_zone: Spanned<String>,
}

fn default_time_zone() -> Spanned<String> {
    Spanned::new(0..0, "UTC".into())
}

fn yes() -> bool {
    true
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConsentMode {
    /// Identifiers are stored from the first event.
    #[default]
    None,
    /// Nothing identifying is stored before the page says the visitor consented.
    OptIn,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    pub key: Secret,
    /// Sites whose data this key may read and change.
    pub sites: Vec<Spanned<SiteKey>>,
}

/// The most events one request may carry: the engine makes the ids a record creates from its
/// log position and a counter (`model::ids`), and this keeps the counter in range.
pub const MAX_EVENTS_PER_REQUEST: usize = 4094;

impl Config {
    /// Reads, parses and validates a configuration file. Relative paths in it are taken
    /// relative to the file's folder.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Ok(Config::load_with_text(path)?.0)
    }

    /// `load`, also returning the file's text: rule compilation names lines in it.
    pub fn load_with_text(path: &Path) -> Result<(Config, String), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Config::parse(path, &text)?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.resolve_paths(base);
        Ok((config, text))
    }

    /// Parses and validates configuration text; `path` is only used in messages. The popup
    /// rules are read as written here and compiled by `rules::parse`/`rules::load`.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text)
            .map_err(|e| ConfigError::parse(path, text, e.span(), e.message().trim_end()))?;
        config.validate(path, text)?;
        Ok(config)
    }

    /// The site keys the configuration serves.
    pub fn site_keys(&self) -> HashSet<SiteKey> {
        self.sites
            .iter()
            .map(|s| s.get_ref().key.get_ref().clone())
            .collect()
    }

    fn validate(&self, path: &Path, text: &str) -> Result<(), ConfigError> {
        let at = |span, key: String, message: String| {
            Err(ConfigError::at(path, text, Some(span), Some(key), message))
        };
        if self.sites.is_empty() {
            return Err(ConfigError::at(
                path,
                text,
                None,
                Some("sites".into()),
                "at least one [[sites]] entry is needed: nothing could send events",
            ));
        }
        if let Some((key, message)) = self.retention.problem() {
            return Err(ConfigError::at(path, text, None, Some(key.into()), message));
        }
        let mut keys = HashSet::new();
        for (i, site) in self.sites.iter().enumerate() {
            let key = site.get_ref().key.get_ref();
            if !keys.insert(key.clone()) {
                return at(
                    site.get_ref().key.span(),
                    format!("sites[{i}].key"),
                    format!("site key `{}` is used twice", key.as_str()),
                );
            }
            if site.get_ref().origins.is_empty() {
                return at(
                    site.span(),
                    format!("sites[{i}].origins"),
                    "list at least one origin whose pages may send events".into(),
                );
            }
        }
        for (i, site) in self.sites.iter().enumerate() {
            let zone = &site.get_ref().time_zone;
            if jiff::tz::TimeZone::get(zone.get_ref()).is_err() {
                return at(
                    zone.span(),
                    format!("sites[{i}].time_zone"),
                    format!(
                        "`{}` is not an IANA time zone name such as Asia/Tokyo or UTC",
                        zone.get_ref()
                    ),
                );
            }
        }
        self.validate_console(&keys, path, text)?;
        // Two entries with one key: the last one silently won, so a key meant for one site could
        // end up with another's sites, and revoking "the" entry would not revoke it.
        let mut secrets = HashSet::new();
        for (i, api_key) in self.api_keys.iter().enumerate() {
            if !secrets.insert(api_key.get_ref().key.expose()) {
                return at(
                    api_key.span(),
                    format!("api_keys[{i}].key"),
                    "this key is used by an earlier [[api_keys]] entry: give each entry its own"
                        .into(),
                );
            }
            for (j, site) in api_key.get_ref().sites.iter().enumerate() {
                if !keys.contains(site.get_ref()) {
                    return at(
                        site.span(),
                        format!("api_keys[{i}].sites[{j}]"),
                        format!(
                            "no [[sites]] entry has the key `{}`",
                            site.get_ref().as_str()
                        ),
                    );
                }
            }
        }
        let limits = &self.limits;
        for (name, rate) in [
            ("limits.per_ip", limits.per_ip),
            ("limits.per_site", limits.per_site),
        ] {
            if rate.per_second == 0 || rate.burst == 0 {
                return Err(ConfigError::at(
                    path,
                    text,
                    None,
                    Some(name.into()),
                    "per_second and burst must both be at least 1",
                ));
            }
        }
        for (name, prefix, range) in [
            ("limits.ipv4_prefix", limits.ipv4_prefix, 8..=32),
            ("limits.ipv6_prefix", limits.ipv6_prefix, 16..=128),
        ] {
            if !range.contains(&prefix) {
                return Err(ConfigError::at(
                    path,
                    text,
                    None,
                    Some(name.into()),
                    format!(
                        "{prefix} is not a prefix length from {} to {}",
                        range.start(),
                        range.end()
                    ),
                ));
            }
        }
        // Below what the tag may send, the edge would refuse whole batches of real visitors.
        // The key's place in the file, for the line of the message.
        let span_of = |key: &str| text.find(key).map(|at| at..at + key.len());
        let refuse = |key: &str, message: String| {
            Err(ConfigError::at(
                path,
                text,
                span_of(key),
                Some(format!("limits.{key}")),
                message,
            ))
        };
        if limits.max_events_per_request < mikomi_wire::MAX_BATCH {
            return refuse(
                "max_events_per_request",
                format!(
                    "must be at least {}: the tag sends up to that many events in one request",
                    mikomi_wire::MAX_BATCH
                ),
            );
        }
        if limits.max_events_per_request > MAX_EVENTS_PER_REQUEST {
            return refuse(
                "max_events_per_request",
                format!(
                    "must be at most {MAX_EVENTS_PER_REQUEST}: ids a request creates are made \
                     from its log position and a counter of that size"
                ),
            );
        }
        if limits.max_body_bytes < mikomi_wire::MAX_BODY {
            return refuse(
                "max_body_bytes",
                format!(
                    "must be at least {}: the tag sends request bodies up to that size",
                    mikomi_wire::MAX_BODY
                ),
            );
        }
        let ttl = self.identity.token_ttl.0;
        if ttl.is_zero() || ttl > MAX_TOKEN_TTL {
            return Err(ConfigError::at(
                path,
                text,
                span_of("token_ttl"),
                Some("identity.token_ttl".into()),
                "an email-click token lives from 1 second to 365 days",
            ));
        }
        self.validate_storage(path, text)?;
        if self.server.body_timeout.0 < Duration::from_secs(1) {
            return Err(ConfigError::at(
                path,
                text,
                span_of("body_timeout"),
                Some("server.body_timeout".into()),
                "must be at least 1s: a body of real visitors needs time to arrive",
            ));
        }
        if self.server.write_timeout.0 < Duration::from_secs(1) {
            return Err(ConfigError::at(
                path,
                text,
                span_of("write_timeout"),
                Some("server.write_timeout".into()),
                "must be at least 1s: a visitor on a slow phone line needs time to read",
            ));
        }
        alerts::validate(self, path, text)?;
        for (kind, points) in self.scoring.offline.each() {
            if !(0.0..=MAX_OFFLINE_POINTS).contains(&points) {
                return Err(ConfigError::at(
                    path,
                    text,
                    span_of(kind),
                    Some(format!("scoring.offline.{kind}")),
                    format!("points of an offline event are from 0 to {MAX_OFFLINE_POINTS}"),
                ));
            }
        }
        if self.imports.max_bytes == 0 || self.imports.max_bytes > MAX_IMPORT_BYTES {
            return Err(ConfigError::at(
                path,
                text,
                span_of("max_bytes"),
                Some("imports.max_bytes".into()),
                format!(
                    "an import file may be from 1 to {MAX_IMPORT_BYTES} bytes: it is parsed in memory"
                ),
            ));
        }
        if self.server.max_connections == 0 {
            return Err(ConfigError::at(
                path,
                text,
                None,
                Some("server.max_connections".into()),
                "must be at least 1",
            ));
        }
        Ok(())
    }

    fn validate_console(
        &self,
        sites: &HashSet<SiteKey>,
        path: &Path,
        text: &str,
    ) -> Result<(), ConfigError> {
        let at = |span, key: String, message: String| {
            Err(ConfigError::at(path, text, Some(span), Some(key), message))
        };
        let mut names = HashSet::new();
        for (i, user) in self.console.users.iter().enumerate() {
            let entry = user.get_ref();
            if let Err(message) = console::check_user(entry) {
                return at(user.span(), format!("console.users[{i}]"), message);
            }
            if !names.insert(entry.name.as_str()) {
                return at(
                    user.span(),
                    format!("console.users[{i}].name"),
                    format!("user name `{}` is used twice", entry.name),
                );
            }
            for (j, site) in entry.sites.iter().enumerate() {
                if !sites.contains(site.get_ref()) {
                    return at(
                        site.span(),
                        format!("console.users[{i}].sites[{j}]"),
                        format!(
                            "no [[sites]] entry has the key `{}`",
                            site.get_ref().as_str()
                        ),
                    );
                }
            }
        }
        if self.console.session_ttl.0 < Duration::from_secs(60)
            || self.console.login_burst == 0
            || self.console.login_burst_per_address == 0
            || self.console.login_every.0.is_zero()
        {
            return Err(ConfigError::at(
                path,
                text,
                None,
                Some("console".into()),
                "session_ttl is at least 1m, and login_burst, login_burst_per_address and \
                 login_every are above zero",
            ));
        }
        Ok(())
    }

    fn validate_storage(&self, path: &Path, text: &str) -> Result<(), ConfigError> {
        let storage = &self.storage;
        let fail = |span, key: &str, message: String| {
            Err(ConfigError::at(path, text, span, Some(key.into()), message))
        };
        match (storage.backend, &storage.redis) {
            (StorageBackend::Embedded, _) => Ok(()),
            (StorageBackend::Redis, None) => fail(
                None,
                "storage.redis",
                "backend = \"redis\" needs a [storage.redis] table with `urls`".into(),
            ),
            (StorageBackend::Redis, Some(redis)) => {
                if self.server.secret.is_none() {
                    return fail(
                        None,
                        "server.secret",
                        "nodes sharing redis must share one secret (visitor ids are signed with \
                         it): set server.secret, e.g. from an environment variable"
                            .into(),
                    );
                }
                let config = redis.get_ref();
                if config.urls.is_empty() {
                    return fail(
                        Some(redis.span()),
                        "storage.redis.urls",
                        "name at least one redis:// URL".into(),
                    );
                }
                for url in &config.urls {
                    if let Err(e) = redis::Client::open(url.get_ref().as_str()) {
                        return fail(
                            Some(url.span()),
                            "storage.redis.urls",
                            format!("`{}` is not a redis URL: {e}", url.get_ref()),
                        );
                    }
                }
                let tls = config
                    .urls
                    .iter()
                    .any(|u| u.get_ref().starts_with("rediss://"));
                if config.ca_file.is_some() && !tls {
                    return fail(
                        Some(redis.span()),
                        "storage.redis.ca_file",
                        "a CA file is for rediss:// URLs (TLS); these are all redis://".into(),
                    );
                }
                if config.connections == 0 || config.timeout.0.is_zero() {
                    return fail(
                        Some(redis.span()),
                        "storage.redis",
                        "connections and timeout must be above zero".into(),
                    );
                }
                if config.busy_timeout.0 < config.timeout.0 {
                    return fail(
                        Some(redis.span()),
                        "storage.redis.busy_timeout",
                        format!(
                            "busy_timeout ({:?}) is the longest wait for a Redis that still \
                             answers, so it cannot be shorter than timeout ({:?})",
                            config.busy_timeout.0, config.timeout.0
                        ),
                    );
                }
                Ok(())
            }
        }
    }

    fn resolve_paths(&mut self, base: &Path) {
        let join = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        join(&mut self.storage.data_dir);
        join(&mut self.assets.dir);
        if let Some(demo) = &mut self.demo {
            join(&mut demo.site_dir);
        }
        for layer in &mut self.ipdb.layers {
            join(&mut layer.path);
        }
        if let Some(redis) = &mut self.storage.redis
            && let Some(ca) = &mut redis.get_mut().ca_file
        {
            join(ca);
        }
        for root in &mut self.outgoing.extra_roots {
            join(root.get_mut());
        }
    }

    /// The site with this key, if configured.
    pub fn site(&self, key: &str) -> Option<&SiteConfig> {
        self.sites
            .iter()
            .map(Spanned::get_ref)
            .find(|s| s.key.get_ref().as_str() == key)
    }
}

#[cfg(test)]
mod tests;
