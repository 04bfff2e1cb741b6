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
    /// Remove the person and every visitor linked to them. Written by format 3 builds before
    /// `ErasePerson`; still applied when replayed.
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
    /// Erasure on request: the person, every visitor the request found to be theirs (by link,
    /// by audit, or because its events name their address), and every mention of them. The
    /// visitors are named in the record, so that its replay over any snapshot, however fuzzy,
    /// removes the same ones. Visitor data received before `at_ms` that a node replays later
    /// (from its spool) stays erased.
    ErasePerson {
        site: Arc<str>,
        person: PersonId,
        visitors: Vec<VisitorId>,
        at_ms: i64,
    },
    /// Retention: what one node found expired. See `Expiry`.
    Expire(Box<Expiry>),
    // Added after the variants above (main's erasure and retention), at the end.
    /// One chunk of an imported people list (see `ImportChunk` for why it names people by
    /// email, and how erasure still leaves no address in the log).
    ImportPeople(Box<crate::model::offline::ImportChunk>),
    /// One chunk of an imported accounts list: firmographics for blank fields, status and
    /// owner as the CRM says now.
    ImportAccounts(Box<crate::model::offline::AccountsChunk>),
}

/// What has been quiet for longer than the retention policy keeps it, in one site, with the
/// cutoffs the node used. Applying removes each entity only if it is still past its cutoff
/// then (a visit between the search and the record keeps it), so every node, and every replay
/// over any snapshot, removes the same ones. A record names at most `MAX_EXPIRED` entities, so
/// applying one never holds up collect for long.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Expiry {
    pub site: Arc<str>,
    /// When the node searched: accounts drop what no window before it reaches.
    pub at_ms: i64,
    /// Anonymous visitors last seen before this go.
    pub anonymous_before_ms: i64,
    pub visitors: Vec<VisitorId>,
    /// People last seen before this go, with their devices, unless their stage is kept.
    pub people_before_ms: i64,
    pub keep_stages: Vec<Stage>,
    pub people: Vec<PersonId>,
    /// The events of visits that ended before this go from these visitors; the visits and their
    /// counts stay.
    pub events_before_ms: i64,
    pub trim: Vec<VisitorId>,
}

/// Entities one expiry record names at most.
pub const MAX_EXPIRED: usize = 1_000;
