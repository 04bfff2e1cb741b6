//! The `Store` trait over the shared log: writes append, reads catch up with the log and then
//! look at this node's copy of the state, so a node sees what any node acknowledged before.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{Node, RedisStore, log};
use crate::accounts::HotAccount;
use crate::engine::FeedPage;
use crate::engine::feed::FeedKey;
use crate::engine::lock;
use crate::engine::outbox::OutboxEntry;
use crate::model::person::{Person, PersonId};
use crate::model::record::AdminOp;
use crate::model::{Batch, Visitor, VisitorKey};
use crate::rules::stats::{ArmKey, Counts};
use crate::store::{Health, Recorded, Store, StoreError, StoreStats};

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

    async fn visitor(&self, key: &VisitorKey) -> Result<Option<Visitor>, StoreError> {
        self.node.fresh().await?;
        Ok(self.node.state.visitor(key))
    }

    async fn read_visitor(
        &self,
        key: &VisitorKey,
        read: &mut (dyn for<'v> FnMut(Option<&'v Visitor>) + Send),
    ) -> Result<(), StoreError> {
        // A popup decided on a stale copy could break a cap: no decision at all during an outage.
        if let Some(why) = self.node.outage() {
            return Err(StoreError::Unavailable(why));
        }
        self.node.sync_to_tail().await?;
        self.node.state.read_visitor(key, read);
        Ok(())
    }

    fn popup_totals(&self) -> std::collections::BTreeMap<ArmKey, Counts> {
        self.node.state.tally.totals()
    }

    async fn admin(&self, op: AdminOp) -> Result<u64, StoreError> {
        self.node.record_admin(op).await
    }

    async fn person(&self, id: PersonId) -> Result<Option<Person>, StoreError> {
        self.node.fresh().await?;
        Ok(self.node.state.person(id))
    }

    async fn visitors_of(&self, person: &Person) -> Result<Vec<Visitor>, StoreError> {
        self.node.fresh().await?;
        Ok(self.node.state.visitors_of(person))
    }

    async fn sessions_feed(
        &self,
        site: &str,
        after: Option<FeedKey>,
        limit: usize,
    ) -> Result<FeedPage, StoreError> {
        self.node.fresh().await?;
        Ok(self.node.state.feed_page(site, after, limit))
    }

    async fn hot_accounts(
        &self,
        site: &str,
        now_ms: i64,
        window_ms: i64,
        limit: usize,
    ) -> Result<Vec<HotAccount>, StoreError> {
        self.node.fresh().await?;
        Ok(lock(&self.node.state.accounts).hot(site, now_ms, window_ms, limit))
    }

    /// Only the node holding the webhook lease delivers, so a receiver gets each event from one
    /// node, not from all of them.
    async fn outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        let node = &self.node;
        if node.outage().is_some() {
            return Ok(Vec::new());
        }
        let held = log::lease(
            &node.redis,
            &node.scripts,
            &node.keys.webhook_lease,
            &node.name,
            WEBHOOK_LEASE_MS,
        )
        .await?;
        if !held {
            return Ok(Vec::new());
        }
        node.sync_to_tail().await?;
        Ok(lock(&node.state.outbox).pending(limit))
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
