//! Where visitors live. One trait, so the collect path and the API do not care whether state is
//! embedded in this process or shared through Redis by several edge nodes.

pub mod append;
pub mod cadence;
pub mod codec;
pub mod embedded;
pub mod frame;
pub mod redis;
#[cfg(test)]
mod test_support;

use serde::Serialize;

use crate::accounts::{AccountDetail, HotFilter, HotList, HotQuery};
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::engine::feed::FeedKey;
use crate::engine::outbox::OutboxEntry;
use crate::engine::{Engine, FeedPage, SiteOverview, lock};
use crate::model::person::{LeadFacts, Person, PersonId};
use crate::model::record::AdminOp;
use crate::model::{Batch, VisitSummary, Visitor, VisitorKey};
use crate::rules::stats::{ArmKey, Counts};
use crate::visitor_id::VisitorId;

/// What storing a batch did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// The log position the batch got: later batches get larger ones.
    pub seq: u64,
    pub visit: VisitSummary,
}

/// Whether the store accepts writes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "lowercase")]
pub enum Health {
    Ok,
    /// Serving, with a problem an operator should look at.
    Degraded(String),
    /// Not accepting writes.
    Failed(String),
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StoreStats {
    pub visitors: u64,
    pub events: u64,
    pub log_bytes: u64,
    pub last_seq: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the store is not accepting writes: {0}")]
    Unavailable(String),
    #[error("{path}: corrupt at byte {offset}: {reason}")]
    Corrupt {
        path: String,
        offset: u64,
        reason: String,
    },
    #[error(
        "{path}: written in {what} format {found}, and this build reads format {reads}: run the \
         version that wrote it, or start empty in another data directory (or Redis key prefix)"
    )]
    OtherVersion {
        path: String,
        what: &'static str,
        found: String,
        reads: String,
    },
}

impl StoreError {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        StoreError::Io {
            context: context.into(),
            source,
        }
    }
}

/// How fresh a read must be, and what a node that cannot make it so does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// Backend API reads: what any node acknowledged before; during an outage, the local copy
    /// as it is (health says degraded) rather than no answer.
    Api,
    /// Popup decisions: caught up, or an error: a decision on a stale copy could break a cap.
    Decision,
    /// Webhook delivery: only the one node that holds the delivery lease, caught up.
    Delivery,
}

/// A log backend and the engine it applies to: writes go through the log, and every read is
/// answered here, once, from the engine, after `catch_up`. The backends differ only in how
/// records become durable and ordered (a local write-ahead log, or a Redis stream shared by
/// several nodes) and in how a node catches up with the others.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores a batch durably and applies it, then returns; an error means nothing of it was
    /// stored.
    async fn record(&self, batch: Batch) -> Result<Recorded, StoreError>;

    /// Stores a change from the backend API durably; returns its log position.
    async fn admin(&self, op: AdminOp) -> Result<u64, StoreError>;

    /// Rewrites the data so that nothing removed from state survives (erasure).
    async fn compact(&self) -> Result<(), StoreError>;

    /// The engine this node applies the log to.
    fn engine(&self) -> &Engine;

    /// Brings the engine up to date for a read of this kind. `Ok(false)`: this node must not
    /// serve it now (another node delivers webhooks); the read answers empty.
    async fn catch_up(&self, freshness: Freshness) -> Result<bool, StoreError>;

    fn health(&self) -> Health;

    fn stats(&self) -> StoreStats;

    /// Finishes pending writes and leaves the data ready for a fast restart.
    async fn close(&self) -> Result<(), StoreError>;

    /// A visitor's record, if the visitor is known.
    async fn visitor(&self, key: &VisitorKey) -> Result<Option<Visitor>, StoreError> {
        self.catch_up(Freshness::Api).await?;
        Ok(self.engine().visitor(key))
    }

    /// Runs `read` over the visitor's current state (`None` if unknown) and what its owner's
    /// record says, at `now_ms`, under the engine's read access, without copying the record:
    /// popup decisions run this on every page view. `read` must be quick and must not call
    /// back into the store.
    async fn read_visitor(
        &self,
        key: &VisitorKey,
        now_ms: i64,
        read: &mut (dyn for<'v> FnMut(Option<&'v Visitor>, Option<LeadFacts>) + Send),
    ) -> Result<(), StoreError> {
        self.catch_up(Freshness::Decision).await?;
        self.engine().read_visitor(key, now_ms, read);
        Ok(())
    }

    /// A person by id, following merges to the survivor.
    async fn person(&self, id: PersonId) -> Result<Option<Person>, StoreError> {
        self.catch_up(Freshness::Api).await?;
        Ok(self.engine().person(id))
    }

    /// The visitors a person's timeline is made of.
    async fn visitors_of(&self, person: &Person) -> Result<Vec<Visitor>, StoreError> {
        self.catch_up(Freshness::Api).await?;
        Ok(self.engine().visitors_of(person))
    }

    /// Identified sessions of `site` after `after`, in feed order.
    async fn sessions_feed(
        &self,
        site: &str,
        after: Option<FeedKey>,
        limit: usize,
    ) -> Result<FeedPage, StoreError> {
        self.catch_up(Freshness::Api).await?;
        Ok(self.engine().feed_page(site, after, limit))
    }

    async fn hot_accounts(
        &self,
        site: &str,
        query: &HotQuery,
        filter: &HotFilter,
    ) -> Result<HotList, StoreError> {
        self.catch_up(Freshness::Api).await?;
        Ok(lock(&self.engine().accounts).hot_list(site, query, filter))
    }

    /// One account of `site`, whole: the console's company page.
    async fn account(&self, site: &str, domain: &str) -> Result<Option<AccountDetail>, StoreError> {
        self.catch_up(Freshness::Api).await?;
        Ok(lock(&self.engine().accounts).detail(site, domain))
    }

    /// The visitors an erasure of `person` must remove (see `Engine::erasure_targets`).
    async fn erasure_targets(
        &self,
        site: &Arc<str>,
        person: PersonId,
    ) -> Result<Vec<VisitorId>, StoreError> {
        self.catch_up(Freshness::Api).await?;
        Ok(self.engine().erasure_targets(site, person))
    }

    /// Every person of `site`.
    async fn people_of_site(&self, site: &str) -> Result<Vec<Person>, StoreError> {
        self.catch_up(Freshness::Api).await?;
        Ok(self.engine().people_of_site(site))
    }

    /// The visitors of `site` with these ids that are still kept.
    async fn visitors_by_id(
        &self,
        site: &Arc<str>,
        ids: &[VisitorId],
    ) -> Result<Vec<Visitor>, StoreError> {
        self.catch_up(Freshness::Api).await?;
        Ok(self.engine().visitors_by_id(site, ids))
    }

    /// How `site`'s traffic since `since_ms` resolves to companies.
    async fn site_overview(&self, site: &str, since_ms: i64) -> Result<SiteOverview, StoreError> {
        self.catch_up(Freshness::Api).await?;
        Ok(self.engine().site_overview(site, since_ms))
    }

    /// Webhook events not yet delivered everywhere, oldest first; empty on a node that does
    /// not deliver.
    async fn outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        if !self.catch_up(Freshness::Delivery).await? {
            return Ok(Vec::new());
        }
        Ok(lock(&self.engine().outbox).pending(limit))
    }

    /// Popup results per (rule, arm) over the visitors of `sites` (every site for `None`).
    fn popup_totals(&self, sites: Option<&[Arc<str>]>) -> BTreeMap<ArmKey, Counts> {
        self.engine().tally.totals(sites)
    }
}
