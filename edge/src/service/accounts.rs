//! Hot accounts: the companies researching a site now, ranked by recent activity.

use std::time::Duration;

use crate::accounts::{HotList, HotQuery, MAX_DAYS};
use crate::store::{Store, StoreError};

pub const DEFAULT_WINDOW: Duration = Duration::from_secs(7 * 86_400);
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    #[error("window is at most {MAX_DAYS} days")]
    InvalidWindow,
    #[error("limit is 1 to {MAX_LIMIT}")]
    InvalidLimit,
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// The hot list of `site` that `query` asks for (the API's default: confident companies only),
/// once its window and limit are checked.
pub async fn hot(
    store: &dyn Store,
    site: &str,
    query: &HotQuery,
) -> Result<HotList, AccountsError> {
    check(query)?;
    Ok(store.hot_accounts(site, query).await?)
}

/// Whether `query`'s window and limit are ones the hot list can answer.
pub fn check(query: &HotQuery) -> Result<(), AccountsError> {
    if query.window_ms <= 0 || query.window_ms > MAX_DAYS * 86_400_000 {
        return Err(AccountsError::InvalidWindow);
    }
    if !(1..=MAX_LIMIT).contains(&query.limit) {
        return Err(AccountsError::InvalidLimit);
    }
    Ok(())
}
