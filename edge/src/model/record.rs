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
/// after an erasure no email address survives in the log; the one exception is an import,
/// which creates people and so must name them by address (`ImportChunk` says how erasure
/// still removes it).
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
    /// An alert or digest reached one of its destinations. (This and the variants below were
    /// added to format 3 at the end, so format 3 logs written before still decode.)
    AlertDelivered { alert: u64, destination: String },
    /// Delivery of an alert to one destination gave up: it goes to the dead-letter list.
    AlertDeadLettered {
        alert: u64,
        destination: String,
        reason: String,
        attempts: u32,
        at_ms: i64,
    },
    /// A dead letter is to be tried again.
    AlertRetried { alert: u64, destination: String },
    /// A digest found due by a node, with what it says; the engine queues it once per period.
    Digest(Box<crate::notice::Digest>),
    /// One chunk of an imported people list (see `ImportChunk` for why it names people by
    /// email, and how erasure still leaves no address in the log).
    ImportPeople(Box<crate::model::offline::ImportChunk>),
    /// One chunk of an imported accounts list: firmographics for blank fields, status and
    /// owner as the CRM says now.
    ImportAccounts(Box<crate::model::offline::AccountsChunk>),
}
