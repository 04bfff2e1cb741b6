//! The identified-sessions feed: pages of sessions in the order they last changed, from a
//! cursor the caller got from the previous page.

use crate::engine::FeedPage;
use crate::engine::feed::FeedKey;
use crate::store::{Store, StoreError};

pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum SessionsError {
    #[error("limit is 1 to {MAX_LIMIT}")]
    InvalidLimit,
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// Identified sessions of `site` after `after`.
pub async fn feed(
    store: &dyn Store,
    site: &str,
    after: Option<FeedKey>,
    limit: usize,
) -> Result<FeedPage, SessionsError> {
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(SessionsError::InvalidLimit);
    }
    Ok(store.sessions_feed(site, after, limit).await?)
}
