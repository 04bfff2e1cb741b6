//! The `Store` trait over the embedded state: writes go through the log writer, reads look at
//! memory.

use std::sync::atomic::Ordering;

use super::EmbeddedStore;
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

#[async_trait::async_trait]
impl Store for EmbeddedStore {
    async fn record(&self, batch: Batch) -> Result<Recorded, StoreError> {
        self.record_batch(batch).await
    }

    async fn visitor(&self, key: &VisitorKey) -> Result<Option<Visitor>, StoreError> {
        Ok(self.shared.state.visitor(key))
    }

    async fn read_visitor(
        &self,
        key: &VisitorKey,
        read: &mut (dyn for<'v> FnMut(Option<&'v Visitor>) + Send),
    ) -> Result<(), StoreError> {
        self.shared.state.read_visitor(key, read);
        Ok(())
    }

    fn popup_totals(&self) -> std::collections::BTreeMap<ArmKey, Counts> {
        self.shared.state.tally.totals()
    }

    async fn admin(&self, op: AdminOp) -> Result<u64, StoreError> {
        self.record_admin(op).await
    }

    async fn person(&self, id: PersonId) -> Result<Option<Person>, StoreError> {
        Ok(self.shared.state.person(id))
    }

    async fn visitors_of(&self, person: &Person) -> Result<Vec<Visitor>, StoreError> {
        Ok(self.shared.state.visitors_of(person))
    }

    async fn sessions_feed(
        &self,
        site: &str,
        after: Option<FeedKey>,
        limit: usize,
    ) -> Result<FeedPage, StoreError> {
        Ok(self.shared.state.feed_page(site, after, limit))
    }

    async fn hot_accounts(
        &self,
        site: &str,
        now_ms: i64,
        window_ms: i64,
        limit: usize,
    ) -> Result<Vec<HotAccount>, StoreError> {
        Ok(lock(&self.shared.state.accounts).hot(site, now_ms, window_ms, limit))
    }

    async fn outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        Ok(lock(&self.shared.state.outbox).pending(limit))
    }

    async fn compact(&self) -> Result<(), StoreError> {
        self.compact_now().await
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
