//! Writing: append to the shared log, or to the local spool while Redis is away, and replay the
//! spool when it is back.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::Node;
use super::conn::CallError;
use super::log;
use super::spool::Spooled;
use crate::engine::lock;
use crate::model::record::{AdminOp, LogRecord};
use crate::model::{Batch, VisitSummary, Visitor, VisitorKey};
use crate::store::{Recorded, StoreError};

/// Spooled records appended per Redis call on replay: replay must outrun new arrivals.
const REPLAY_GROUP: usize = 256;

/// Spooled records read into memory at once on replay (a record is at most one collect body's
/// worth, 64 KiB by default): an outage of hours is replayed chunk by chunk, never loaded whole.
pub(super) const REPLAY_CHUNK: usize = 4 * REPLAY_GROUP;

/// Where a record went.
enum Placed {
    /// In the shared log, at this position.
    Logged(u64),
    /// In this node's spool, waiting for Redis.
    Spooled,
}

impl Node {
    pub(super) async fn record_batch(&self, batch: Batch) -> Result<Recorded, StoreError> {
        let record = LogRecord::Batch(batch);
        let placed = self.place(&record).await?;
        let LogRecord::Batch(batch) = record else {
            unreachable!("the record was built as a batch above")
        };
        match placed {
            Placed::Logged(seq) => {
                let visit = match self.sync_to(seq).await {
                    Ok(()) => lock(&self.summaries).remove(&seq),
                    Err(e) => {
                        tracing::warn!(error = %e, seq, "stored, but not yet applied here");
                        None
                    }
                };
                Ok(Recorded {
                    seq,
                    visit: visit.unwrap_or_else(|| self.provisional(&batch)),
                })
            }
            Placed::Spooled => Ok(Recorded {
                seq: 0,
                visit: self.provisional(&batch),
            }),
        }
    }

    /// Changes from the backend API need the shared log: an operator retries them, so they are
    /// refused during an outage rather than spooled.
    pub(super) async fn record_admin(&self, op: AdminOp) -> Result<u64, StoreError> {
        if let Some(why) = self.outage() {
            return Err(StoreError::Unavailable(format!(
                "redis is unreachable ({why}); try again when it is back"
            )));
        }
        let record = LogRecord::Admin(op);
        let payload = log::encode(&record)?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let seq = self.appender.append(payload, id).await?;
        self.sync_to(seq).await?;
        Ok(seq)
    }

