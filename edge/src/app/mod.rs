//! The composition root: opens storage, the company databases and the rules from the
//! configuration, and wires them into the `App` the handlers share.

pub use crate::http::App;
use crate::http::Shared;
mod background;
mod serve;

pub use background::{Background, Stop, stopped};
pub use serve::serve;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use crate::bots::BotFilter;
use crate::clock::Clock;
use crate::collect::{Collector, Sites};
use crate::config::{Config, IpdbConfig, StorageBackend};
use crate::engine::Model;
use crate::http::api::ApiKeys;
use crate::http::assets::{DemoSite, TagAssets};
use crate::http::console::Console;
use crate::identity::TokenCodec;
use crate::metrics::Metrics;
use crate::model::SessionRules;
use crate::ratelimit::RateLimits;
use crate::rules::{RuleSet, Rules};
use crate::store::Store;
use crate::store::embedded::{EmbeddedOptions, EmbeddedStore};
use crate::store::redis::{Endpoint, RedisOptions, RedisStore};
use crate::visitor_id::VisitorIdCodec;

impl App {
    /// Opens storage and loads assets. Slow, blocking work: run it before serving, or in
    /// `spawn_blocking`.
    pub fn build(
        config: &Config,
        rule_set: Arc<RuleSet>,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<App> {
        let metrics = Metrics::new();
        let data_dir = &config.storage.data_dir;
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("create the data directory {}", data_dir.display()))?;
        let secret = match &config.server.secret {
            Some(secret) => secret.expose().as_bytes().to_vec(),
            None => load_or_create_secret(data_dir)?,
        };
        let store = open_store(config, data_dir, &metrics)?;
        let tag = TagAssets::load(&config.assets)
            .with_context(|| format!("load the tag from {}", config.assets.dir.display()))?;
        let demo =
            match &config.demo {
                Some(demo) => Some(DemoSite::load(&demo.site_dir).with_context(|| {
                    format!("load the demo site from {}", demo.site_dir.display())
                })?),
                None => None,
            };
        let resolver = open_resolver(&config.ipdb)?;
        let rules = Arc::new(Rules::new(
            rule_set,
            &secret,
            config.sessions.timeout.0.as_millis() as i64,
            clock.now_ms(),
        ));
        let collector = Collector {
            sites: Sites::from_config(config),
            codec: VisitorIdCodec::new(&secret),
            tokens: TokenCodec::new(&secret),
            limits: RateLimits::new(&config.limits),
            bots: BotFilter::new(&config.bots.user_agents)
                .context("the [bots] user_agents list")?,
            store: Arc::clone(&store),
            resolver,
            clock,
            max_events: config.limits.max_events_per_request,
            rules,
            new_people: crate::collect::new_people::NewPeopleCap::new(
                config.identity.max_new_people_per_visitor,
                config.identity.max_new_people_per_address,
            ),
        };
        let visitor_cookies = crate::http::VisitorCookies::new(collector.sites.iter());
        Ok(App::new(Shared {
            collector,
            visitor_cookies,
            store,
            metrics,
            tag,
            demo,
            api_keys: ApiKeys::from_config(config),
            console: Console::new(config, &secret),
            proxies: crate::http::client_ip::Proxies {
                trusted: config.server.trusted_proxies.clone(),
                header: config.server.forwarded_header,
            },
            public_prefix: config.server.public_prefix.as_str().to_string(),
            max_body_bytes: config.limits.max_body_bytes,
            import_max_bytes: config.imports.max_bytes,
            body_timing: crate::http::body::BodyTiming {
                timeout: config.server.body_timeout.0,
                min_rate: config.server.body_min_rate,
            },
            half_life_ms: config.scoring.half_life.0.as_millis() as i64,
            token_ttl: config.identity.token_ttl.0,
            metrics_token: config
                .server
                .metrics_token
                .as_ref()
                .map(|t| t.expose().as_bytes().to_vec()),
        }))
    }
}

