//! One visitor's record, looked up in each of the caller's sites (visitor ids are per site).

use std::sync::Arc;

use crate::model::{Visitor, VisitorKey};
use crate::store::{Store, StoreError};
use crate::visitor_id::VisitorId;

/// The visitor `id` in the first of `sites` that knows it.
pub async fn find(
    store: &dyn Store,
    sites: &[Arc<str>],
    id: VisitorId,
) -> Result<Option<Visitor>, StoreError> {
    for site in sites {
        let key = VisitorKey {
            site: Arc::clone(site),
            id,
        };
        if let Some(visitor) = store.visitor(&key).await? {
            return Ok(Some(visitor));
        }
    }
    Ok(None)
}
