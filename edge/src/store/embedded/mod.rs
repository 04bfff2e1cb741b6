//! The default store: state in memory, made durable by a checksummed write-ahead log with group
//! commit, and bounded in recovery time by snapshots. `kill -9` at any moment loses nothing
//! that was acknowledged, because nothing is acknowledged before its `fdatasync` returned.

mod files;
mod frame;
mod recovery;
mod snapshot;
mod writer;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use dashmap::DashMap;
use tokio::sync::{mpsc, oneshot};

use self::writer::{Command, Pending, Writer};
use super::{
    Batch, Health, Recorded, SessionRules, Store, StoreError, StoreStats, Visitor, VisitorKey,
};
use crate::metrics::StoreMetrics;
use crate::rules::ledger;
use crate::rules::stats::{ArmKey, Counts, Tally};

/// Batches waiting for the writer at most; callers wait for room beyond that (backpressure).
const QUEUE: usize = 8192;

pub struct EmbeddedOptions {
    pub dir: PathBuf,
    pub rules: SessionRules,
    pub snapshot_after_bytes: u64,
    pub metrics: StoreMetrics,
}

pub struct EmbeddedStore {
    tx: mpsc::Sender<Command>,
    shared: Arc<Shared>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

/// State shared by the request tasks (reads) and the writer thread (the only writer).
pub(crate) struct Shared {
    visitors: DashMap<VisitorKey, Visitor>,
    rules: SessionRules,
    metrics: StoreMetrics,
    health: Mutex<Health>,
    events: AtomicU64,
    log_bytes: AtomicU64,
    last_seq: AtomicU64,
    /// One snapshot at a time.
    snapshot_running: AtomicBool,
    /// Popup results, kept up to date as batches apply.
    tally: Tally,
}

impl Shared {
    fn apply(&self, seq: u64, batch: &Batch) -> Recorded {
        let key = VisitorKey {
            site: Arc::clone(&batch.site),
            id: batch.visitor,
        };
        let mut entry = self.visitors.entry(key).or_insert_with(|| {
            Visitor::new(Arc::clone(&batch.site), batch.visitor, batch.received_ms)
        });
        let touches = batch.events.iter().any(|e| ledger::touches(&e.event));
        let before = if touches { entry.popups.clone() } else { None };
        let visit = entry.apply(seq, batch, &self.rules);
        if touches {
            self.tally
                .replace(before.as_deref(), entry.popups.as_deref());
        }
        drop(entry);
        self.events
            .fetch_add(batch.events.len() as u64, Ordering::Relaxed);
        self.last_seq.store(seq, Ordering::Relaxed);
        Recorded { seq, visit }
    }

    fn health(&self) -> Health {
        self.health
            .lock()
            .map(|h| h.clone())
            .unwrap_or_else(|_| Health::Failed("health lock poisoned".into()))
    }

    fn set_health(&self, health: Health) {
        if let Ok(mut current) = self.health.lock() {
            *current = health;
        }
    }
}

impl EmbeddedStore {
    /// Opens the data directory, recovers snapshot + log, and starts the writer.
    pub fn open(options: EmbeddedOptions) -> Result<EmbeddedStore, StoreError> {
        let shared = Arc::new(Shared {
            visitors: DashMap::new(),
            rules: options.rules,
            metrics: options.metrics,
            health: Mutex::new(Health::Ok),
            events: AtomicU64::new(0),
            log_bytes: AtomicU64::new(0),
            last_seq: AtomicU64::new(0),
            snapshot_running: AtomicBool::new(false),
            tally: Tally::default(),
        });
        let recovered = recovery::recover(&options.dir, &shared)?;
        // Snapshot-loaded visitors bypassed `apply`: count every history afresh.
        shared.tally.reset(std::iter::empty());
        for visitor in shared.visitors.iter() {
            shared.tally.replace(None, visitor.popups.as_deref());
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        let writer = Writer {
            rx,
            shared: Arc::clone(&shared),
            appender: recovered.appender,
            next_seq: recovered.next_seq,
            dir: options.dir,
            snapshot_after_bytes: options.snapshot_after_bytes,
            snapshot_seq: recovered.snapshot_seq,
        };
        let handle = std::thread::Builder::new()
            .name("mikomi-wal".into())
            .spawn(move || writer.run())
            .map_err(|e| StoreError::io("start the log writer thread", e))?;
        Ok(EmbeddedStore {
            tx,
            shared,
            writer: Mutex::new(Some(handle)),
        })
    }
}

#[async_trait::async_trait]
impl Store for EmbeddedStore {
    async fn record(&self, batch: Batch) -> Result<Recorded, StoreError> {
        let payload = postcard::to_stdvec(&batch)
            .map_err(|e| StoreError::io("encode a batch", std::io::Error::other(e)))?;
        let (done, answer) = oneshot::channel();
        self.tx
            .send(Command::Record(Pending {
                batch,
                payload,
                done,
            }))
            .await
            .map_err(|_| StoreError::Unavailable("the store is closed".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the log writer stopped".into()))?
    }

    async fn visitor(&self, key: &VisitorKey) -> Result<Option<Visitor>, StoreError> {
        Ok(self.shared.visitors.get(key).map(|v| v.clone()))
    }

    async fn read_visitor(
        &self,
        key: &VisitorKey,
        read: &mut (dyn for<'v> FnMut(Option<&'v Visitor>) + Send),
    ) -> Result<(), StoreError> {
        let guard = self.shared.visitors.get(key);
        read(guard.as_deref());
        Ok(())
    }

    fn popup_totals(&self) -> std::collections::BTreeMap<ArmKey, Counts> {
        self.shared.tally.totals()
    }

    fn health(&self) -> Health {
        self.shared.health()
    }

    fn stats(&self) -> StoreStats {
        StoreStats {
            visitors: self.shared.visitors.len() as u64,
            events: self.shared.events.load(Ordering::Relaxed),
            log_bytes: self.shared.log_bytes.load(Ordering::Relaxed),
            last_seq: self.shared.last_seq.load(Ordering::Relaxed),
        }
    }

    async fn close(&self) -> Result<(), StoreError> {
        let (done, answer) = oneshot::channel();
        if self.tx.send(Command::Close(done)).await.is_err() {
            return Ok(()); // already closed
        }
        let result = answer
            .await
            .map_err(|_| StoreError::Unavailable("the log writer stopped".into()))?;
        let handle = self.writer.lock().ok().and_then(|mut h| h.take());
        if let Some(handle) = handle {
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
        result
    }
}

#[cfg(test)]
mod tests;
