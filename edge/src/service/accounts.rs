//! Hot accounts: the companies researching a site now, ranked by recent activity.

use std::time::Duration;

use crate::accounts::{HotList, MAX_DAYS};
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

/// The accounts of `site` most active in the `window` before `now_ms`, at most `limit`; with
/// `confident_only` (the default of the API), only companies whose name can be trusted.
pub async fn hot(
    store: &dyn Store,
    site: &str,
    now_ms: i64,
    window: Duration,
    limit: usize,
    confident_only: bool,
) -> Result<HotList, AccountsError> {
    if window.is_zero() || window.as_secs() > MAX_DAYS as u64 * 86_400 {
        return Err(AccountsError::InvalidWindow);
    }
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AccountsError::InvalidLimit);
    }
    let window_ms = window.as_millis() as i64;
    Ok(store
        .hot_accounts(site, now_ms, window_ms, limit, confident_only)
        .await?)
}
