//! The sessions feed: identified sessions ordered by the log position of their last change.
//! A session that changes (new events, becomes identified) moves to the end, so a backend paging
//! with a cursor sees every update exactly once and never misses one.

use std::collections::{BTreeMap, HashMap};

use crate::model::{Visitor, VisitorKey};

/// (last change, session id): unique, and ordered the way the feed is read.
pub type FeedKey = (u64, u64);

#[derive(Default)]
pub struct Feed {
    entries: BTreeMap<FeedKey, VisitorKey>,
    /// Where each session sits now.
    position: HashMap<u64, u64>,
}

impl Feed {
    /// Brings the visitor's sessions up to date: owned sessions at their latest change,
    /// anonymous ones out of the feed.
    pub fn update(&mut self, key: &VisitorKey, visitor: &Visitor) {
        if visitor.links.is_empty() {
            return; // never identified: nothing of it is in the feed
        }
        for session in &visitor.sessions {
            let owned = visitor.session_owner(session).is_some();
            let current = self.position.get(&session.id).copied();
            match (owned, current) {
                (true, Some(at)) if at == session.updated_seq => {}
                (true, _) => {
                    if let Some(at) = current {
                        self.entries.remove(&(at, session.id));
                    }
                    self.entries
                        .insert((session.updated_seq, session.id), key.clone());
                    self.position.insert(session.id, session.updated_seq);
                }
                (false, Some(at)) => {
                    self.entries.remove(&(at, session.id));
                    self.position.remove(&session.id);
                }
                (false, None) => {}
            }
        }
    }

    /// Drops every session of a visitor that is gone.
    pub fn remove(&mut self, visitor: &Visitor) {
        for session in &visitor.sessions {
            if let Some(at) = self.position.remove(&session.id) {
                self.entries.remove(&(at, session.id));
            }
        }
    }

    /// Up to `limit` entries after `cursor`.
    pub fn page(&self, after: Option<FeedKey>, limit: usize) -> Vec<(FeedKey, VisitorKey)> {
        let range = match after {
            Some(after) => self
                .entries
                .range((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded)),
            None => self.entries.range(..),
        };
        range.take(limit).map(|(k, v)| (*k, v.clone())).collect()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The opaque cursor form of a feed key.
pub fn cursor(key: FeedKey) -> String {
    format!("{}.{}", key.0, key.1)
}

pub fn parse_cursor(text: &str) -> Option<FeedKey> {
    let (a, b) = text.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}
