//! Erasure on request. What a person leaves behind is wider than their visitor list: devices
//! split off again (their sessions still hold the form's fields), clicks on their mail that
//! identified no one (a hosting network, a forwarded message), conversions typed into another
//! device, the addresses of people merged into them. The request finds all of it (`targets`),
//! and the record it writes names every visitor found, so its replay removes the same ones over
//! any snapshot; applying it also takes what only the state at that point knows.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::erased::{Remembered, digest};
use super::{Engine, lock};
use crate::event::Event;
use crate::identity::{email, people};
use crate::model::person::{AuditKind, PersonId};
use crate::model::{Visitor, VisitorKey};
use crate::visitor_id::VisitorId;

impl Engine {
    /// Every visitor of `site` that erasing `person` must remove: theirs now, every one their
    /// audit names, every one linked to them (or to someone merged into them) at any time, and
    /// every one whose events or pending click name one of their addresses. Reads the whole
    /// table of visitors, one entry at a time, so writers wait at most for one entry.
    pub fn erasure_targets(&self, site: &Arc<str>, person: PersonId) -> Vec<VisitorId> {
        let ids = self.identities_of(person);
        let emails = self.addresses_of(site, &ids);
        let mut found: BTreeSet<VisitorId> = self.known_devices(&ids).into_iter().collect();
        let keys: Vec<VisitorKey> = self
            .visitors
            .iter()
            .filter(|v| v.key().site == *site)
            .map(|v| v.key().clone())
            .collect();
        for key in keys {
            if let Some(visitor) = self.visitors.get(&key)
                && names_any(&visitor, &ids, &emails)
            {
                found.insert(key.id);
            }
        }
        found.into_iter().collect()
    }

    /// Applies an erasure: `found` is what the request found; what the state knows now is
    /// added. Idempotent: a replay, or a second erasure of the same person, removes nothing new
    /// and fails on nothing missing.
    pub(super) fn erase(&self, site: &Arc<str>, person: PersonId, found: &[VisitorId], at_ms: i64) {
        let ids = self.identities_of(person);
        let emails = self.addresses_of(site, &ids);
        let mut devices: BTreeSet<VisitorId> = found.iter().copied().collect();
        devices.extend(self.known_devices(&ids));
        let devices: Vec<VisitorId> = devices.into_iter().collect();

        for id in &ids {
            self.persons.remove(id);
        }
        self.emails
            .retain(|(s, email), id| !(s == site && (ids.contains(id) || emails.contains(email))));
        self.merged
            .retain(|from, to| !ids.contains(from) && !ids.contains(to));
        let mut erased = lock(&self.erased);
        let mut removed = Vec::new();
        for device in &devices {
            let key = VisitorKey {
                site: Arc::clone(site),
                id: *device,
            };
            let others = self
                .visitors
                .get(&key)
                .is_some_and(|v| only_others(&v, &ids));
            if others {
                // Never theirs, but someone else's (their mail forwarded to a colleague, say):
                // only what names them goes.
                if let Some(mut slot) = self.visitors.get_mut(&key) {
                    let v = Arc::make_mut(&mut slot);
                    let mut feed = lock(&self.feed);
                    feed.remove(v);
                    scrub(v, &emails);
                    feed.update(&key, v);
                }
                continue;
            }
            if let Some((_, v)) = self.visitors.remove(&key) {
                lock(&self.feed).remove(&v);
                self.tally.replace(site, v.popups.as_deref(), None);
            }
            erased.remember(Remembered::Visitor {
                digest: digest(&key),
                at_ms,
            });
            removed.push(*device);
        }
        for id in &ids {
            erased.remember(Remembered::Person {
                site: Arc::clone(site),
                person: *id,
            });
        }
        drop(erased);
        for mut other in self.persons.iter_mut() {
            people::forget_devices(&mut other, &removed);
            other.audit.retain(|e| !names_person(&e.what, &ids));
        }
        let mut outbox = lock(&self.outbox);
        let mut alerts = lock(&self.alerts);
        let mut accounts = lock(&self.accounts);
        for id in &ids {
            outbox.forget(*id, &removed);
            alerts.forget(*id);
            accounts.forget(&removed, *id);
        }
    }

