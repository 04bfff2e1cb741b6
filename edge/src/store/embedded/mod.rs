//! The default store: state in memory, made durable by a checksummed write-ahead log with group
//! commit, and bounded in recovery time by snapshots. `kill -9` at any moment loses nothing
//! that was acknowledged, because nothing is acknowledged before its `fdatasync` returned.

mod files;
mod migrate;
mod reads;
mod recovery;
mod snapshot;
mod writer;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tokio::sync::{mpsc, oneshot};

use self::writer::{Command, Pending, Writer};
use super::{Batch, Health, Recorded, StoreError, VisitSummary};
use crate::engine::{Engine, Model};
use crate::metrics::StoreMetrics;
use crate::model::record::{AdminOp, LogRecord};

/// Records waiting for the writer at most; callers wait for room beyond that (backpressure).
const QUEUE: usize = 8192;

pub struct EmbeddedOptions {
    pub dir: PathBuf,
    pub model: Model,
    pub snapshot_after_bytes: u64,
    pub metrics: StoreMetrics,
}

pub struct EmbeddedStore {
    tx: mpsc::Sender<Command>,
    shared: Arc<Shared>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

/// What the request tasks (reads) and the writer thread (the only writer) share.
pub(crate) struct Shared {
    state: Engine,
    metrics: StoreMetrics,
    health: Mutex<Health>,
    events: AtomicU64,
    log_bytes: AtomicU64,
    last_seq: AtomicU64,
    /// One snapshot at a time.
    snapshot_running: AtomicBool,
    /// The newest snapshot's size: the log grows at least this much before the next one.
    snapshot_bytes: AtomicU64,
    /// A close is waiting: a background snapshot still running stops resting.
    hurry: AtomicBool,
}

impl Shared {
    fn apply(&self, seq: u64, record: &LogRecord) -> Option<VisitSummary> {
        let visit = self.state.apply(seq, record);
        if let (Some(_), LogRecord::Batch(batch)) = (&visit, record) {
            self.events
                .fetch_add(batch.events.len() as u64, Ordering::Relaxed);
        }
        self.last_seq.store(seq, Ordering::Relaxed);
        visit
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
            state: Engine::new(options.model),
            metrics: options.metrics,
            health: Mutex::new(Health::Ok),
            events: AtomicU64::new(0),
            log_bytes: AtomicU64::new(0),
            last_seq: AtomicU64::new(0),
            snapshot_running: AtomicBool::new(false),
            snapshot_bytes: AtomicU64::new(0),
            hurry: AtomicBool::new(false),
        });
        let recovered = recovery::recover(&options.dir, &shared)?;
        shared
            .snapshot_bytes
            .store(recovered.snapshot_bytes, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(QUEUE);
        let writer = Writer {
            rx,
            shared: Arc::clone(&shared),
            appender: recovered.appender,
            next_seq: recovered.next_seq,
            dir: options.dir,
            snapshot_after_bytes: options.snapshot_after_bytes,
            snapshot_seq: recovered.snapshot_seq,
            compactions: Vec::new(),
            wake: tx.downgrade(),
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

    /// Appends a record and waits until it is durable and applied.
    async fn append(&self, record: LogRecord) -> Result<(u64, Option<VisitSummary>), StoreError> {
        let payload = crate::store::codec::encode_record(&record)?;
        let (done, answer) = oneshot::channel();
        self.tx
            .send(Command::Record(Pending {
                record,
                payload,
                done,
            }))
            .await
            .map_err(|_| StoreError::Unavailable("the store is closed".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the log writer stopped".into()))?
    }

    async fn record_batch(&self, batch: Batch) -> Result<Recorded, StoreError> {
        match self.append(LogRecord::Batch(batch)).await? {
            (seq, Some(visit)) => Ok(Recorded { seq, visit }),
            (seq, None) => Err(StoreError::Unavailable(format!(
                "record {seq} was not applied to its visitor"
            ))),
        }
    }

    async fn record_admin(&self, op: AdminOp) -> Result<u64, StoreError> {
        Ok(self.append(LogRecord::Admin(op)).await?.0)
    }

    async fn close_writer(&self) -> Result<(), StoreError> {
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

    async fn compact_now(&self) -> Result<(), StoreError> {
        let (done, answer) = oneshot::channel();
        self.tx
            .send(Command::Compact(done))
            .await
            .map_err(|_| StoreError::Unavailable("the store is closed".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the log writer stopped".into()))?
    }
}

#[cfg(test)]
mod tests;
