//! The in-memory model behind the embedded store: visitors, people, and what is derived from
//! them (email index, sessions feed, accounts, webhook outbox). `Engine::apply` is the one way it
//! changes; the store's writer thread calls it in log order, and recovery replays the log
//! through it.
//!
//! Snapshots are taken while writes go on, visitors first, then people, then the outbox. Every
//! visitor and person remembers the last log position applied to it. On replay a record is
//! skipped for an entity that already holds it; because people are read after visitors, a
//! person that lacks a record implies its visitor lacks it too, so the person side of a record
//! can always use the visitor's state from before it.

pub mod alerts;
pub mod erased;
mod erasure;
pub mod expiry;
pub mod feed;
pub mod image;
mod imports;
mod listing;
mod lookahead;
pub mod outbox;
mod people;
mod query;

pub use listing::SiteOverview;
pub use query::{FeedItem, FeedPage};

pub use people::vid_hex;

use std::sync::{Arc, Mutex, MutexGuard};

use dashmap::DashMap;

use self::alerts::AlertTable;
use self::erased::Erased;
use self::feed::Feed;
use self::outbox::Outbox;
use crate::accounts::{Accounts, Activity, Seen};
use crate::event::Event;
use crate::glob::{Glob, url_path};
use crate::identity::email;
use crate::identity::stitch;
use crate::model::ids::RecordIds;
use crate::model::person::{Person, PersonId};
use crate::model::record::LogRecord;
use crate::model::{Batch, SessionRules, VisitSummary, Visitor, VisitorKey};
use crate::rules::ledger;
use crate::rules::stats::Tally;
use crate::scoring::ScoringRules;

/// The rules `apply` follows: part of the configuration.
#[derive(Clone, Debug)]
pub struct Model {
    pub sessions: SessionRules,
    pub scoring: ScoringRules,
    pub key_pages: Vec<Glob>,
    /// Whether webhook events are kept for delivery (some endpoint is configured).
    pub webhooks: bool,
}

/// The hasher of tables keyed by ids the edge mints itself (random visitor ids, person ids):
/// no client chooses them, so a fast seeded hash is safe there. Tables keyed by client text
/// (email addresses) keep the standard library's flood-resistant one.
pub type IdHasher = foldhash::fast::RandomState;

pub struct Engine {
    pub model: Model,
    /// Behind a pointer: the table then holds a key and a pointer per visitor, not the whole
    /// record, which halves resident memory at a million idle visitors (hash tables run half
    /// empty after they grow). Shared (`Arc`), so that a snapshot takes a visitor out of its
    /// shard in a pointer copy and encodes it with no lock held; `apply` writes through
    /// `Arc::make_mut`, which copies only the one visitor a snapshot is encoding at that moment.
    /// A snapshot that encoded under the shard's lock held up the log writer for as long as the
    /// snapshot thread waited for a core (hundreds of milliseconds under load).
    pub visitors: DashMap<VisitorKey, Arc<Visitor>, IdHasher>,
    pub persons: DashMap<PersonId, Person, IdHasher>,
    /// (site, normalised email) → person.
    pub emails: DashMap<(Arc<str>, String), PersonId>,
    /// Merged people → the person they became, so old ids still resolve.
    pub merged: DashMap<PersonId, PersonId>,
    pub feed: Mutex<Feed>,
    pub outbox: Mutex<Outbox>,
    /// Alerts and digests to deliver, their cooldowns and dead letters.
    pub alerts: Mutex<AlertTable>,
    pub accounts: Mutex<Accounts>,
    /// Who was erased, remembered for retries and for late replays of what came before.
    pub erased: Mutex<Erased>,
    /// What retention removed, for `/metrics`.
    pub expired: expiry::Expired,
    /// Popup results per rule and arm, summed over every visitor's history.
    pub tally: Tally,
    /// Held for the whole of one `apply`. A snapshot passes through it after reading visitors
    /// and again after people: a record whose visitor side the snapshot saw has then finished
    /// its people side (and its outbox events) too, which replay relies on.
    apply_gate: Mutex<()>,
}