    /// Appends to the log, or to the spool when the log cannot be reached or records are already
    /// waiting there.
    async fn place(&self, record: &LogRecord) -> Result<Placed, StoreError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if self.outage().is_some() {
            return self.spool_started(id, record).await;
        }
        // Redis is back and the spool is being replayed: go behind it, unless it just emptied.
        if self.spool.is_active()
            && let Some(placed) = self.spool(id, false, record).await.transpose()
        {
            return placed;
        }
        let payload = log::encode(record)?;
        lock(&self.watched).insert(id, false);
        let before = self.applied();
        let appended = self.appender.append(payload, id).await;
        match appended {
            Ok(seq) => {
                lock(&self.watched).remove(&id);
                if seq <= before {
                    let why = format!(
                        "redis handed out log position {seq} again after {before}: it lost its \
                         data (run it with appendonly yes)"
                    );
                    self.fail(why.clone());
                    return Err(StoreError::Unavailable(why));
                }
                Ok(Placed::Logged(seq))
            }
            Err(e) => {
                let ambiguous = matches!(e, CallError::Unknown(_));
                if !ambiguous {
                    lock(&self.watched).remove(&id);
                }
                self.enter_outage(&e.to_string());
                self.spool_started(id, record).await
            }
        }
    }

    /// Appends to the spool, starting it if it is not in use.
    async fn spool_started(&self, id: u64, record: &LogRecord) -> Result<Placed, StoreError> {
        self.spool(id, true, record)
            .await?
            .ok_or_else(|| StoreError::Unavailable("the spool did not take a record".into()))
    }

    /// Appends to the spool, starting it if `start`; `None` if it was not in use and not started.
    async fn spool(
        &self,
        id: u64,
        start: bool,
        record: &LogRecord,
    ) -> Result<Option<Placed>, StoreError> {
        let spool = Arc::clone(&self.spool);
        let record = record.clone();
        let spooled = tokio::task::spawn_blocking(move || spool.append(start, id, &record))
            .await
            .map_err(|e| StoreError::Unavailable(format!("the spool writer stopped: {e}")))??;
        if !spooled {
            return Ok(None);
        }
        self.metrics.spooled.inc();
        Ok(Some(Placed::Spooled))
    }

    /// What the batch did to its visit, worked out on a copy: the batch is not applied here
    /// yet (it waits in the spool, or another task applies it).
    fn provisional(&self, batch: &Batch) -> VisitSummary {
        let key = VisitorKey {
            site: Arc::clone(&batch.site),
            id: batch.visitor,
        };
        let mut visitor = self.state.visitor(&key).unwrap_or_else(|| {
            Visitor::new(Arc::clone(&batch.site), batch.visitor, batch.received_ms)
        });
        visitor.apply(self.applied() + 1, batch, &self.state.model.sessions)
    }

    /// If Redis answers again: catch up, replay the spool in order, and leave the outage.
    pub(super) async fn heal(&self) -> Result<(), StoreError> {
        if self.outage().is_none() && !self.spool.is_active() {
            return Ok(());
        }
        let mut ping = redis::Cmd::new();
        ping.arg("PING");
        self.redis.query::<String>(&ping).await?;
        // Our own records that did reach the log before an answer was lost are marked now.
        self.sync_to_tail().await?;
        // New records go behind the spool until it is empty, then straight to Redis.
        if lock(&self.outage).take().is_some() {
            tracing::info!(
                redis = self.redis.shown(),
                "redis is back; replaying the spool"
            );
        }
        loop {
            let offset = self.spool_offset.load(Ordering::Acquire);
            let spool = Arc::clone(&self.spool);
            let waiting =
                tokio::task::spawn_blocking(move || spool.read_from(offset, REPLAY_CHUNK))
                    .await
                    .map_err(|e| {
                        StoreError::Unavailable(format!("the spool reader stopped: {e}"))
                    })??;
            if waiting.is_empty() {
                let spool = Arc::clone(&self.spool);
                let finished = tokio::task::spawn_blocking(move || spool.finish(offset))
                    .await
                    .map_err(|e| StoreError::Unavailable(format!("the spool stopped: {e}")))??;
                if finished {
                    self.spool_offset.store(0, Ordering::Release);
                    tracing::info!(redis = self.redis.shown(), "the spool is empty");
                    return Ok(());
                }
                continue; // a record arrived meanwhile
            }
            for group in waiting.chunks(REPLAY_GROUP) {
                self.replay(group).await?;
            }
            self.sync_to_tail().await?;
        }
    }

    /// Appends spooled records in one step, leaving out those that reached the log already.
    async fn replay(&self, group: &[Spooled]) -> Result<(), StoreError> {
        let mut records = Vec::with_capacity(group.len());
        {
            let mut watched = lock(&self.watched);
            for spooled in group {
                if watched.get(&spooled.id) == Some(&true) {
                    tracing::info!(
                        id = spooled.id,
                        "a spooled record had reached the log already"
                    );
                    continue;
                }
                if erased_since(&self.state, &spooled.record) {
                    // Its visitor was erased on another node while this one spooled: the
                    // record must not carry the data back into the shared log.
                    tracing::info!(
                        id = spooled.id,
                        "a spooled record of an erased visitor is dropped"
                    );
                    continue;
                }
                watched.insert(spooled.id, false);
                records.push((log::encode(&spooled.record)?, spooled.id));
            }
        }
        if !records.is_empty() {
            let appended =
                log::append_many(&self.redis, &self.keys, &self.scripts, &records, &self.name)
                    .await;
            if let Err(e) = appended {
                if !matches!(e, CallError::Unknown(_)) {
                    let mut watched = lock(&self.watched);
                    for (_, id) in &records {
                        watched.remove(id);
                    }
                }
                return Err(e.into());
            }
            self.metrics.replayed.inc_by(records.len() as u64);
        }
        let mut watched = lock(&self.watched);
        for spooled in group {
            watched.remove(&spooled.id);
            self.spool.replayed_one();
        }
        if let Some(last) = group.last() {
            self.spool_offset.store(last.end, Ordering::Release);
        }
        Ok(())
    }

    /// Records spooled before a restart may have reached the log before the node stopped:
    /// watch them, so the first catch-up marks those that did.
    pub(super) fn watch_spooled(&self) -> Result<(), StoreError> {
        let mut offset = 0;
        loop {
            let chunk = self.spool.read_from(offset, REPLAY_CHUNK)?;
            let Some(last) = chunk.last() else {
                return Ok(());
            };
            offset = last.end;
            let mut watched = lock(&self.watched);
            for spooled in &chunk {
                watched.insert(spooled.id, false);
            }
        }
    }
}

/// Whether the record is a batch of a visitor erased after the batch was received.
fn erased_since(state: &crate::engine::Engine, record: &LogRecord) -> bool {
    let LogRecord::Batch(batch) = record else {
        return false;
    };
    let key = crate::model::VisitorKey {
        site: std::sync::Arc::clone(&batch.site),
        id: batch.visitor,
    };
    lock(&state.erased).holds_back(&key, batch.received_ms)
}
