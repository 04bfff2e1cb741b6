//! Retention as the edge runs it: look for what has expired (off the request path), and store
//! what was found as expiry records, one at a time, so that collect is never held up for long
//! and every node applies the same removals.

use std::sync::Arc;
use std::time::Duration;

use crate::model::record::AdminOp;
use crate::retention::Policy;
use crate::store::{Freshness, Store, StoreError};

/// What one pass asked to remove.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    pub records: usize,
    pub visitors: usize,
    pub people: usize,
    pub trimmed: usize,
}

/// A breath between records: the writer serves collect in between.
const BETWEEN_RECORDS: Duration = Duration::from_millis(5);

/// One pass at `now_ms`: finds what `policy` expires and stores it.
pub async fn expire_once(
    store: Arc<dyn Store>,
    policy: Policy,
    now_ms: i64,
) -> Result<Pass, StoreError> {
    store.catch_up(Freshness::Api).await?;
    let search = Arc::clone(&store);
    let records = tokio::task::spawn_blocking(move || search.engine().expired(&policy, now_ms))
        .await
        .map_err(|e| StoreError::Unavailable(format!("the retention search stopped: {e}")))?;
    let mut pass = Pass::default();
    for record in records {
        pass.records += 1;
        pass.visitors += record.visitors.len();
        pass.people += record.people.len();
        pass.trimmed += record.trim.len();
        store.admin(AdminOp::Expire(Box::new(record))).await?;
        tokio::time::sleep(BETWEEN_RECORDS).await;
    }
    Ok(pass)
}
