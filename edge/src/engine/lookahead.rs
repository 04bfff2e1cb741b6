//! What a batch will make of the state, read before it is stored: the facts alert rules decide
//! over. Nothing here changes the engine.

use std::sync::Arc;

use super::{Engine, lock, page_paths};
use crate::accounts::Activity;
use crate::alerts::{AccountFacts, Facts, PersonFacts};
use crate::event::Event;
use crate::glob::url_path;
use crate::model::{Batch, VisitorKey};

impl Engine {
    /// The account and person facts of `batch`, with the account over each of `windows_ms`
    /// (see `AlertRules::windows`).
    pub fn alert_facts(&self, batch: &Batch, windows_ms: &[i64]) -> Facts {
        let now = batch.received_ms;
        let key = VisitorKey {
            site: Arc::clone(&batch.site),
            id: batch.visitor,
        };
        let timeout = self.model.sessions.timeout_ms;
        let (owner, new_visit, seen_before) = match self.visitors.get(&key) {
            Some(v) => (
                v.owner(),
                v.sessions
                    .last()
                    .is_none_or(|s| now.saturating_sub(s.last_ms) >= timeout),
                v.visits > 0,
            ),
            None => (None, true, false),
        };
        let clicked = batch.events.iter().find_map(|e| match &e.event {
            Event::EmailClick { email, .. } => self
                .emails
                .get(&(Arc::clone(&batch.site), email.clone()))
                .map(|id| *id),
            _ => None,
        });
        let person_id = clicked.or(owner);
        let half_life = self.model.scoring.half_life_ms;
        let points: f64 = batch
            .events
            .iter()
            .map(|e| self.model.scoring.points(&e.event))
            .sum();
        let person = person_id.and_then(|id| {
            let p = self.persons.get(&id)?;
            let before = p.score.at(now, half_life);
            Some(PersonFacts {
                id: id.0,
                returned: new_visit && (seen_before || p.visitors.len() > 1),
                email_click: clicked == Some(id),
                score_before: before,
                score_after: before + points,
            })
        });
        let paths = page_paths(batch.events.iter().map(|e| &e.event));
        let account = self
            .account_of(batch.company.as_deref(), person_id)
            .map(|named| {
                let seen = named.seen();
                let (first_visit, rows) = lock(&self.accounts).preview(
                    &batch.site,
                    named.domain(),
                    seen,
                    Activity {
                        visitor: batch.visitor,
                        person: person_id,
                        at_ms: now,
                        new_visit,
                        page_paths: &paths,
                    },
                    windows_ms,
                );
                AccountFacts {
                    domain: named.domain().to_string(),
                    // As the account will hold them (a confident name stays confident).
                    firmographics: rows
                        .first()
                        .map_or_else(|| seen.into(), |r| r.firmographics.clone()),
                    first_visit,
                    rows,
                }
            });
        Facts {
            now_ms: now,
            account,
            person,
            pages: batch
                .events
                .iter()
                .filter(|e| e.event.is_page_view())
                .filter_map(|e| e.event.url().map(|u| url_path(u).to_string()))
                .collect(),
        }
    }
}