/// Opens every configured layer; a missing or corrupt file stops start-up with its name.
fn open_resolver(config: &IpdbConfig) -> anyhow::Result<Option<ipdb::SharedResolver>> {
    if config.layers.is_empty() {
        return Ok(None);
    }
    let resolver = ipdb::Resolver::open(&config.layers).context("open the ipdb layers")?;
    for layer in resolver.layers() {
        tracing::info!(name = layer.name(), schema = ?layer.schema(), "ipdb layer opened");
    }
    Ok(Some(ipdb::SharedResolver::with_cache(
        resolver,
        config.layers.clone(),
        config.cache_entries,
    )))
}

/// The visitor-id signing secret, generated once per data directory when the config has none.
fn load_or_create_secret(dir: &Path) -> anyhow::Result<Vec<u8>> {
    let path = dir.join("secret.key");
    match std::fs::read(&path) {
        Ok(bytes) if bytes.len() >= 32 => return Ok(bytes),
        Ok(_) => anyhow::bail!(
            "{} is shorter than 32 bytes; remove it to regenerate",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("read {}", path.display())),
    }
    let secret: [u8; 32] = rand::random();
    let tmp = path.with_extension("tmp");
    write_private(&tmp, &secret).with_context(|| format!("write {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("rename to {}", path.display()))?;
    // The rename lives in the directory: until the directory itself is synced, a crash can
    // forget it, and the next start would generate another secret and invalidate every visitor
    // id (and cookie) already handed out under this one.
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("sync {}", dir.display()))?;
    tracing::info!(path = %path.display(), "generated the visitor-id secret");
    Ok(secret.to_vec())
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The rules `Engine::apply` follows, from the configuration: the same on every node (and for
/// a tool that writes a store an edge will serve).
pub fn model(config: &Config) -> Model {
    Model {
        sessions: SessionRules {
            timeout_ms: config.sessions.timeout.0.as_millis() as i64,
            max_sessions: config.sessions.max_sessions_per_visitor,
            max_events_per_session: config.sessions.max_events_per_session,
        },
        scoring: crate::scoring::ScoringRules::from_config(&config.scoring),
        key_pages: config.accounts.key_pages.clone(),
        webhooks: !config.webhooks.is_empty(),
    }
}

/// Opens the configured backend. Blocking: called from `App::build`.
fn open_store(
    config: &Config,
    data_dir: &std::path::Path,
    metrics: &Metrics,
) -> anyhow::Result<Arc<dyn Store>> {
    let storage = &config.storage;
    Ok(match (storage.backend, &storage.redis) {
        (StorageBackend::Embedded, _) => Arc::new(
            EmbeddedStore::open(EmbeddedOptions {
                dir: data_dir.join("store"),
                model: model(config),
                snapshot_after_bytes: storage.snapshot_after_bytes,
                metrics: metrics.store.clone(),
            })
            .context("open the embedded store")?,
        ),
        (StorageBackend::Redis, Some(redis)) => {
            let redis = redis.get_ref();
            let ca_pem =
                match &redis.ca_file {
                    Some(path) => Some(std::fs::read(path).with_context(|| {
                        format!("read storage.redis.ca_file {}", path.display())
                    })?),
                    None => None,
                };
            let options = RedisOptions {
                endpoint: Endpoint {
                    urls: redis.urls.iter().map(|u| u.get_ref().clone()).collect(),
                    cluster: redis.is_cluster(),
                    connections: redis.connections,
                    timeout: redis.timeout.0,
                    busy_timeout: redis.busy_timeout.0,
                    ca_pem,
                },
                key_prefix: redis.key_prefix.clone(),
                spool_dir: data_dir.join("spool"),
                model: model(config),
                snapshot_every: redis.snapshot_every,
                metrics: metrics.store.clone(),
            };
            let store = tokio::runtime::Handle::try_current()
                .context("the redis store opens inside the runtime")?
                .block_on(RedisStore::open(options))
                .context("open the redis store")?;
            Arc::new(store)
        }
        (StorageBackend::Redis, None) => {
            anyhow::bail!("backend = \"redis\" needs a [storage.redis] table")
        }
    })
}
