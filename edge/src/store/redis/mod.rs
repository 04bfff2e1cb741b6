//! Several edge nodes as one service, sharing state through Redis or a Redis Cluster.
//!
//! The shape is a replicated log. Every node appends what it accepts to one Redis stream (the
//! shared log) and applies the whole stream, in stream order, to its own copy of the in-memory
//! model: the same `Engine::apply` the embedded store uses. Every node therefore holds the same
//! visitors, people, sessions feed, accounts and outbox, and answers reads from memory after
//! catching up with the stream.
//!
//! Why not one Redis key per visitor and per person, updated by scripts? A single collect can
//! touch a visitor, one or two people, the email index, the account, the feed and the outbox.
//! In a cluster those keys sit in different slots, and no script or transaction spans slots, so
//! per-entity updates would need a saga of their own for every identity rule. An ordered log
//! makes each record atomic across all of them for free, and keeps one implementation of the
//! rules for both backends.
//!
//! What it costs: appends go through one stream, so one Redis primary carries the write load;
//! every node holds the whole state in memory. The README's scale-out section gives the
//! figures.
//!
//! When Redis cannot be reached, collect goes on: records go to a local spool on disk (synced
//! before the answer) and are replayed into the log, in order, when Redis is back. Popup
//! decisions are skipped meanwhile, and health says degraded.

mod appender;
mod conn;
mod log;
mod reads;
mod snapshot;
mod spool;
mod sync;
mod write;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use self::appender::Appender;
pub use self::conn::Endpoint;
use self::conn::Redis;
use self::log::{Keys, Scripts};
use self::spool::Spool;
use super::cadence::snapshot_due;
use super::codec;
use super::{Health, StoreError, VisitSummary};
use crate::engine::{Engine, Model, lock};
use crate::metrics::StoreMetrics;

/// How often a node checks whether Redis is back, and whether a snapshot is due.
const TICK: Duration = Duration::from_millis(200);
/// Ticks between pings down every traffic connection (see `Redis::keep_alive`): a second.
const KEEP_ALIVE_TICKS: u64 = 5;
/// Log positions behind the tail for which this node keeps its own batches' summaries.
const SUMMARIES_KEPT: u64 = 100_000;

pub struct RedisOptions {
    pub endpoint: Endpoint,
    /// Every key starts with `{prefix}`: one hash tag, so one cluster slot.
    pub key_prefix: String,
    /// This node's spool, for records accepted while Redis is unreachable.
    pub spool_dir: PathBuf,
    pub model: Model,
    /// Log records between snapshots; a snapshot lets the log be trimmed and new nodes start
    /// without replaying history.
    pub snapshot_every: u64,
    pub metrics: StoreMetrics,
}

pub struct RedisStore {
    node: Arc<Node>,
    background: Mutex<Option<JoinHandle<()>>>,
}

/// One edge node's view of the shared state.
pub(crate) struct Node {
    state: Engine,
    redis: Arc<Redis>,
    keys: Keys,
    scripts: Arc<Scripts>,
    /// Appends this node's records to the log, in groups.
    appender: Appender,
    /// This node's name in the log, to find its own records among everyone's.
    name: String,
    /// Next id for a record this node appends.
    next_id: AtomicU64,
    /// Held while applying from the log: one applier at a time, in log order.
    tail: tokio::sync::Mutex<sync::Tail>,
    applied: AtomicU64,
    /// Catch-up requests so far: a catch-up that starts after a request serves it.
    requested: AtomicU64,
    /// What applying this node's own batches said, until their callers pick it up.
    summaries: Mutex<HashMap<u64, VisitSummary>>,
    /// Records whose append may or may not have reached the log, and whether it did.
    watched: Mutex<HashMap<u64, bool>>,
    spool: Arc<Spool>,
    /// Where replay of the spool has got to.
    spool_offset: AtomicU64,
    /// Why Redis is taken to be unreachable, while it is.
    outage: Mutex<Option<String>>,
    /// A condition this node cannot serve through (it fell behind a trimmed log).
    failed: Mutex<Option<String>>,
    events: AtomicU64,
    metrics: StoreMetrics,
    snapshot_every: u64,
    snapshot_seq: AtomicU64,
    /// The size of the newest snapshot this node wrote or loaded, and of the log applied since:
    /// see `store::cadence`.
    snapshot_bytes: AtomicU64,
    log_bytes: AtomicU64,
    snapshot_running: AtomicBool,
    stop: Notify,
}

