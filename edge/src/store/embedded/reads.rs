//! The `Store` trait over the embedded state: writes go through the log writer, reads look at
//! memory. Locks are taken one at a time and never held across an await.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::EmbeddedStore;
use crate::accounts::HotAccount;
use crate::rules::stats::{ArmKey, Counts};
use crate::store::person::{Person, PersonId};
use crate::store::record::AdminOp;
use crate::store::state::feed::FeedKey;
use crate::store::state::lock;
use crate::store::state::outbox::OutboxEntry;
use crate::store::{
    Batch, FeedItem, FeedPage, Health, Recorded, Store, StoreError, StoreStats, Visitor, VisitorKey,
};

/// Entries looked at per feed page at most: a long run of other sites' sessions ends a page early
/// (with a cursor past them) rather than stalling the request.
const MAX_SCAN: usize = 10_000;

#[async_trait::async_trait]
impl Store for EmbeddedStore {
    async fn record(&self, batch: Batch) -> Result<Recorded, StoreError> {
        self.record_batch(batch).await
    }

    async fn visitor(&self, key: &VisitorKey) -> Result<Option<Visitor>, StoreError> {
        Ok(self
            .shared
            .state
            .visitors
            .get(key)
            .map(|v| Visitor::clone(&v)))
    }

    async fn read_visitor(
        &self,
        key: &VisitorKey,
        read: &mut (dyn for<'v> FnMut(Option<&'v Visitor>) + Send),
    ) -> Result<(), StoreError> {
        let guard = self.shared.state.visitors.get(key);
        read(guard.as_deref().map(|v| &**v));
        Ok(())
    }

    fn popup_totals(&self) -> std::collections::BTreeMap<ArmKey, Counts> {
        self.shared.state.tally.totals()
    }

    async fn admin(&self, op: AdminOp) -> Result<u64, StoreError> {
        self.record_admin(op).await
    }

    async fn person(&self, id: PersonId) -> Result<Option<Person>, StoreError> {
        let state = &self.shared.state;
        let mut id = id;
        // Merges chain at most as often as people were merged; bounded to be safe.
        for _ in 0..64 {
            match state.merged.get(&id).map(|s| *s) {
                Some(survivor) => id = survivor,
                None => break,
            }
        }
        Ok(state.persons.get(&id).map(|p| p.clone()))
    }

    async fn visitors_of(&self, person: &Person) -> Result<Vec<Visitor>, StoreError> {
        let state = &self.shared.state;
        Ok(person
            .visitors
            .iter()
            .filter_map(|id| {
                let key = VisitorKey {
                    site: Arc::clone(&person.site),
                    id: *id,
                };
                state.visitors.get(&key).map(|v| Visitor::clone(&v))
            })
            .collect())
    }

    async fn sessions_feed(
        &self,
        site: &str,
        after: Option<FeedKey>,
        limit: usize,
    ) -> Result<FeedPage, StoreError> {
        let state = &self.shared.state;
        // Copy the keys out first: the writer takes the feed lock while holding a visitor.
        let scanned = lock(&state.feed).page(after, MAX_SCAN.max(limit));
        let mut page = FeedPage::default();
        for (key, visitor_key) in scanned {
            page.next = Some(key);
            if &*visitor_key.site != site {
                continue;
            }
            // Copy out the one session, then let go of the visitor before reading its person.
            let found = state.visitors.get(&visitor_key).and_then(|v| {
                let session = v.sessions.iter().find(|s| s.id == key.1)?.clone();
                Some((v.id, v.session_owner(&session), session, v.company.clone()))
            });
            let Some((visitor, owner, session, company)) = found else {
                continue;
            };
            let person = owner.and_then(|id| state.persons.get(&id).map(|p| p.clone()));
            page.items.push(FeedItem {
                key,
                visitor,
                session,
                person,
                company,
            });
            if page.items.len() == limit {
                break;
            }
        }
        Ok(page)
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
