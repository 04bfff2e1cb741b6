//! What the log holds: collect batches, and the changes the backend API makes.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Batch;
use super::person::{PersonId, Stage};
use crate::visitor_id::VisitorId;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LogRecord {
    Batch(Batch),
    Admin(AdminOp),
}

/// A change made through the backend API. It names people and visitors by id only, so that
/// after an erasure no email address survives in the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AdminOp {
    /// Stage and attribute changes from a CRM.
    UpdatePerson {
        site: Arc<str>,
        person: PersonId,
        stage: Option<Stage>,
        fields: Vec<(String, String)>,
    },
    /// Undo a wrong join: the visitor and the sessions it brought become anonymous.
    Split {
        site: Arc<str>,
        person: PersonId,
        visitor: VisitorId,
    },
    /// Two records are one person: `merged` moves into `survivor`.
    Merge {
        site: Arc<str>,
        survivor: PersonId,
        merged: PersonId,
    },
    /// Remove the person and every visitor linked to them.
    Erase { site: Arc<str>, person: PersonId },
    /// A webhook event reached every endpoint: it leaves the outbox.
    WebhookDelivered { event: u64 },
}