impl RedisStore {
    /// Connects, loads the newest snapshot, catches up with the log, and starts the background
    /// work (replaying the spool, periodic snapshots).
    pub async fn open(options: RedisOptions) -> Result<RedisStore, StoreError> {
        let redis = Arc::new(
            Redis::connect(&options.endpoint, options.metrics.redis_slow_calls.clone()).await?,
        );
        let spool = Spool::open(&options.spool_dir)?;
        let keys = Keys::new(&options.key_prefix);
        let scripts = Arc::new(Scripts::default());
        let name = format!("{:016x}", rand::random::<u64>());
        let appender = Appender::start(
            Arc::clone(&redis),
            keys.clone(),
            Arc::clone(&scripts),
            name.clone(),
        );
        let node = Arc::new(Node {
            state: Engine::new(options.model),
            redis,
            keys,
            scripts,
            appender,
            name,
            next_id: AtomicU64::new(rand::random::<u64>() >> 1),
            tail: tokio::sync::Mutex::new(sync::Tail::default()),
            applied: AtomicU64::new(0),
            requested: AtomicU64::new(0),
            summaries: Mutex::new(HashMap::new()),
            watched: Mutex::new(HashMap::new()),
            spool: Arc::new(spool),
            spool_offset: AtomicU64::new(0),
            outage: Mutex::new(None),
            failed: Mutex::new(None),
            events: AtomicU64::new(0),
            metrics: options.metrics,
            snapshot_every: options.snapshot_every.max(1),
            snapshot_seq: AtomicU64::new(0),
            snapshot_bytes: AtomicU64::new(0),
            log_bytes: AtomicU64::new(0),
            snapshot_running: AtomicBool::new(false),
            stop: Notify::new(),
        });
        node.check_format().await?;
        node.warn_if_not_durable().await;
        node.watch_spooled()?;
        let started = std::time::Instant::now();
        Arc::clone(&node).load_snapshot().await?;
        let from = node.applied();
        node.sync_to_tail().await?;
        tracing::info!(
            redis = node.redis.shown(),
            snapshot = from,
            replayed = node.applied() - from,
            spooled = node.spool.pending(),
            ms = started.elapsed().as_millis() as u64,
            "caught up with the shared log"
        );
        if node.spool.is_active() {
            tracing::warn!(
                records = node.spool.pending(),
                "records from an earlier outage are waiting in the spool; replaying them"
            );
        }
        let background = tokio::spawn(Arc::clone(&node).background());
        Ok(RedisStore {
            node,
            background: Mutex::new(Some(background)),
        })
    }
}

impl Node {
    fn applied(&self) -> u64 {
        self.applied.load(Ordering::Acquire)
    }

    fn outage(&self) -> Option<String> {
        lock(&self.outage).clone()
    }

    /// Redis did not answer: serve without it until it does.
    fn enter_outage(&self, why: &str) {
        let mut outage = lock(&self.outage);
        if outage.is_none() {
            tracing::warn!(
                redis = self.redis.shown(),
                error = why,
                "redis unreachable: spooling records locally"
            );
        }
        *outage = Some(why.to_string());
    }

    fn failure(&self) -> Option<String> {
        lock(&self.failed).clone()
    }

    fn fail(&self, why: String) {
        tracing::error!(error = %why, "the redis store stopped accepting writes");
        *lock(&self.failed) = Some(why);
    }

