//! Retention in the tables: finding what has expired (a read, run off the request path), and
//! applying an expiry record (a write, bounded by the record's size).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Engine, lock};
use crate::model::VisitorKey;
use crate::model::person::PersonId;
use crate::model::record::{Expiry, MAX_EXPIRED};
use crate::retention::{self, Policy};
use crate::visitor_id::VisitorId;

/// What expiry removed since the process started, for `/metrics`.
#[derive(Debug, Default)]
pub struct Expired {
    pub visitors: AtomicU64,
    pub people: AtomicU64,
    pub events: AtomicU64,
}

impl Engine {
    /// The expiry records that `policy` asks for at `now_ms`: per site, each naming at most
    /// `MAX_EXPIRED` entities. Reads one entry at a time (writers wait for one entry at most);
    /// run it off the request path, as it visits every visitor and person.
    pub fn expired(&self, policy: &Policy, now_ms: i64) -> Vec<Expiry> {
        let cutoffs = policy.cutoffs(now_ms);
        let mut found: BTreeMap<Arc<str>, Found> = BTreeMap::new();
        let keys: Vec<VisitorKey> = self.visitors.iter().map(|v| v.key().clone()).collect();
        for key in keys {
            let Some(visitor) = self.visitors.get(&key) else {
                continue;
            };
            let site = found.entry(Arc::clone(&key.site)).or_default();
            if retention::is_anonymous(&visitor)
                && visitor.last_seen_ms < cutoffs.anonymous_before_ms
            {
                site.visitors.push(key.id);
                continue;
            }
            if retention::has_old_events(&visitor, cutoffs.events_before_ms) {
                site.trim.push(key.id);
            }
        }
        let ids: Vec<PersonId> = self.persons.iter().map(|p| *p.key()).collect();
        for id in ids {
            let Some(person) = self.persons.get(&id) else {
                continue;
            };
            if person.last_seen_ms < cutoffs.people_before_ms
                && !policy.keep_stages.contains(&person.stage)
            {
                found
                    .entry(Arc::clone(&person.site))
                    .or_default()
                    .people
                    .push(id);
            }
        }
        // Accounts need a record even when nothing else of their site expired.
        for site in lock(&self.accounts).sites_to_expire(accounts_before(now_ms)) {
            found.entry(site).or_default().accounts = true;
        }
        let mut records = Vec::new();
        for (site, mut site_found) in found {
            while !site_found.is_empty() {
                site_found.accounts = false;
                let record = Expiry {
                    site: Arc::clone(&site),
                    at_ms: now_ms,
                    anonymous_before_ms: cutoffs.anonymous_before_ms,
                    visitors: site_found.visitors.take(),
                    people_before_ms: cutoffs.people_before_ms,
                    keep_stages: policy.keep_stages.clone(),
                    people: site_found.people.take(),
                    events_before_ms: cutoffs.events_before_ms,
                    trim: site_found.trim.take(),
                };
                records.push(record);
            }
        }
        records
    }

    /// Applies an expiry record: removes what is still past its cutoff.
    pub(super) fn expire(&self, expiry: &Expiry) {
        let site = &expiry.site;
        let key = |id: VisitorId| VisitorKey {
            site: Arc::clone(site),
            id,
        };
        let mut gone = Vec::new();
        for id in &expiry.visitors {
            let removed = self
                .visitors
                .remove_if(&key(*id), |_, v| retention::anonymous_expired(v, expiry));
            if let Some((_, v)) = removed {
                lock(&self.feed).remove(&v);
                self.tally.replace(site, v.popups.as_deref(), None);
                gone.push(*id);
            }
        }
        if !gone.is_empty() {
            lock(&self.accounts).forget_visitors(site, &gone);
            self.expired
                .visitors
                .fetch_add(gone.len() as u64, Ordering::Relaxed);
        }
        let people: Vec<PersonId> = expiry
            .people
            .iter()
            .copied()
            .filter(|id| self.person_expired(site, *id, expiry))
            .collect();
        if !people.is_empty() {
            self.expire_people(site, &people);
        }
        for id in &expiry.trim {
            if let Some(mut slot) = self.visitors.get_mut(&key(*id)) {
                let v = Arc::make_mut(&mut slot);
                let mut dropped = 0u64;
                for session in &mut v.sessions {
                    if session.last_ms < expiry.events_before_ms && !session.events.is_empty() {
                        let n = session.events.len();
                        dropped += n as u64;
                        session.dropped_events = session.dropped_events.saturating_add(n as u32);
                        session.events = Vec::new();
                    }
                }
                self.expired.events.fetch_add(dropped, Ordering::Relaxed);
            }
        }
        lock(&self.accounts).expire(site, accounts_before(expiry.at_ms));
    }

