//! The dead-letter list of alert deliveries, and retrying one: the API without HTTP.

use std::sync::Arc;

use crate::engine::alerts::{AlertEntry, DeadLetter};
use crate::engine::lock;
use crate::model::record::AdminOp;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AlertsError {
    #[error("no dead letter of alert {alert} for `{destination}`")]
    NotFound { alert: u64, destination: String },
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// The dead letters of `sites`, oldest alert first.
pub fn dead_letters(store: &dyn Store, sites: &[Arc<str>]) -> Vec<(AlertEntry, DeadLetter)> {
    lock(&store.engine().alerts)
        .dead_letters()
        .into_iter()
        .filter(|(entry, _)| sites.contains(&entry.site))
        .collect()
}

/// Puts a dead letter back in the queue of its destination: the channel task sends it again.
pub async fn retry(
    store: &dyn Store,
    sites: &[Arc<str>],
    alert: u64,
    destination: &str,
) -> Result<(), AlertsError> {
    let known = dead_letters(store, sites)
        .iter()
        .any(|(e, d)| e.id == alert && d.destination == destination);
    if !known {
        return Err(AlertsError::NotFound {
            alert,
            destination: destination.to_string(),
        });
    }
    store
        .admin(AdminOp::AlertRetried {
            alert,
            destination: destination.to_string(),
        })
        .await?;
    Ok(())
}
