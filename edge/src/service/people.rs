//! People as the backend API and the console see them: find one within the caller's sites, read
//! their timeline across devices, change stage and attributes, split a wrong join, merge two
//! records, erase. Every change is one log record; the answer is the person afterwards.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::person::{AuditKind, Person, PersonId, Stage};
use crate::model::record::AdminOp;
use crate::model::{Session, Visitor};
use crate::scoring::ScoringRules;
use crate::scoring::breakdown;
use crate::store::{Store, StoreError};
use crate::visitor_id::VisitorId;

/// Attributes a CRM may set.
pub const ATTRIBUTES: [&str; 5] = ["name", "company", "phone", "title", "department"];

#[derive(Debug, thiserror::Error)]
pub enum PeopleError {
    #[error("person ids look like p123")]
    InvalidId,
    #[error("no such person")]
    NotFound,
    #[error("stage is one of lead, mql, sql, opportunity, customer")]
    InvalidStage,
    #[error("`{0}` is not one of name, company, phone, title, department")]
    InvalidAttribute(String),
    #[error("that visitor is not linked to this person")]
    NotLinked,
    #[error("a person cannot be merged into itself")]
    SamePerson,
    #[error("people of different sites cannot be merged")]
    DifferentSites,
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// A person with the sessions they own, oldest first, across every device.
pub struct Timeline {
    pub person: Person,
    pub sessions: Vec<(Session, VisitorId)>,
}

/// A person one of `sites` holds, by their shown id (`p123`), following merges. Another site's
/// person is not found, exactly as a missing one: ids are sequential, and a different answer
/// would tell a key of one site how many people every other site has, and which ids are real.
pub async fn find(store: &dyn Store, sites: &[Arc<str>], id: &str) -> Result<Person, PeopleError> {
    let id = PersonId::parse(id).ok_or(PeopleError::InvalidId)?;
    match store.person(id).await? {
        Some(person) if sites.iter().any(|s| **s == *person.site) => Ok(person),
        _ => Err(PeopleError::NotFound),
    }
}

pub async fn timeline(
    store: &dyn Store,
    sites: &[Arc<str>],
    id: &str,
) -> Result<Timeline, PeopleError> {
    let person = find(store, sites, id).await?;
    let visitors = store.visitors_of(&person).await?;
    Ok(Timeline {
        sessions: owned_sessions(&person, &visitors),
        person,
    })
}

fn owned_sessions(person: &Person, visitors: &[Visitor]) -> Vec<(Session, VisitorId)> {
    let mut sessions: Vec<(Session, VisitorId)> = visitors
        .iter()
        .flat_map(|v| {
            v.sessions
                .iter()
                .filter(|s| v.session_owner(s) == Some(person.id))
                .map(|s| (s.clone(), v.id))
        })
        .collect();
    sessions.sort_by_key(|(s, _)| s.started_ms);
    sessions
}

/// Stage and attribute changes from a CRM; `stage` by name.
pub async fn update(
    store: &dyn Store,
    sites: &[Arc<str>],
    id: &str,
    stage: Option<&str>,
    attributes: BTreeMap<String, String>,
) -> Result<Timeline, PeopleError> {
    let person = find(store, sites, id).await?;
    let stage = stage
        .map(|s| Stage::parse(s).ok_or(PeopleError::InvalidStage))
        .transpose()?;
    if let Some(unknown) = attributes
        .keys()
        .find(|k| !ATTRIBUTES.contains(&k.as_str()))
    {
        return Err(PeopleError::InvalidAttribute(unknown.clone()));
    }
    let op = AdminOp::UpdatePerson {
        site: Arc::clone(&person.site),
        person: person.id,
        stage,
        fields: attributes.into_iter().collect(),
    };
    change(store, sites, person.id, op).await
}

/// Undoes a wrong join: the visitor and the sessions it brought become anonymous.
pub async fn split(
    store: &dyn Store,
    sites: &[Arc<str>],
    id: &str,
    visitor: VisitorId,
) -> Result<Timeline, PeopleError> {
    let person = find(store, sites, id).await?;
    if !person.visitors.contains(&visitor) {
        return Err(PeopleError::NotLinked);
    }
    let op = AdminOp::Split {
        site: Arc::clone(&person.site),
        person: person.id,
        visitor,
    };
    change(store, sites, person.id, op).await
}

/// `from` becomes part of the person `id`.
pub async fn merge(
    store: &dyn Store,
    sites: &[Arc<str>],
    id: &str,
    from: &str,
) -> Result<Timeline, PeopleError> {
    let survivor = find(store, sites, id).await?;
    let merged = find(store, sites, from).await?;
    if merged.id == survivor.id {
        return Err(PeopleError::SamePerson);
    }
    if merged.site != survivor.site {
        return Err(PeopleError::DifferentSites);
    }
    let op = AdminOp::Merge {
        site: Arc::clone(&survivor.site),
        survivor: survivor.id,
        merged: merged.id,
    };
    change(store, sites, survivor.id, op).await
}

/// Erasure: the person, every visitor that was ever theirs or names their address, and every
/// file that held them. A retry of an erasure already stored (its compaction failed, or the
/// answer was lost) compacts again and succeeds.
pub async fn erase(
    store: &dyn Store,
    sites: &[Arc<str>],
    id: &str,
    now_ms: i64,
) -> Result<(), PeopleError> {
    let person = match find(store, sites, id).await {
        Ok(person) => person,
        Err(PeopleError::NotFound) => {
            let id = PersonId::parse(id).ok_or(PeopleError::InvalidId)?;
            if !store.engine().was_erased(id, sites) {
                return Err(PeopleError::NotFound);
            }
            store.compact().await?;
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let visitors = store.erasure_targets(&person.site, person.id).await?;
    store
        .admin(AdminOp::ErasePerson {
            site: Arc::clone(&person.site),
            person: person.id,
            visitors,
            at_ms: now_ms,
        })
        .await?;
    store.compact().await?;
    Ok(())
}

/// Stores a change and reads the person as it is afterwards.
async fn change(
    store: &dyn Store,
    sites: &[Arc<str>],
    person: PersonId,
    op: AdminOp,
) -> Result<Timeline, PeopleError> {
    store.admin(op).await?;
    timeline(store, sites, &person.to_string()).await
}

/// People a leads list shows at most.
pub const MAX_LIST: usize = 1_000;

/// One row of the leads list: a person and their score now.
pub struct Lead {
    pub person: Person,
    pub score: f64,
}

/// People of `site` (one of `sites`), in `stage` if given, highest score first, at most `limit`;
/// and how many matched in all.
pub async fn list(
    store: &dyn Store,
    sites: &[Arc<str>],
    site: &str,
    stage: Option<Stage>,
    now_ms: i64,
    limit: usize,
) -> Result<(Vec<Lead>, usize), PeopleError> {
    if !sites.iter().any(|s| **s == *site) {
        return Err(PeopleError::NotFound);
    }
    let half_life = store.engine().model.scoring.half_life_ms;
    let mut leads: Vec<Lead> = store
        .people_of_site(site)
        .await?
        .into_iter()
        .filter(|p| stage.is_none_or(|s| p.stage == s))
        .map(|person| Lead {
            score: person.score.at(now_ms, half_life),
            person,
        })
        .collect();
    leads.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.person.last_seen_ms.cmp(&a.person.last_seen_ms))
            .then(a.person.id.cmp(&b.person.id))
    });
    let total = leads.len();
    leads.truncate(limit.min(MAX_LIST));
    Ok((leads, total))
}

/// Why the person's score is what it is: the behaviour in their timeline, decayed to `now_ms`.
/// Events past the per-session bound are not kept, so the lines may sum to less than the score.
pub fn score_breakdown(
    scoring: &ScoringRules,
    timeline: &Timeline,
    now_ms: i64,
) -> Vec<breakdown::Line> {
    scoring.breakdown(
        timeline
            .sessions
            .iter()
            .flat_map(|(s, _)| s.events.iter().map(|e| (e.received_ms, &e.event))),
        now_ms,
    )
}

/// Whether a session of the timeline happened before its device was tied to the person: the
/// anonymous history a conversion brought along.
pub fn was_anonymous(person: &Person, session: &Session, visitor: VisitorId) -> bool {
    let joined = person
        .audit
        .iter()
        .filter_map(|entry| match &entry.what {
            AuditKind::Joined { visitor: v, .. } | AuditKind::SharedDevice { visitor: v, .. }
                if *v == visitor =>
            {
                Some(entry.at_ms)
            }
            _ => None,
        })
        .min()
        .unwrap_or(person.created_ms);
    session.last_ms < joined
}