    /// Removes people and their devices, with every index entry naming them, in one pass over
    /// each table for the whole record: expiry removes people by the thousand, which erasure's
    /// thorough search per person would make slow. The devices are used by nobody else (see
    /// `person_expired`), so no other person's record names them as theirs.
    fn expire_people(&self, site: &Arc<str>, people: &[PersonId]) {
        let mut gone: HashSet<PersonId> = HashSet::new();
        let mut devices: Vec<VisitorId> = Vec::new();
        for person in people {
            for id in self.identities_of(*person) {
                if let Some((_, p)) = self.persons.remove(&id) {
                    devices.extend(p.visitors);
                }
                gone.insert(id);
            }
        }
        self.emails
            .retain(|(s, _), id| !(s == site && gone.contains(id)));
        self.merged
            .retain(|from, to| !gone.contains(from) && !gone.contains(to));
        devices.sort_unstable();
        devices.dedup();
        for device in &devices {
            let key = VisitorKey {
                site: Arc::clone(site),
                id: *device,
            };
            if let Some((_, v)) = self.visitors.remove(&key) {
                lock(&self.feed).remove(&v);
                self.tally.replace(site, v.popups.as_deref(), None);
            }
        }
        let mut outbox = lock(&self.outbox);
        let mut alerts = lock(&self.alerts);
        for id in &gone {
            outbox.forget(*id, &devices);
            alerts.forget(*id);
        }
        drop((outbox, alerts));
        let mut accounts = lock(&self.accounts);
        accounts.forget_visitors(site, &devices);
        accounts.forget_people(&gone);
        drop(accounts);
        self.expired
            .people
            .fetch_add(people.len() as u64, Ordering::Relaxed);
        self.expired
            .visitors
            .fetch_add(devices.len() as u64, Ordering::Relaxed);
    }

    /// A person past the record's cutoff whose devices are all quiet since then too and used by
    /// nobody else: a device another person still uses keeps them both.
    fn person_expired(&self, site: &Arc<str>, id: PersonId, expiry: &Expiry) -> bool {
        let Some(person) = self.persons.get(&id) else {
            return false;
        };
        if !retention::person_expired(&person, expiry) {
            return false;
        }
        person.visitors.iter().all(|device| {
            let key = VisitorKey {
                site: Arc::clone(site),
                id: *device,
            };
            self.visitors.get(&key).is_none_or(|v| {
                v.last_seen_ms < expiry.people_before_ms
                    && v.links.iter().all(|l| l.person.is_none_or(|p| p == id))
            })
        })
    }
}

/// Account activity before this is reached by no window of the hot list.
fn accounts_before(now_ms: i64) -> i64 {
    now_ms.saturating_sub(crate::accounts::MAX_DAYS * 86_400_000)
}

/// What one site's search found, taken out a record's worth at a time.
#[derive(Default)]
struct Found {
    visitors: Vec<VisitorId>,
    people: Vec<PersonId>,
    trim: Vec<VisitorId>,
    /// Its accounts hold activity no window reaches.
    accounts: bool,
}

impl Found {
    fn is_empty(&self) -> bool {
        !self.accounts && self.visitors.is_empty() && self.people.is_empty() && self.trim.is_empty()
    }
}

/// Takes up to a record's share from the end.
trait TakeSome {
    fn take(&mut self) -> Self;
}

impl<T> TakeSome for Vec<T> {
    fn take(&mut self) -> Vec<T> {
        let at = self.len().saturating_sub(MAX_EXPIRED / 3);
        self.split_off(at)
    }
}
