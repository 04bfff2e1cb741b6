//! Hot accounts: the companies researching a site now, ranked by recent activity; and one
//! company's page.

use std::sync::Arc;
use std::time::Duration;

use crate::accounts::{AccountDetail, HotAccount, HotList, HotQuery, MAX_DAYS};
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
    Ok(store.hot_accounts(site, query).await?)
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

/// Narrows a hot list the way the console's filters do; every field left empty keeps all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HotFilter {
    /// `small`, `mid` or `enterprise`.
    pub size_band: Option<String>,
    pub industry: Option<String>,
    pub country: Option<String>,
    /// Only accounts first seen at or after this time ("new this week").
    pub first_seen_since_ms: Option<i64>,
    /// Only accounts with a known person.
    pub has_known_people: bool,
}

impl HotFilter {
    pub fn keeps(&self, row: &HotAccount) -> bool {
        let f = &row.firmographics;
        let same = |want: &Option<String>, have: &Option<String>| {
            want.as_ref()
                .is_none_or(|w| have.as_deref() == Some(w.as_str()))
        };
        same(&self.size_band, &f.size_band)
            && same(&self.industry, &f.industry)
            && same(&self.country, &f.country)
            && self
                .first_seen_since_ms
                .is_none_or(|since| row.first_seen_ms >= since)
            && (!self.has_known_people || !row.known_people.is_empty())
    }
}

/// The hot list `query` asks for, narrowed by `filter`; `query.limit` applies after the filter.
pub async fn hot_filtered(
    store: &dyn Store,
    site: &str,
    query: &HotQuery,
    filter: &HotFilter,
) -> Result<HotList, AccountsError> {
    check(query)?;
    let all = HotQuery {
        limit: MAX_LIMIT,
        ..*query
    };
    let mut list = store.hot_accounts(site, &all).await?;
    list.accounts.retain(|row| filter.keeps(row));
    list.accounts.truncate(query.limit);
    Ok(list)
}