/// Locks a mutex even if a panicking thread poisoned it: the data it guards is rebuilt from the
/// log on restart, and refusing all service would be worse.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Engine {
    pub fn new(model: Model) -> Engine {
        let accounts = Accounts::new(model.key_pages.clone());
        Engine {
            model,
            visitors: DashMap::with_hasher(IdHasher::default()),
            persons: DashMap::with_hasher(IdHasher::default()),
            emails: DashMap::new(),
            merged: DashMap::new(),
            feed: Mutex::new(Feed::default()),
            outbox: Mutex::new(Outbox::default()),
            alerts: Mutex::new(AlertTable::default()),
            accounts: Mutex::new(accounts),
            erased: Mutex::new(Erased::default()),
            expired: expiry::Expired::default(),
            tally: Tally::default(),
            apply_gate: Mutex::new(()),
        }
    }

    /// Applies a record stored at `seq`. Returns the visit summary for a batch.
    pub fn apply(&self, seq: u64, record: &LogRecord) -> Option<VisitSummary> {
        self.apply_with_ids(record, &mut RecordIds::new(seq))
    }

    /// `apply`, with the ids the record makes handed out by `ids` (which knows the record's
    /// position): the current format's, or format 2's when its logs are migrated.
    pub fn apply_with_ids(&self, record: &LogRecord, ids: &mut RecordIds) -> Option<VisitSummary> {
        let _applying = lock(&self.apply_gate);
        match record {
            LogRecord::Batch(batch) => self.apply_batch(batch, ids),
            LogRecord::Admin(op) => {
                self.apply_admin(op, ids);
                None
            }
        }
    }

    fn apply_batch(&self, batch: &Batch, ids: &mut RecordIds) -> Option<VisitSummary> {
        let seq = ids.seq();
        let key = VisitorKey {
            site: Arc::clone(&batch.site),
            id: batch.visitor,
        };
        let now = batch.received_ms;
        let lookup = |address: &str| {
            self.emails
                .get(&(Arc::clone(&batch.site), address.to_string()))
                .map(|id| *id)
        };
        if lock(&self.erased).holds_back(&key, now) {
            // Received before its visitor was erased, and replayed late (a node's spool).
            return None;
        }
        let points = self.model.scoring.batch_points(&batch.events);
        let half_life = self.model.scoring.half_life_ms;

        // The visitor side.
        let (summary, decisions, owner, visitor_score) = {
            let mut slot = self.visitors.entry(key.clone()).or_insert_with(|| {
                Arc::new(Visitor::new(Arc::clone(&batch.site), batch.visitor, now))
            });
            if slot.last_seq >= seq {
                return None; // a snapshot already holds this record, for the people too
            }
            let visitor = Arc::make_mut(&mut slot);
            let touches = batch.events.iter().any(|e| ledger::touches(&e.event));
            let before = if touches {
                visitor.popups.clone()
            } else {
                None
            };
            let summary = visitor.apply(seq, batch, &self.model.sessions);
            if touches {
                self.tally
                    .replace(&batch.site, before.as_deref(), visitor.popups.as_deref());
            }
            let decisions = stitch::decide(visitor, seq, batch, &lookup, ids);
            visitor.score.add(points.total(), now, half_life);
            lock(&self.feed).update(&key, visitor);
            let owner = visitor.owner();
            self.record_account(&key, visitor, batch, summary.new_session, owner);
            (summary, decisions, owner, visitor.score.at(now, half_life))
        };

        // The people side.
        self.apply_decisions(batch, &decisions, owner, &points, visitor_score, ids);
        self.raise_alerts(batch, ids);
        Some(summary)
    }

    /// Queues the alerts recorded in the batch, each unless its cooldown holds it back.
    fn raise_alerts(&self, batch: &Batch, ids: &RecordIds) {
        let mut alerts = None;
        let raised = batch.events.iter().filter_map(|e| match &e.event {
            Event::Alert(alert) => Some(alert),
            _ => None,
        });
        for (index, alert) in raised.take(crate::alerts::MAX_PER_BATCH).enumerate() {
            alerts.get_or_insert_with(|| lock(&self.alerts)).raise(
                &batch.site,
                alert,
                ids.alert(index),
                ids.seq(),
                batch.received_ms,
            );
        }
    }

    /// Adds the batch to the account of the visitor's company: the ipdb answer when it is a
    /// business, else the domain of the owner's work email.
    fn record_account(
        &self,
        key: &VisitorKey,
        visitor: &Visitor,
        batch: &Batch,
        new_visit: bool,
        owner: Option<PersonId>,
    ) {
        let paths = page_paths(batch.events.iter().map(|e| &e.event));
        self.add_activity(
            key,
            visitor,
            batch.company.as_deref(),
            owner,
            batch.received_ms,
            new_visit,
            &paths,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn add_activity(
        &self,
        key: &VisitorKey,
        visitor: &Visitor,
        company: Option<&ipdb::Company>,
        owner: Option<PersonId>,
        at_ms: i64,
        new_visit: bool,
        paths: &[&str],
    ) {
        let Some(named) = self.account_of(company, owner) else {
            return;
        };
        lock(&self.accounts).record(
            &key.site,
            named.domain(),
            named.seen(),
            Activity {
                visitor: visitor.id,
                person: owner,
                at_ms,
                new_visit,
                page_paths: paths,
            },
        );
    }

    /// The account activity counts for: the company of the address when it is a business,
    /// else the domain of the owner's work email.
    fn account_of<'a>(
        &self,
        company: Option<&'a ipdb::Company>,
        owner: Option<PersonId>,
    ) -> Option<Named<'a>> {
        let from_ip = company
            .filter(|c| c.network_kind.is_business())
            .and_then(|c| Some((c.domain.as_deref()?, c)));
        if let Some((domain, c)) = from_ip {
            return Some(Named::Company(domain, c));
        }
        let person = self.persons.get(&owner?)?;
        Some(Named::Email {
            domain: email::company_domain(&person.email)?.to_string(),
            company: person.attributes.company.clone(),
        })
    }

    /// Returns once no record is half applied: the snapshot's barrier between entity kinds.
    pub fn wait_for_apply(&self) {
        drop(lock(&self.apply_gate));
    }

    /// Rebuilds what is derived from visitors and people: after loading a snapshot.
    pub fn rebuild_indexes(&self) {
        for person in self.persons.iter() {
            self.emails
                .insert((Arc::clone(&person.site), person.email.clone()), person.id);
        }
        // Snapshot-loaded visitors bypassed `apply`: count every popup history afresh.
        self.tally.clear();
        for visitor in self.visitors.iter() {
            self.tally
                .replace(&visitor.site, None, visitor.popups.as_deref());
            lock(&self.feed).update(visitor.key(), &visitor);
            // Accounts are rebuilt from the sessions kept in memory, a visit per session.
            for session in &visitor.sessions {
                let paths = page_paths(session.events.iter().map(|e| &e.event));
                let owner = visitor.session_owner(session);
                self.add_activity(
                    visitor.key(),
                    &visitor,
                    visitor.company.as_deref(),
                    owner,
                    session.last_ms,
                    true,
                    &paths,
                );
            }
        }
    }
}

