//! The `Store` trait over the shared log: writes append; before a read this node catches up
//! with the log, so it sees what any node acknowledged before (the reads themselves are the
//! trait's, answered from the engine).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{Node, RedisStore, log};
use crate::engine::{Engine, lock};
use crate::model::Batch;
use crate::model::record::AdminOp;
use crate::store::{Freshness, Health, Recorded, Store, StoreError, StoreStats};

/// How long the webhook lease lasts without renewal: one node delivers at a time.
const WEBHOOK_LEASE_MS: u64 = 30_000;

impl Node {
    /// Catches up before an API read. During an outage the local copy is served as it is (health
    /// says degraded), rather than refusing every read.
    async fn fresh(&self) -> Result<(), StoreError> {
        if self.outage().is_some() {
            return Ok(());
        }
        self.sync_to_tail().await
    }
}

#[async_trait::async_trait]
impl Store for RedisStore {
    async fn record(&self, batch: Batch) -> Result<Recorded, StoreError> {
        self.node.record_batch(batch).await
    }

    async fn admin(&self, op: AdminOp) -> Result<u64, StoreError> {
        self.node.record_admin(op).await
    }

    fn engine(&self) -> &Engine {
        &self.node.state
    }

    async fn catch_up(&self, freshness: Freshness) -> Result<bool, StoreError> {
        let node = &self.node;
        match freshness {
            Freshness::Api => node.fresh().await.map(|()| true),
            Freshness::Decision => {
                // A popup decided on a stale copy could break a cap: no decision during an
                // outage.
                if let Some(why) = node.outage() {
                    return Err(StoreError::Unavailable(why));
                }
                node.sync_to_tail().await.map(|()| true)
            }
            // Only the node holding the webhook lease delivers, so a receiver gets each event
            // from one node, not from all of them.
            Freshness::Delivery => {
                if node.outage().is_some() {
                    return Ok(false);
                }
                let held = log::lease(
                    &node.redis,
                    &node.scripts,
                    &node.keys.webhook_lease,
                    &node.name,
                    WEBHOOK_LEASE_MS,
                )
                .await?;
                if held {
                    node.sync_to_tail().await?;
                }
                Ok(held)
            }
        }
    }

    /// Erasure: a snapshot without the erased data replaces the log that still held it.
    async fn compact(&self) -> Result<(), StoreError> {
        self.node.sync_to_tail().await?;
        Arc::clone(&self.node).write_snapshot(true).await?;
        self.node.rewrite_append_only_file().await;
        Ok(())
    }

    fn health(&self) -> Health {
        self.node.health()
    }

    fn stats(&self) -> StoreStats {
        StoreStats {
            visitors: self.node.state.visitors.len() as u64,
            events: self.node.events.load(Ordering::Relaxed),
            log_bytes: self.node.spool.bytes(),
            last_seq: self.node.applied(),
        }
    }

    async fn close(&self) -> Result<(), StoreError> {
        self.node.stop.notify_one();
        let background = lock(&self.background).take();
        if let Some(task) = background {
            let _ = task.await;
        }
        if self.node.spool.is_active()
            && let Err(e) = self.node.heal().await
        {
            tracing::warn!(
                error = %e,
                records = self.node.spool.pending(),
                "spooled records stay on disk until the next start"
            );
        }
        Ok(())
    }
}
