//! Where visitors live. One trait, so the collect path and the API do not care whether state is
//! embedded in this process or shared through Redis by several edge nodes.

pub mod embedded;
pub mod frame;
pub mod redis;
#[cfg(test)]
mod test_support;

use serde::Serialize;

use crate::accounts::HotAccount;
use crate::engine::FeedPage;
use crate::engine::feed::FeedKey;
use crate::engine::outbox::OutboxEntry;
use crate::model::person::{Person, PersonId};
use crate::model::record::AdminOp;
use crate::model::{Batch, VisitSummary, Visitor, VisitorKey};
use crate::rules::stats::{ArmKey, Counts};

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
         version that wrote it, or move the data directory aside to start empty"
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

/// The storage behind the edge.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores a batch durably, then returns; an error means nothing of it was stored.
    async fn record(&self, batch: Batch) -> Result<Recorded, StoreError>;

    /// A visitor's record, if the visitor is known.
    async fn visitor(&self, key: &VisitorKey) -> Result<Option<Visitor>, StoreError>;

    /// Stores a change from the backend API durably; returns its log position.
    async fn admin(&self, op: AdminOp) -> Result<u64, StoreError>;

    /// A person by id, following merges to the survivor.
    async fn person(&self, id: PersonId) -> Result<Option<Person>, StoreError>;

    /// The visitors a person's timeline is made of.
    async fn visitors_of(&self, person: &Person) -> Result<Vec<Visitor>, StoreError>;

    /// Identified sessions of `site` after `after`, in feed order.
    async fn sessions_feed(
        &self,
        site: &str,
        after: Option<FeedKey>,
        limit: usize,
    ) -> Result<FeedPage, StoreError>;

    async fn hot_accounts(
        &self,
        site: &str,
        now_ms: i64,
        window_ms: i64,
        limit: usize,
    ) -> Result<Vec<HotAccount>, StoreError>;

    /// Webhook events not yet delivered everywhere, oldest first.
    async fn outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError>;

    /// Rewrites the data files so that nothing removed from state survives on disk (erasure).
    async fn compact(&self) -> Result<(), StoreError>;

    /// Runs `read` over the visitor's current state (`None` if unknown) under the store's read
    /// access, without copying the record: popup decisions run this on every page view.
    /// `read` must be quick and must not call back into the store.
    async fn read_visitor(
        &self,
        key: &VisitorKey,
        read: &mut (dyn for<'v> FnMut(Option<&'v Visitor>) + Send),
    ) -> Result<(), StoreError>;

    /// Popup results per (rule, arm), over every visitor.
    fn popup_totals(&self) -> std::collections::BTreeMap<ArmKey, Counts>;

    fn health(&self) -> Health;

    fn stats(&self) -> StoreStats;

    /// Finishes pending writes and leaves the data ready for a fast restart.
    async fn close(&self) -> Result<(), StoreError>;
}
