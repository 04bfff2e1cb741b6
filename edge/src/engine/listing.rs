//! Reads that scan a site's people or visitors: the console's leads list and setup page. They
//! copy what they need out of one entry at a time, so the writer waits for no more than that.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Engine;
use crate::model::person::Person;
use crate::model::{Visitor, VisitorKey};
use crate::visitor_id::VisitorId;

/// What a site's recent traffic looks like, for the setup page.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SiteOverview {
    pub visitors: u64,
    /// The latest event received from the site, if any.
    pub last_event_ms: Option<i64>,
    /// Sessions started since the overview's `since_ms`.
    pub recent_sessions: u64,
    /// Of those, sessions whose visitor's address resolved to an organisation.
    pub resolved_sessions: u64,
    /// Recent sessions by the network kind of the visitor's address (`none` when unresolved).
    pub by_network_kind: BTreeMap<&'static str, u64>,
}

impl Engine {
    /// Every person of `site` (survivors only: merged records are gone from the table).
    pub fn people_of_site(&self, site: &str) -> Vec<Person> {
        self.persons
            .iter()
            .filter(|p| &*p.site == site)
            .map(|p| p.clone())
            .collect()
    }

    /// The visitors of `site` with these ids that are still kept.
    pub fn visitors_by_id(&self, site: &Arc<str>, ids: &[VisitorId]) -> Vec<Visitor> {
        ids.iter()
            .filter_map(|id| {
                self.visitor(&VisitorKey {
                    site: Arc::clone(site),
                    id: *id,
                })
            })
            .collect()
    }

    /// `site`'s traffic since `since_ms`: how much of it has a company behind it.
    pub fn site_overview(&self, site: &str, since_ms: i64) -> SiteOverview {
        let mut overview = SiteOverview::default();
        for entry in self.visitors.iter() {
            let visitor = entry.value();
            if &*visitor.site != site {
                continue;
            }
            overview.visitors += 1;
            overview.last_event_ms = overview.last_event_ms.max(Some(visitor.last_seen_ms));
            let recent = visitor
                .sessions
                .iter()
                .filter(|s| s.started_ms >= since_ms)
                .count() as u64;
            if recent == 0 {
                continue;
            }
            overview.recent_sessions += recent;
            let kind = match &visitor.company {
                Some(company) => {
                    overview.resolved_sessions += recent;
                    company.network_kind.as_str()
                }
                None => "none",
            };
            *overview.by_network_kind.entry(kind).or_default() += recent;
        }
        overview
    }
}
