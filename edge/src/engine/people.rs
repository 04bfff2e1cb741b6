//! The people side of applying records: joins, scores and stages, and the changes the backend
//! API makes (update, split, merge, erase). Each person takes a record once: whoever already
//! holds it (from a snapshot) is left alone.

use std::sync::Arc;

use serde_json::json;

use super::outbox::{OutboxEntry, payload};
use super::{Engine, lock};
use crate::identity::{Decision, people};
use crate::model::ids::RecordIds;
use crate::model::person::{AuditKind, Person, PersonId, Stage};
use crate::model::record::AdminOp;
use crate::model::{Batch, VisitorKey};
use crate::scoring::{self, BatchPoints};
use crate::visitor_id::VisitorId;

/// Collects a record's webhook events with ids fixed by the record's position.
struct Events<'a, 'i> {
    state: &'a Engine,
    ids: &'i mut RecordIds,
    at_ms: i64,
}

impl<'a, 'i> Events<'a, 'i> {
    /// The events of the record whose ids `ids` hands out, stamped `at_ms`.
    fn of(state: &'a Engine, ids: &'i mut RecordIds, at_ms: i64) -> Self {
        Events { state, ids, at_ms }
    }

    fn emit(
        &mut self,
        slot: Slot,
        site: &Arc<str>,
        kind: &str,
        people: Vec<PersonId>,
        visitors: Vec<VisitorId>,
        data: serde_json::Value,
    ) {
        if !self.state.model.webhooks {
            return; // nobody to deliver to: keep nothing
        }
        let id = match slot {
            Slot::Decision(index) => self.ids.event(index),
            Slot::Record => self.ids.record_event(),
        };
        lock(&self.state.outbox).push(OutboxEntry {
            id,
            site: Arc::clone(site),
            kind: kind.to_string(),
            people,
            visitors,
            payload: payload(kind, self.at_ms, data),
            created_ms: self.at_ms,
        });
    }
}

/// Which of a record's event ids an event takes.
#[derive(Clone, Copy)]
enum Slot {
    /// The event of the record's decision at this index (an admin change is decision 0).
    Decision(usize),
    /// The one event of the record as a whole (an MQL promotion).
    Record,
}

impl Engine {
    /// Whether `person` still needs record `seq` (and marks it as taken).
    fn takes(&self, person: &mut Person, seq: u64) -> bool {
        if person.last_seq >= seq {
            return false;
        }
        person.last_seq = seq;
        true
    }

