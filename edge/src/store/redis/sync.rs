//! Catching up with the shared log: reading what any node appended and applying it, in order,
//! to this node's state. One task applies at a time; the others wait for it and share its work,
//! so a burst of requests costs one read of the log, not one each.

use std::sync::atomic::Ordering;

use super::Node;
use super::log::{self, Entry};
use crate::engine::lock;
use crate::model::record::LogRecord;
use crate::store::StoreError;

/// Records read from the log per call.
const PAGE: usize = 512;

/// The applier's own bookkeeping, behind the applier lock.
#[derive(Default)]
pub struct Tail {
    /// Every catch-up request up to this one has been served.
    served: u64,
}

impl Node {
    /// Waits until the record at `seq` is applied here.
    pub(super) async fn sync_to(&self, seq: u64) -> Result<(), StoreError> {
        if self.applied() >= seq {
            return Ok(());
        }
        let mut tail = self.tail.lock().await;
        while self.applied() < seq {
            if self.pull(&mut tail).await? == 0 {
                return Err(StoreError::Unavailable(format!(
                    "record {seq} is not in the shared log"
                )));
            }
        }
        Ok(())
    }

    /// Applies everything appended before this call.
    pub(super) async fn sync_to_tail(&self) -> Result<(), StoreError> {
        let ticket = self.requested.fetch_add(1, Ordering::AcqRel) + 1;
        let mut tail = self.tail.lock().await;
        if tail.served >= ticket {
            return Ok(()); // a catch-up that began after this request has finished
        }
        let covering = self.requested.load(Ordering::Acquire);
        while self.pull(&mut tail).await? == PAGE {}
        tail.served = covering;
        Ok(())
    }

    /// Reads and applies one page of the log; returns how many records it held.
    async fn pull(&self, _tail: &mut Tail) -> Result<usize, StoreError> {
        if let Some(why) = self.failure() {
            return Err(StoreError::Unavailable(why));
        }
        let applied = self.applied();
        let entries = match log::read_after(&self.redis, &self.keys, applied, PAGE).await {
            Ok(entries) => entries,
            Err(StoreError::Unavailable(why)) => {
                self.enter_outage(&why);
                return Err(StoreError::Unavailable(why));
            }
            Err(other) => {
                self.fail(other.to_string());
                return Err(other);
            }
        };
        let count = entries.len();
        for (expected, entry) in (applied + 1..).zip(entries) {
            if entry.seq != expected {
                let why = format!(
                    "this node has applied the shared log up to {applied}, but redis no longer \
                     holds record {expected} (trimmed after a snapshot, or redis lost its data): \
                     restart the node to start from the newest snapshot"
                );
                self.fail(why.clone());
                return Err(StoreError::Unavailable(why));
            }
            self.apply(entry);
        }
        Ok(count)
    }

    fn apply(&self, entry: Entry) {
        let visit = self.state.apply(entry.seq, &entry.record);
        self.log_bytes.fetch_add(entry.bytes, Ordering::Relaxed);
        if let (Some(_), LogRecord::Batch(batch)) = (&visit, &entry.record) {
            let events = batch.events.len() as u64;
            self.events.fetch_add(events, Ordering::Relaxed);
            self.metrics.events_stored.inc_by(events);
        }
        if entry.node == self.name {
            if let Some(visit) = visit {
                lock(&self.summaries).insert(entry.seq, visit);
            }
            if let Some(landed) = lock(&self.watched).get_mut(&entry.id) {
                *landed = true;
            }
        }
        self.applied.store(entry.seq, Ordering::Release);
    }
}
