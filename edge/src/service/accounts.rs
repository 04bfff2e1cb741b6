//! Hot accounts: the companies researching a site now, ranked by recent activity; and one
//! company's page.

use std::sync::Arc;
use std::time::Duration;

pub use crate::accounts::HotFilter;
use crate::accounts::{AccountDetail, HotList, HotQuery, MAX_DAYS};
use crate::model::Session;
use crate::model::person::{Person, PersonId};
use crate::store::{Store, StoreError};
use crate::visitor_id::VisitorId;

pub const DEFAULT_WINDOW: Duration = Duration::from_secs(7 * 86_400);
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    #[error("window is at most {MAX_DAYS} days")]
    InvalidWindow,
    #[error("limit is 1 to {MAX_LIMIT}")]
    InvalidLimit,
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// The hot list of `site` that `query` asks for (the API's default: confident companies only),
/// once its window and limit are checked.
pub async fn hot(
    store: &dyn Store,
    site: &str,
    query: &HotQuery,
) -> Result<HotList, AccountsError> {
    check(query)?;
    Ok(store
        .hot_accounts(site, query, &HotFilter::default())
        .await?)
}

/// Whether `query`'s window and limit are ones the hot list can answer.
pub fn check(query: &HotQuery) -> Result<(), AccountsError> {
    if query.window_ms <= 0 || query.window_ms > MAX_DAYS * 86_400_000 {
        return Err(AccountsError::InvalidWindow);
    }
    if !(1..=MAX_LIMIT).contains(&query.limit) {
        return Err(AccountsError::InvalidLimit);
    }
    Ok(())
}

/// Visits a company page lists at most, most recent first.
pub const COMPANY_VISITS: usize = 100;
/// Visitors whose sessions a company page reads at most, most recent first.
const COMPANY_VISITORS: usize = 200;

/// A company as its page shows it: the account, its known people, and its latest visits.
pub struct CompanyPage {
    pub account: AccountDetail,
    pub people: Vec<Person>,
    /// Most recent first, at most `COMPANY_VISITS`.
    pub visits: Vec<CompanyVisit>,
}

/// One visit of one of the company's visitors.
pub struct CompanyVisit {
    pub visitor: VisitorId,
    /// Whose the visit is (`None`: anonymous).
    pub person: Option<PersonId>,
    pub session: Session,
}

/// The company of `domain` on `site`, if it has any activity kept.
pub async fn company(
    store: &dyn Store,
    site: &Arc<str>,
    domain: &str,
) -> Result<Option<CompanyPage>, AccountsError> {
    let Some(account) = store.account(site, domain).await? else {
        return Ok(None);
    };
    let mut people = Vec::new();
    for id in &account.people {
        if let Some(person) = store.person(*id).await?
            && !people.iter().any(|p: &Person| p.id == person.id)
        {
            people.push(person);
        }
    }
    let recent: Vec<VisitorId> = account
        .visitors
        .iter()
        .take(COMPANY_VISITORS)
        .map(|(v, _, _)| *v)
        .collect();
    let mut visits: Vec<CompanyVisit> = store
        .visitors_by_id(site, &recent)
        .await?
        .into_iter()
        .flat_map(|v| {
            let owners: Vec<Option<PersonId>> =
                v.sessions.iter().map(|s| v.session_owner(s)).collect();
            let id = v.id;
            v.sessions
                .into_iter()
                .zip(owners)
                .map(move |(session, person)| CompanyVisit {
                    visitor: id,
                    person,
                    session,
                })
        })
        .collect();
    visits.sort_by_key(|v| std::cmp::Reverse(v.session.started_ms));
    visits.truncate(COMPANY_VISITS);
    Ok(Some(CompanyPage {
        account,
        people,
        visits,
    }))
}

/// The hot list `query` asks for, narrowed by `filter`; `query.limit` applies after the filter.
pub async fn hot_filtered(
    store: &dyn Store,
    site: &str,
    query: &HotQuery,
    filter: &HotFilter,
) -> Result<HotList, AccountsError> {
    check(query)?;
    Ok(store.hot_accounts(site, query, filter).await?)
}
