//! The log writer: one OS thread that owns the open segment. It takes every batch waiting in its
//! queue, writes them with one `write` and one `fdatasync` (group commit), applies them to memory
//! in log order, and only then answers their callers. One thread applying in log order is what
//! makes recovery (replaying the same log through the same `apply`) give the same state.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use super::Shared;
use super::files::{self, Appender};
use super::snapshot;
use crate::model::VisitSummary;
use crate::model::record::LogRecord;
use crate::store::cadence::snapshot_due;
use crate::store::frame;
use crate::store::{Health, StoreError};

/// A group commit (write, sync and apply) this slow is logged: it held up every request behind
/// it.
const SLOW_COMMIT: std::time::Duration = std::time::Duration::from_millis(20);

/// Batches committed with one sync at the most; bounds a group's latency under overload.
const MAX_GROUP: usize = 2048;

pub(super) enum Command {
    Record(Pending),
    /// Commit what is queued, write a final snapshot, stop.
    Close(oneshot::Sender<Result<(), StoreError>>),
    /// Start a new segment and snapshot, removing every older file: after an erasure. Answered
    /// when the snapshot is durable; the snapshot is written beside the writer, which goes on
    /// committing, and erasures that arrive together share one.
    Compact(oneshot::Sender<Result<(), StoreError>>),
    /// A background snapshot finished: compactions that waited for it may start.
    SnapshotDone,
}

/// Callers waiting for a compaction.
type Waiters = Vec<oneshot::Sender<Result<(), StoreError>>>;

pub(super) struct Pending {
    pub record: LogRecord,
    /// The record, encoded by the caller so that encoding runs on all cores.
    pub payload: Vec<u8>,
    pub done: oneshot::Sender<Result<(u64, Option<VisitSummary>), StoreError>>,
}

pub(super) struct Writer {
    pub rx: mpsc::Receiver<Command>,
    pub shared: Arc<Shared>,
    pub appender: Appender,
    pub next_seq: u64,
    pub dir: PathBuf,
    pub snapshot_after_bytes: u64,
    /// The log position of the last snapshot: a close with nothing newer writes none.
    pub snapshot_seq: u64,
    /// Compactions asked for and not yet started (a snapshot was running).
    pub compactions: Waiters,
    /// Lets a finished snapshot wake the writer without keeping its queue open.
    pub wake: mpsc::WeakSender<Command>,
}

impl Writer {
    pub fn run(mut self) {
        let mut group = Vec::with_capacity(64);
        let mut buf = Vec::with_capacity(1 << 20);
        while let Some(command) = self.rx.blocking_recv() {
            let mut close = self.take(command, &mut group);
            while close.is_none() && group.len() < MAX_GROUP {
                match self.rx.try_recv() {
                    Ok(command) => close = self.take(command, &mut group),
                    Err(_) => break,
                }
            }
            if !group.is_empty() {
                self.commit(&mut group, &mut buf);
            }
            if let Some(done) = close {
                self.rx.close();
                while let Ok(command) = self.rx.try_recv() {
                    match command {
                        Command::Record(pending) => group.push(pending),
                        Command::Close(other) | Command::Compact(other) => {
                            self.compactions.push(other);
                        }
                        Command::SnapshotDone => {}
                    }
                }
                if !group.is_empty() {
                    self.commit(&mut group, &mut buf);
                }
                // The final snapshot leaves no older file: it is every waiting compaction too.
                let result = self.final_snapshot();
                answer(std::mem::take(&mut self.compactions), &result);
                let _ = done.send(result);
                return;
            }
            if !self.compactions.is_empty() {
                self.start_compaction();
            } else {
                self.maybe_snapshot();
            }
        }
    }

    /// Sorts one command into the group, the waiting compactions, or a close (returned).
    fn take(
        &mut self,
        command: Command,
        group: &mut Vec<Pending>,
    ) -> Option<oneshot::Sender<Result<(), StoreError>>> {
        match command {
            Command::Record(pending) => group.push(pending),
            Command::Close(done) => {
                self.shared.hurry.store(true, Ordering::Release);
                return Some(done);
            }
            Command::Compact(done) => self.compactions.push(done),
            Command::SnapshotDone => {}
        }
        None
    }