/// The paths of the page views among `events`: what accounts count as pages seen.
fn page_paths<'a>(events: impl Iterator<Item = &'a Event>) -> Vec<&'a str> {
    events
        .filter(|e| e.is_page_view())
        .filter_map(|e| e.url().map(url_path))
        .collect()
}

/// The company an account is kept for, as one page view names it: borrowed from the address's
/// answer, or copied out of the owner's person entry (which stays unlocked meanwhile).
enum Named<'a> {
    Company(&'a str, &'a ipdb::Company),
    Email {
        domain: String,
        company: Option<String>,
    },
}

impl Named<'_> {
    fn domain(&self) -> &str {
        match self {
            Named::Company(domain, _) => domain,
            Named::Email { domain, .. } => domain,
        }
    }

    fn seen(&self) -> Seen<'_> {
        match self {
            Named::Company(_, c) => Seen {
                name: c.name.as_deref(),
                industry: c.industry.as_deref(),
                employees: c.employees,
                size_band: Some(c.size_band.as_str()),
                country: c.country.as_deref(),
                source: &c.source,
                confident: c.network_kind_confidence == ipdb::Confidence::High,
            },
            Named::Email { company, .. } => Seen {
                name: company.as_deref(),
                industry: None,
                employees: None,
                size_band: None,
                country: None,
                source: "email",
                confident: true,
            },
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod tests_alerts;
#[cfg(test)]
mod tests_imports;
