//! The `Store` trait over the embedded log: writes go through the log writer, which applies
//! them before it answers, so the engine is always caught up and reads need no catching up.

use std::sync::atomic::Ordering;

use super::EmbeddedStore;
use crate::engine::Engine;
use crate::model::Batch;
use crate::model::record::AdminOp;
use crate::store::{Freshness, Health, Recorded, Store, StoreError, StoreStats};

#[async_trait::async_trait]
impl Store for EmbeddedStore {
    async fn record(&self, batch: Batch) -> Result<Recorded, StoreError> {
        self.record_batch(batch).await
    }

    async fn admin(&self, op: AdminOp) -> Result<u64, StoreError> {
        self.record_admin(op).await
    }

    async fn compact(&self) -> Result<(), StoreError> {
        self.compact_now().await
    }

    fn engine(&self) -> &Engine {
        &self.shared.state
    }

    /// One process, one log: what was acknowledged is applied.
    async fn catch_up(&self, _: Freshness) -> Result<bool, StoreError> {
        Ok(true)
    }

    fn health(&self) -> Health {
        self.shared.health()
    }

    fn stats(&self) -> StoreStats {
        StoreStats {
            visitors: self.shared.state.visitors.len() as u64,
            events: self.shared.events.load(Ordering::Relaxed),
            log_bytes: self.shared.log_bytes.load(Ordering::Relaxed),
            last_seq: self.shared.last_seq.load(Ordering::Relaxed),
        }
    }

    async fn close(&self) -> Result<(), StoreError> {
        self.close_writer().await
    }
}