    /// Whether `person` (of one of `sites`) was erased, as far as the bounded memory goes.
    pub fn was_erased(&self, person: PersonId, sites: &[Arc<str>]) -> bool {
        lock(&self.erased)
            .person(person)
            .is_some_and(|site| sites.contains(&site))
    }

    /// The person and everyone merged into them (merges chain).
    pub(super) fn identities_of(&self, person: PersonId) -> Vec<PersonId> {
        let mut ids = vec![person];
        let mut i = 0;
        while i < ids.len() {
            let survivor = ids[i];
            for entry in self.merged.iter() {
                if *entry.value() == survivor && !ids.contains(entry.key()) {
                    ids.push(*entry.key());
                }
            }
            i += 1;
        }
        ids
    }

    /// Every address of `site` that leads to one of `ids`, and the person's own.
    fn addresses_of(&self, site: &Arc<str>, ids: &[PersonId]) -> Vec<String> {
        let mut emails: Vec<String> = ids
            .iter()
            .filter_map(|id| self.persons.get(id).map(|p| p.email.clone()))
            .collect();
        for entry in self.emails.iter() {
            let (s, email) = entry.key();
            if s == site && ids.contains(entry.value()) && !emails.contains(email) {
                emails.push(email.clone());
            }
        }
        emails
    }

    /// The devices the people's records name: their visitor lists and every audit line.
    fn known_devices(&self, ids: &[PersonId]) -> Vec<VisitorId> {
        let mut devices = Vec::new();
        for id in ids {
            if let Some(p) = self.persons.get(id) {
                devices.extend(p.visitors.iter().copied());
                devices.extend(p.audit.iter().filter_map(|e| e.what.visitor()));
            }
        }
        devices
    }
}

/// Whether the visitor was never one of `ids`' and is someone else's. A device that ever was
/// theirs goes whole, even when another person used it later: its id is one of theirs.
fn only_others(visitor: &Visitor, ids: &[PersonId]) -> bool {
    let linked = |theirs: bool| {
        visitor
            .links
            .iter()
            .any(|l| l.person.is_some_and(|p| ids.contains(&p) == theirs))
    };
    !linked(true) && linked(false)
}

/// Takes out of someone else's device every event and pending click that names one of the
/// erased addresses.
fn scrub(visitor: &mut Visitor, emails: &[String]) {
    for session in &mut visitor.sessions {
        session.events.retain(|e| !event_names(&e.event, emails));
    }
    if visitor
        .pending_click
        .as_ref()
        .is_some_and(|c| emails.contains(&c.email))
    {
        visitor.pending_click = None;
    }
}

/// Whether another person's audit line names one of the erased people.
fn names_person(what: &AuditKind, ids: &[PersonId]) -> bool {
    match what {
        AuditKind::SharedDevice { from, to, .. } => ids.contains(from) || ids.contains(to),
        AuditKind::Merged { survivor, merged } => ids.contains(survivor) || ids.contains(merged),
        _ => false,
    }
}

/// Whether the visitor was ever one of `ids`', or recorded one of `emails`.
fn names_any(visitor: &Visitor, ids: &[PersonId], emails: &[String]) -> bool {
    if visitor
        .links
        .iter()
        .any(|l| l.person.is_some_and(|p| ids.contains(&p)))
    {
        return true;
    }
    if emails.is_empty() {
        return false;
    }
    if visitor
        .pending_click
        .as_ref()
        .is_some_and(|c| emails.contains(&c.email))
    {
        return true;
    }
    visitor
        .sessions
        .iter()
        .flat_map(|s| &s.events)
        .any(|e| event_names(&e.event, emails))
}

/// Whether the event recorded one of `emails`: a click on their mail, or a form with their
/// address in a field (a join refused or undone leaves those behind).
fn event_names(event: &Event, emails: &[String]) -> bool {
    match event {
        Event::EmailClick { email, .. } => emails.contains(email),
        Event::Conversion { fields, .. } => fields
            .iter()
            .any(|(_, value)| email::normalize(value).is_some_and(|e| emails.contains(&e))),
        _ => false,
    }
}