    fn commit(&mut self, group: &mut Vec<Pending>, buf: &mut Vec<u8>) {
        if let Health::Failed(reason) = self.shared.health() {
            for pending in group.drain(..) {
                let _ = pending
                    .done
                    .send(Err(StoreError::Unavailable(reason.clone())));
            }
            return;
        }
        buf.clear();
        for (i, pending) in group.iter().enumerate() {
            frame::encode(buf, self.next_seq + i as u64, &pending.payload);
        }
        let started = Instant::now();
        let written = self.appender.append(buf);
        let metrics = &self.shared.metrics;
        let took = started.elapsed();
        metrics.fsync_seconds.observe(took.as_secs_f64());
        match written {
            Ok(()) => {
                metrics.group_size.observe(group.len() as f64);
                self.shared
                    .log_bytes
                    .fetch_add(buf.len() as u64, Ordering::Relaxed);
                let batches = group.len();
                for pending in group.drain(..) {
                    let seq = self.next_seq;
                    self.next_seq += 1;
                    let visit = self.shared.apply(seq, &pending.record);
                    if let LogRecord::Batch(batch) = &pending.record {
                        metrics.events_stored.inc_by(batch.events.len() as u64);
                    }
                    let _ = pending.done.send(Ok((seq, visit)));
                }
                let total = started.elapsed();
                if total >= SLOW_COMMIT {
                    // Every request of the group, and every one queued behind it, waited this.
                    tracing::info!(
                        write_and_sync_ms = took.as_millis() as u64,
                        apply_ms = (total - took).as_millis() as u64,
                        batches,
                        "slow group commit"
                    );
                }
                if matches!(self.shared.health(), Health::Degraded(_)) {
                    self.shared.set_health(Health::Ok);
                }
            }
            Err(e) => {
                let reason = format!("{}: write failed: {e}", self.appender.path.display());
                tracing::error!(%reason, "write-ahead log");
                let health = if self.appender.broken {
                    Health::Failed(reason.clone())
                } else {
                    Health::Degraded(reason.clone())
                };
                self.shared.set_health(health);
                for pending in group.drain(..) {
                    let _ = pending
                        .done
                        .send(Err(StoreError::Unavailable(reason.clone())));
                }
            }
        }
    }

    /// Past the size bound (`snapshot_due`), starts a new segment and snapshots in the
    /// background; the old segments go once the snapshot is durable.
    fn maybe_snapshot(&mut self) {
        let last = self.shared.snapshot_bytes.load(Ordering::Relaxed);
        let log = self.appender.len;
        if !snapshot_due(log, self.snapshot_after_bytes, log, last)
            || self.shared.snapshot_running.load(Ordering::Acquire)
        {
            return;
        }
        if let Err(e) = self.rotate() {
            tracing::warn!(error = %e, "could not start a new log segment; snapshot postponed");
            return;
        }
        self.start_snapshot(Vec::new());
    }

    /// Starts the compaction the waiting erasures asked for, unless a snapshot is running: one
    /// that started before them may hold what they erased, so theirs waits for the next one.
    fn start_compaction(&mut self) {
        if self.shared.snapshot_running.load(Ordering::Acquire) {
            return; // `SnapshotDone` comes back here
        }
        let waiters = std::mem::take(&mut self.compactions);
        if let Err(e) = self.rotate() {
            let e = StoreError::io(format!("{}: new segment", self.dir.display()), e);
            answer(waiters, &Err(e));
            return;
        }
        self.start_snapshot(waiters);
    }

    /// A new segment at the next position, unless the open one starts there already.
    fn rotate(&mut self) -> std::io::Result<()> {
        let seq = self.next_seq;
        if self.appender.path != files::segment_path(&self.dir, seq) {
            self.appender = files::create_segment(&self.dir, seq)?;
        }
        Ok(())
    }