    pub(super) fn apply_decisions(
        &self,
        batch: &Batch,
        decisions: &[Decision],
        owner: Option<PersonId>,
        points: &BatchPoints,
        visitor_score: f64,
        ids: &mut RecordIds,
    ) {
        let seq = ids.seq();
        let now = batch.received_ms;
        let half_life = self.model.scoring.half_life_ms;
        let mut events = Events::of(self, ids, now);
        // People that already hold this record (from a snapshot) are skipped as a whole.
        let mut done: Vec<PersonId> = Vec::new();
        let fresh = |state: &Engine, id: PersonId, done: &mut Vec<PersonId>| -> bool {
            if done.contains(&id) {
                return true;
            }
            let takes = state
                .persons
                .get_mut(&id)
                .is_none_or(|mut p| state.takes(&mut p, seq));
            if takes {
                done.push(id);
            }
            takes
        };
        let mut scored = false;
        for (index, decision) in decisions.iter().enumerate() {
            match decision {
                Decision::Join {
                    person,
                    created,
                    email,
                    source,
                    fields,
                    previous,
                    retroactive,
                } => {
                    if !fresh(self, *person, &mut done) {
                        continue;
                    }
                    let mut p = self.persons.entry(*person).or_insert_with(|| {
                        Person::new(*person, Arc::clone(&batch.site), email.clone(), now)
                    });
                    // A device's first join brings its score, this batch's points included: less
                    // the forms this person was already given points for today.
                    let repeated: f64 = points
                        .forms
                        .iter()
                        .filter(|(form, _)| !scoring::counts_conversion(&p, form, now))
                        .map(|(_, form_points)| form_points)
                        .sum();
                    let join = people::Join {
                        seq,
                        at_ms: now,
                        visitor: batch.visitor,
                        source: *source,
                        fields,
                        previous: *previous,
                        retroactive: *retroactive,
                        visitor_score: visitor_score - repeated,
                    };
                    let new_device = people::join(&mut p, &join, half_life);
                    if *created {
                        self.emails
                            .insert((Arc::clone(&batch.site), email.clone()), *person);
                    }
                    scored |= *retroactive;
                    let identified = new_device.then(|| {
                        json!({
                            "person": p.id.to_string(), "email": p.email, "visitor": vid_hex(batch.visitor),
                            "source": source, "retroactive": retroactive, "stage": p.stage,
                        })
                    });
                    // Let go of the person before touching any other: the previous owner may
                    // sit in the same shard of the table, and holding both would deadlock.
                    drop(p);
                    if let Some(data) = identified {
                        events.emit(
                            Slot::Decision(index),
                            &batch.site,
                            "person.identified",
                            vec![*person],
                            vec![batch.visitor],
                            data,
                        );
                    }
                    if let Some(from) = previous.filter(|f| f != person)
                        && fresh(self, from, &mut done)
                        && let Some(mut a) = self.persons.get_mut(&from)
                    {
                        a.audit(seq, now, join.shared_device(from, *person));
                    }
                }
                Decision::ClickIgnored {
                    person,
                    owner: click_owner,
                    reason,
                    ..
                } => {
                    for id in person.iter().chain(click_owner.iter()) {
                        if fresh(self, *id, &mut done)
                            && let Some(mut p) = self.persons.get_mut(id)
                        {
                            p.audit(
                                seq,
                                now,
                                AuditKind::ClickIgnored {
                                    visitor: batch.visitor,
                                    reason: reason.to_string(),
                                },
                            );
                        }
                    }
                }
            }
        }
        if let Some(owner) = owner
            && fresh(self, owner, &mut done)
            && let Some(mut p) = self.persons.get_mut(&owner)
        {
            let mut earned = points.other;
            for (form, form_points) in &points.forms {
                if *form_points > 0.0 && scoring::counts_conversion(&p, form, now) {
                    // A first join took these points with the visitor's score already.
                    earned += form_points;
                    p.audit(seq, now, AuditKind::ConversionScored { form: form.clone() });
                }
            }
            if !scored {
                p.score.add(earned, now, half_life);
            }
            p.last_seen_ms = p.last_seen_ms.max(now);
            if self.model.scoring.promotes(&p, now) {
                p.stage = Stage::Mql;
                p.audit(
                    seq,
                    now,
                    AuditKind::StageChanged {
                        from: Stage::Lead,
                        to: Stage::Mql,
                    },
                );
                let data = json!({"person": p.id.to_string(), "email": p.email, "score": p.score.at(now, half_life)});
                drop(p);
                events.emit(
                    Slot::Record,
                    &batch.site,
                    "person.mql",
                    vec![owner],
                    Vec::new(),
                    data,
                );
            }
        }
    }

    pub(super) fn apply_admin(&self, op: &AdminOp, ids: &mut RecordIds) {
        let seq = ids.seq();
        match op {
            AdminOp::WebhookDelivered { event } => lock(&self.outbox).remove(*event),
            AdminOp::AlertDelivered { alert, destination } => {
                lock(&self.alerts).delivered(*alert, destination)
            }
            AdminOp::AlertDeadLettered {
                alert,
                destination,
                reason,
                attempts,
                at_ms,
            } => lock(&self.alerts).dead_lettered(
                *alert,
                super::alerts::DeadLetter {
                    destination: destination.clone(),
                    reason: reason.clone(),
                    attempts: *attempts,
                    at_ms: *at_ms,
                },
            ),
            AdminOp::AlertRetried { alert, destination } => {
                lock(&self.alerts).retried(*alert, destination)
            }
            AdminOp::Digest(digest) => lock(&self.alerts).digest(digest, ids.alert(0), seq),
            AdminOp::UpdatePerson {
                person,
                stage,
                fields,
                site,
            } => {
                let Some(mut p) = self.persons.get_mut(person) else {
                    return;
                };
                if !self.takes(&mut p, seq) {
                    return;
                }
                p.attributes.update(fields);
                if let Some(stage) = stage.filter(|s| *s != p.stage) {
                    let from = p.stage;
                    p.stage = stage;
                    let at = p.last_seen_ms;
                    p.audit(seq, at, AuditKind::StageChanged { from, to: stage });
                    if stage == Stage::Mql {
                        let data = json!({"person": p.id.to_string(), "email": p.email, "score": p.score.value});
                        let at = p.last_seen_ms;
                        drop(p);
                        Events::of(self, ids, at).emit(
                            Slot::Decision(0),
                            site,
                            "person.mql",
                            vec![*person],
                            Vec::new(),
                            data,
                        );
                    } else {
                        // Sales' own stages (SQL, opportunity, customer) reach the CRM as they
                        // are set, from the console or the API alike.
                        let data = json!({"person": p.id.to_string(), "email": p.email, "from": from.as_str(), "to": stage.as_str()});
                        let at = p.last_seen_ms;
                        drop(p);
                        Events::of(self, ids, at).emit(
                            Slot::Record,
                            site,
                            "person.stage_changed",
                            vec![*person],
                            Vec::new(),
                            data,
                        );
                    }
                }
            }
            AdminOp::Split {
                site,
                person,
                visitor,
            } => self.split(ids, site, *person, *visitor),
            AdminOp::Merge {
                site,
                survivor,
                merged,
            } => self.merge(ids, site, *survivor, *merged),
            AdminOp::Erase { site, person } => {
                // Written before records named what the request found: find it now.
                let found = self.erasure_targets(site, *person);
                self.erase(site, *person, &found, 0);
            }
            AdminOp::ErasePerson {
                site,
                person,
                visitors,
                at_ms,
            } => self.erase(site, *person, visitors, *at_ms),
            AdminOp::Expire(expiry) => self.expire(expiry),
            AdminOp::ImportPeople(chunk) => self.apply_import(chunk, ids),
            AdminOp::ImportAccounts(chunk) => self.apply_account_import(chunk, seq),
        }
    }