    fn health(&self) -> Health {
        if let Some(why) = self.failure() {
            return Health::Failed(why);
        }
        match self.outage() {
            Some(why) => Health::Degraded(format!(
                "redis {} unreachable ({why}); {} records spooled",
                self.redis.shown(),
                self.spool.pending()
            )),
            None if self.spool.is_active() => Health::Degraded(format!(
                "replaying {} spooled records into redis",
                self.spool.pending()
            )),
            None => Health::Ok,
        }
    }

    /// Data under the prefix must be of this build's format. Data written before the format was
    /// recorded (version 2) has a log position but no format key: refused, like a newer format.
    async fn check_format(&self) -> Result<(), StoreError> {
        let ours = codec::FORMAT.to_string();
        let mut get = redis::Cmd::new();
        get.arg("GET").arg(&self.keys.format);
        let found: Option<String> = match self.redis.query(&get).await? {
            Some(found) => Some(found),
            None => {
                let mut exists = redis::Cmd::new();
                exists
                    .arg("EXISTS")
                    .arg(&self.keys.seq)
                    .arg(&self.keys.snapshot);
                let older: u64 = self.redis.query(&exists).await?;
                if older > 0 {
                    Some("2".to_string())
                } else {
                    let mut set = redis::Cmd::new();
                    set.arg("SET").arg(&self.keys.format).arg(&ours).arg("NX");
                    let _: Option<String> = self.redis.query(&set).await?;
                    None
                }
            }
        };
        match found {
            Some(found) if found != ours => Err(StoreError::OtherVersion {
                path: format!(
                    "redis {} keys {}*",
                    self.redis.shown(),
                    self.keys.format.trim_end_matches("format")
                ),
                what: "shared log",
                found,
                reads: ours,
            }),
            _ => Ok(()),
        }
    }

    /// Redis without an append-only file forgets acknowledged records when it restarts.
    async fn warn_if_not_durable(&self) {
        let mut cmd = redis::Cmd::new();
        cmd.arg("CONFIG").arg("GET").arg("appendonly");
        if let Ok(answer) = self.redis.query::<HashMap<String, String>>(&cmd).await
            && answer.get("appendonly").is_some_and(|v| v == "no")
        {
            tracing::warn!(
                redis = self.redis.shown(),
                "redis runs without appendonly: a restart of redis loses acknowledged events"
            );
        }
    }

    /// Replays the spool when Redis is back, and takes snapshots when they are due.
    async fn background(self: Arc<Self>) {
        for tick in 0u64.. {
            tokio::select! {
                () = self.stop.notified() => return,
                () = tokio::time::sleep(TICK) => {}
            }
            if let Err(e) = self.heal().await {
                tracing::info!(error = %e, "redis still unreachable");
            }
            if tick % KEEP_ALIVE_TICKS == 0 {
                self.redis.keep_alive().await;
            }
            // Summaries whose caller gave up waiting (its catch-up failed) are not picked up.
            let applied = self.applied();
            lock(&self.summaries).retain(|seq, _| seq.saturating_add(SUMMARIES_KEPT) > applied);
            let due = snapshot_due(
                applied.saturating_sub(self.snapshot_seq.load(Ordering::Relaxed)),
                self.snapshot_every,
                self.log_bytes.load(Ordering::Relaxed),
                self.snapshot_bytes.load(Ordering::Relaxed),
            );
            if due
                && self.outage().is_none()
                && log::lease(
                    &self.redis,
                    &self.scripts,
                    &self.keys.snapshot_lease,
                    &self.name,
                    60_000,
                )
                .await
                .unwrap_or(false)
                && let Err(e) = Arc::clone(&self).write_snapshot(false).await
            {
                tracing::warn!(error = %e, "snapshot into redis failed");
            }
        }
    }
}

#[cfg(test)]
mod tests;