    /// Writes the snapshot at the next position on its own thread, then removes every older
    /// file and answers `waiters`.
    fn start_snapshot(&mut self, waiters: Waiters) {
        let seq = self.next_seq;
        self.shared.snapshot_running.store(true, Ordering::Release);
        self.snapshot_seq = seq;
        let shared = Arc::clone(&self.shared);
        let dir = self.dir.clone();
        let wake = self.wake.clone();
        // A compaction someone waits for (an erasure) goes at full speed; a routine one beside
        // the traffic.
        let pace = if waiters.is_empty() {
            snapshot::Pace::Background
        } else {
            snapshot::Pace::Full
        };
        let spawned = std::thread::Builder::new()
            .name("mikomi-snapshot".into())
            .spawn(move || {
                let result = snapshot_and_trim(&shared, &dir, seq, pace);
                if let Err(e) = &result {
                    tracing::error!(error = %e, "snapshot failed; the log is kept whole");
                }
                shared.snapshot_running.store(false, Ordering::Release);
                answer(waiters, &result);
                if let Some(writer) = wake.upgrade() {
                    // Full: the writer is busy and looks at waiting compactions anyway.
                    let _ = writer.try_send(Command::SnapshotDone);
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start the snapshot thread");
            self.shared.snapshot_running.store(false, Ordering::Release);
        }
    }

    fn final_snapshot(&mut self) -> Result<(), StoreError> {
        while self.shared.snapshot_running.load(Ordering::Acquire) {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        if self.next_seq == self.snapshot_seq {
            return Ok(());
        }
        snapshot_and_trim(&self.shared, &self.dir, self.next_seq, snapshot::Pace::Full)
    }
}

/// Tells every waiting caller how the compaction went.
fn answer(waiters: Waiters, result: &Result<(), StoreError>) {
    for waiter in waiters {
        let copy = match result {
            Ok(()) => Ok(()),
            Err(e) => Err(StoreError::Unavailable(format!("compaction failed: {e}"))),
        };
        let _ = waiter.send(copy);
    }
}

/// Writes the snapshot for `seq`, then removes the segments and snapshots it makes redundant.
pub(super) fn snapshot_and_trim(
    shared: &Shared,
    dir: &std::path::Path,
    seq: u64,
    pace: snapshot::Pace,
) -> Result<(), StoreError> {
    let started = Instant::now();
    let count = snapshot::write(
        dir,
        seq,
        crate::store::codec::encoded_entries(&shared.state),
        pace,
        &shared.hurry,
    )?;
    let written_ms = started.elapsed().as_millis() as u64;
    let bytes = std::fs::metadata(files::snapshot_path(dir, seq)).map_or(0, |m| m.len());
    shared.snapshot_bytes.store(bytes, Ordering::Relaxed);
    let listing = files::list(dir).map_err(|e| StoreError::io(dir.display().to_string(), e))?;
    let mut trimmed_bytes = 0;
    for old in listing.segments.iter().filter(|s| s.seq < seq) {
        trimmed_bytes += std::fs::metadata(&old.path).map_or(0, |m| m.len());
        std::fs::remove_file(&old.path)
            .map_err(|e| StoreError::io(format!("{}: remove", old.path.display()), e))?;
    }
    for old in listing.snapshots.iter().filter(|s| s.seq < seq) {
        std::fs::remove_file(&old.path)
            .map_err(|e| StoreError::io(format!("{}: remove", old.path.display()), e))?;
    }
    shared.log_bytes.fetch_sub(
        trimmed_bytes.min(shared.log_bytes.load(Ordering::Relaxed)),
        Ordering::Relaxed,
    );
    files::sync_dir(dir).map_err(|e| StoreError::io(dir.display().to_string(), e))?;
    tracing::info!(
        seq,
        visitors = count,
        bytes,
        written_ms,
        ms = started.elapsed().as_millis() as u64,
        "snapshot written"
    );
    Ok(())
}