    fn split(&self, ids: &mut RecordIds, site: &Arc<str>, person: PersonId, visitor: VisitorId) {
        let seq = ids.seq();
        let key = VisitorKey {
            site: Arc::clone(site),
            id: visitor,
        };
        let mut at_ms = 0;
        if let Some(mut slot) = self.visitors.get_mut(&key)
            && slot.last_seq < seq
        {
            let v = Arc::make_mut(&mut slot);
            v.last_seq = seq;
            let owned: Vec<bool> = v
                .sessions
                .iter()
                .map(|s| v.session_owner(s) == Some(person))
                .collect();
            for (session, owned) in v.sessions.iter_mut().zip(owned) {
                if owned {
                    session.updated_seq = seq;
                }
            }
            for link in &mut v.links {
                if link.person == Some(person) {
                    link.person = None;
                }
            }
            at_ms = v.last_seen_ms;
            lock(&self.feed).update(&key, v);
        }
        let Some(mut p) = self.persons.get_mut(&person) else {
            return;
        };
        if !self.takes(&mut p, seq) {
            return;
        }
        p.visitors.retain(|v| *v != visitor);
        p.audit(seq, at_ms, AuditKind::Split { visitor });
        let data = json!({"person": person.to_string(), "visitor": vid_hex(visitor)});
        drop(p);
        Events::of(self, ids, at_ms).emit(
            Slot::Decision(0),
            site,
            "person.split",
            vec![person],
            vec![visitor],
            data,
        );
    }

    fn merge(&self, ids: &mut RecordIds, site: &Arc<str>, survivor: PersonId, merged: PersonId) {
        let seq = ids.seq();
        // The visitors to relabel: the merged person's, or (when a snapshot already holds the
        // merge) the survivor's, which then include them.
        let devices: Vec<VisitorId> = self
            .persons
            .get(&merged)
            .or_else(|| self.persons.get(&survivor))
            .map(|p| p.visitors.clone())
            .unwrap_or_default();
        for device in &devices {
            let key = VisitorKey {
                site: Arc::clone(site),
                id: *device,
            };
            if let Some(mut slot) = self.visitors.get_mut(&key)
                && slot.last_seq < seq
            {
                let v = Arc::make_mut(&mut slot);
                v.last_seq = seq;
                let mut changed = false;
                for link in &mut v.links {
                    if link.person == Some(merged) {
                        link.person = Some(survivor);
                        changed = true;
                    }
                }
                if changed {
                    for session in &mut v.sessions {
                        session.updated_seq = seq;
                    }
                    lock(&self.feed).update(&key, v);
                }
            }
        }
        let Some((_, old)) = self.persons.remove(&merged) else {
            return;
        };
        self.merged.insert(merged, survivor);
        self.emails
            .insert((Arc::clone(site), old.email.clone()), survivor);
        lock(&self.accounts).rename_person(merged, survivor);
        let Some(mut s) = self.persons.get_mut(&survivor) else {
            return;
        };
        let half_life = self.model.scoring.half_life_ms;
        let at = people::merge_into(&mut s, &old, seq, half_life);
        let data = json!({"survivor": survivor.to_string(), "merged": merged.to_string(), "merged_email": old.email});
        drop(s);
        Events::of(self, ids, at).emit(
            Slot::Decision(0),
            site,
            "person.merged",
            vec![survivor, merged],
            Vec::new(),
            data,
        );
    }
}

/// Visitor ids leave the edge only as hex of their random part: the signed form is the
/// browser's, not the backend's.
pub fn vid_hex(id: VisitorId) -> String {
    id.0.iter().map(|b| format!("{b:02x}")).collect()
}
