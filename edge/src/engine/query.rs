//! Reads over the in-memory model, shared by every store that keeps one. Locks are taken one at
//! a time and never held across an await.

use std::sync::Arc;

use super::feed::FeedKey;
use super::{Engine, lock};
use crate::model::Session;
use crate::model::person::{LeadFacts, Person, PersonId};
use crate::model::{Visitor, VisitorKey};
use crate::visitor_id::VisitorId;

/// Entries looked at per feed page at most: a long run of other sites' sessions ends a page early
/// (with a cursor past them) rather than stalling the request.
const MAX_SCAN: usize = 10_000;

impl Engine {
    /// Whether a person of `site` has the (normalised) address `email`.
    pub fn knows_email(&self, site: &Arc<str>, email: &str) -> bool {
        self.emails
            .contains_key(&(Arc::clone(site), email.to_string()))
    }

    /// A person by id, following merges to the survivor.
    pub fn person(&self, id: PersonId) -> Option<Person> {
        let mut id = id;
        // Merges chain at most as often as people were merged; bounded to be safe.
        for _ in 0..64 {
            match self.merged.get(&id).map(|s| *s) {
                Some(survivor) => id = survivor,
                None => break,
            }
        }
        self.persons.get(&id).map(|p| p.clone())
    }

    /// Runs `read` over the visitor in place, under the table's read lock (no copy), with its
    /// lead facts at `now_ms`: its owner's score and stage, or its own points while anonymous.
    pub fn read_visitor(
        &self,
        key: &VisitorKey,
        now_ms: i64,
        read: &mut dyn FnMut(Option<&Visitor>, Option<LeadFacts>),
    ) {
        let guard = self.visitors.get(key);
        let visitor = guard.as_deref().map(|v| &**v);
        let half_life = self.model.scoring.half_life_ms;
        // The writer takes a visitor, then people, as this does; readers never hold a person
        // while waiting for a visitor, so the order cannot deadlock.
        let lead = visitor.map(|v| {
            let owner = v.owner().and_then(|id| {
                self.persons
                    .get(&id)
                    .map(|p| (p.score.at(now_ms, half_life), p.stage))
            });
            match owner {
                Some((score, stage)) => LeadFacts {
                    score,
                    stage: Some(stage),
                },
                None => LeadFacts {
                    score: v.score.at(now_ms, half_life),
                    stage: None,
                },
            }
        });
        read(visitor, lead);
    }

    pub fn visitor(&self, key: &VisitorKey) -> Option<Visitor> {
        self.visitors.get(key).map(|v| Visitor::clone(&v))
    }

    /// The visitors a person's timeline is made of.
    pub fn visitors_of(&self, person: &Person) -> Vec<Visitor> {
        person
            .visitors
            .iter()
            .filter_map(|id| {
                self.visitor(&VisitorKey {
                    site: Arc::clone(&person.site),
                    id: *id,
                })
            })
            .collect()
    }

    /// Identified sessions of `site` after `after`, in feed order.
    pub fn feed_page(&self, site: &str, after: Option<FeedKey>, limit: usize) -> FeedPage {
        // Copy the keys out first: the writer takes the feed lock while holding a visitor.
        let scanned = lock(&self.feed).page(after, MAX_SCAN.max(limit));
        let mut page = FeedPage::default();
        for (key, visitor_key) in scanned {
            page.next = Some(key);
            if &*visitor_key.site != site {
                continue;
            }
            // Copy out the one session, then let go of the visitor before reading its person.
            let found = self.visitors.get(&visitor_key).and_then(|v| {
                let session = v.sessions.iter().find(|s| s.id == key.1)?.clone();
                Some((v.id, v.session_owner(&session), session, v.company.clone()))
            });
            let Some((visitor, owner, session, company)) = found else {
                continue;
            };
            let person = owner.and_then(|id| self.persons.get(&id).map(|p| p.clone()));
            page.items.push(FeedItem {
                key,
                visitor,
                session,
                person,
                company,
            });
            if page.items.len() == limit {
                break;
            }
        }
        page
    }
}

/// One identified session of the feed, with what the API shows about it.
#[derive(Clone, Debug)]
pub struct FeedItem {
    pub key: FeedKey,
    pub visitor: VisitorId,
    pub session: Session,
    pub person: Option<Person>,
    pub company: Option<Arc<ipdb::Company>>,
}

#[derive(Clone, Debug, Default)]
pub struct FeedPage {
    pub items: Vec<FeedItem>,
    /// Where the next page starts: the last key looked at, even if it was filtered out.
    pub next: Option<FeedKey>,
}
