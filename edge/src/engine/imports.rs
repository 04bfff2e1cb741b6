//! Applying an imported people list's chunk: each row finds its person by email or creates one
//! (the id of the row's position in the record), then `imports::apply` fills blanks, proposes
//! differences and records the offline event. Each person takes a record once, like every other
//! record: one that already holds it (from a snapshot) is left alone, and two rows of one chunk
//! for the same person both apply.

use std::sync::Arc;

use serde_json::json;

use super::outbox::{OutboxEntry, payload};
use super::{Engine, lock};
use crate::imports::apply::apply_row;
use crate::model::ids::RecordIds;
use crate::model::offline::{AccountsChunk, IMPORT_CHUNK_ROWS, ImportChunk};
use crate::model::person::{AuditKind, Person, PersonId, Stage};

impl Engine {
    pub(super) fn apply_import(&self, chunk: &ImportChunk, ids: &mut RecordIds) {
        let seq = ids.seq();
        let half_life = self.model.scoring.half_life_ms;
        // People this record already changed: their `last_seq` is this record's, and a second
        // row for them must still apply.
        let mut taken: Vec<PersonId> = Vec::new();
        // The service never writes more rows than a record has ids for; a longer chunk (from a
        // hand-made log) stops there rather than taking the next record's ids.
        for (index, row) in chunk.rows.iter().enumerate().take(IMPORT_CHUNK_ROWS) {
            let key = (Arc::clone(&chunk.site), row.email.clone());
            let found = self.emails.get(&key).map(|id| *id);
            let id = found.unwrap_or_else(|| ids.person(index));
            let mut p = self.persons.entry(id).or_insert_with(|| {
                Person::new(id, Arc::clone(&chunk.site), row.email.clone(), chunk.at_ms)
            });
            if p.last_seq >= seq && !taken.contains(&id) {
                continue; // a snapshot already holds this record for this person
            }
            p.last_seq = seq;
            taken.push(id);
            if found.is_none() {
                self.emails.insert(key, id);
            }
            apply_row(&mut p, row, seq, chunk.at_ms, &self.model.scoring);
            if !self.model.scoring.promotes(&p, chunk.at_ms) {
                continue;
            }
            p.stage = Stage::Mql;
            p.audit(
                seq,
                chunk.at_ms,
                AuditKind::StageChanged {
                    from: Stage::Lead,
                    to: Stage::Mql,
                },
            );
            let data = json!({
                "person": p.id.to_string(), "email": p.email,
                "score": p.score.at(chunk.at_ms, half_life),
            });
            drop(p);
            if self.model.webhooks {
                lock(&self.outbox).push(OutboxEntry {
                    id: ids.event(index),
                    site: Arc::clone(&chunk.site),
                    kind: "person.mql".into(),
                    people: vec![id],
                    visitors: Vec::new(),
                    payload: payload("person.mql", chunk.at_ms, data),
                    created_ms: chunk.at_ms,
                });
            }
        }
    }
}

impl Engine {
    /// An accounts list's chunk: each row updates its company's profile (see
    /// `accounts::profiles`). Profiles are snapshot entries with their own `last_seq`.
    pub(super) fn apply_account_import(&self, chunk: &AccountsChunk, seq: u64) {
        let mut accounts = lock(&self.accounts);
        for row in &chunk.rows {
            accounts.profiles.apply(&chunk.site, row, seq);
        }
    }
}
