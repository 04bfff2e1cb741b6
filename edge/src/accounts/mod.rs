//! Accounts: companies as sales sees them. Activity is kept per company domain and per day, so
//! "which companies are researching us now" is a sum over a recent window, not a scan of every
//! visitor.

mod attack;
pub mod profiles;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::hash::{Hash, Hasher, RandomState};
use std::sync::Arc;

use serde::Serialize;

pub use attack::attack_list;

use crate::glob::Glob;
use crate::model::person::PersonId;
use crate::visitor_id::VisitorId;

/// Accounts by site and domain. Domains come from visitors' email addresses too, so the table
/// keeps the standard library's keyed hash; it is hashbrown's for [`AccountKey`].
type HashMap<K, V> = hashbrown::HashMap<K, V, RandomState>;

/// A site and domain as borrowed text, to find an account without building its key.
struct AccountKey<'a>(&'a str, &'a str);

/// Hashes as the owned key `(Arc<str>, String)` does: each part as a `str`, in order.
impl Hash for AccountKey<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
        self.1.hash(state);
    }
}

impl hashbrown::Equivalent<(Arc<str>, String)> for AccountKey<'_> {
    fn equivalent(&self, key: &(Arc<str>, String)) -> bool {
        *key.0 == *self.0 && key.1 == self.1
    }
}

const DAY_MS: i64 = 86_400_000;
/// Activity is counted per hour, so windows and digest periods in any time zone with whole-hour
/// offsets start and end where they say.
const BUCKET_MS: i64 = 3_600_000;
/// Days of history kept per account; windows longer than this see only this much.
pub const MAX_DAYS: i64 = 90;

/// What is known of the company behind an account.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Firmographics {
    pub name: Option<String>,
    pub industry: Option<String>,
    pub employees: Option<u32>,
    pub size_band: Option<String>,
    pub country: Option<String>,
    /// Where the company came from: an ipdb layer name, or `email`.
    pub source: String,
    /// The name can be trusted: a business network with high confidence, or the domain of a
    /// person's work email. The default hot list shows only these.
    pub confident: bool,
}

impl Firmographics {
    /// These firmographics as a page view would name them.
    pub fn seen(&self) -> Seen<'_> {
        Seen {
            name: self.name.as_deref(),
            industry: self.industry.as_deref(),
            employees: self.employees,
            size_band: self.size_band.as_deref(),
            country: self.country.as_deref(),
            source: &self.source,
            confident: self.confident,
        }
    }

    /// Whether these are what `seen` names (the confidence aside).
    fn is(&self, seen: &Seen<'_>) -> bool {
        self.name.as_deref() == seen.name
            && self.industry.as_deref() == seen.industry
            && self.employees == seen.employees
            && self.size_band.as_deref() == seen.size_band
            && self.country.as_deref() == seen.country
            && self.source == seen.source
    }
}

/// The firmographics one page view names, borrowed from the answer they came from: recording a
/// page view of a company the account already holds copies nothing.
#[derive(Clone, Copy, Debug)]
pub struct Seen<'a> {
    pub name: Option<&'a str>,
    pub industry: Option<&'a str>,
    pub employees: Option<u32>,
    pub size_band: Option<&'a str>,
    pub country: Option<&'a str>,
    pub source: &'a str,
    pub confident: bool,
}

impl From<Seen<'_>> for Firmographics {
    fn from(seen: Seen<'_>) -> Firmographics {
        Firmographics {
            name: seen.name.map(str::to_owned),
            industry: seen.industry.map(str::to_owned),
            employees: seen.employees,
            size_band: seen.size_band.map(str::to_owned),
            country: seen.country.map(str::to_owned),
            source: seen.source.to_owned(),
            confident: seen.confident,
        }
    }
}

#[derive(Clone, Debug, Default)]
struct Day {
    visits: u32,
    pageviews: u32,
    key_pages: BTreeMap<String, u32>,
    /// Views per page path, for the pages alerts name; at most `MAX_PATHS_PER_DAY` paths (per
    /// hour bucket).
    paths: BTreeMap<String, u32>,
}

/// Distinct paths counted per account and day: enough to name what a company read, bounded
/// against a crawler walking every URL.
const MAX_PATHS_PER_DAY: usize = 32;

#[derive(Clone, Debug, Default)]
pub struct Account {
    pub domain: String,
    pub firmographics: Firmographics,
    /// Each visitor's last activity and, when known, its person.
    visitors: HashMap<VisitorId, (i64, Option<PersonId>)>,
    people: BTreeSet<PersonId>,
    /// Activity per hour (the key is hours since the epoch).
    days: BTreeMap<i64, Day>,
    pub last_seen_ms: i64,
}

/// One row of the hot list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HotAccount {
    pub domain: String,
    #[serde(flatten)]
    pub firmographics: Firmographics,
    pub visits: u32,
    pub pageviews: u32,
    pub visitors: u32,
    pub known_visitors: u32,
    pub anonymous_visitors: u32,
    pub known_people: Vec<PersonId>,
    pub key_pages: BTreeMap<String, u32>,
    pub last_seen_ms: i64,
    /// The ranking: visits + 2 × key-page views + 3 × distinct visitors + 5 × known people.
    pub heat: f64,
    /// Visits per day over the last `SPARK_DAYS` days, oldest first: the console's sparkline.
    #[serde(skip)]
    pub recent_visits: Vec<u32>,
    /// The first day with activity still kept (at most `MAX_DAYS` ago), in ms.
    #[serde(skip)]
    pub first_seen_ms: i64,
    /// The most viewed page paths, most first (at most 10): for alert messages.
    #[serde(skip)]
    pub top_pages: Vec<(String, u32)>,
    /// `customer`, `prospect` or `partner`, from an imported accounts list.
    pub status: Option<&'static str>,
    /// The salesperson who owns the account, from an imported accounts list.
    pub owner: Option<String>,
}

/// Days in a hot row's activity sparkline.
pub const SPARK_DAYS: i64 = 14;

/// One day of an account's activity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayActivity {
    /// The day's start, in ms (days are UTC days).
    pub day_ms: i64,
    pub visits: u32,
    pub pageviews: u32,
}

/// Everything an account holds: its company page.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountDetail {
    pub domain: String,
    pub firmographics: Firmographics,
    /// Oldest first; days without activity are left out.
    pub days: Vec<DayActivity>,
    /// Key-page views over the days kept, most viewed first.
    pub key_pages: Vec<(String, u32)>,
    /// Each visitor's last activity and person, most recent first.
    pub visitors: Vec<(VisitorId, i64, Option<PersonId>)>,
    pub people: Vec<PersonId>,
    pub last_seen_ms: i64,
}

/// Which hot list: the companies active within `window_ms` before `now_ms`, at most `limit`;
/// with `confident_only`, those whose name cannot be trusted are left out and counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HotQuery {
    pub now_ms: i64,
    pub window_ms: i64,
    pub limit: usize,
    pub confident_only: bool,
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
    /// Only accounts last seen at or after this time ("now on the site").
    pub last_seen_since_ms: Option<i64>,
    /// Only accounts with a known person.
    pub has_known_people: bool,
    /// Leave out the companies an imported accounts list marks as customers (new business
    /// only: upsell calls are another list).
    pub hide_customers: bool,
}

impl HotFilter {
    /// Whether the filter keeps a company, from what its row would say.
    fn keeps(
        &self,
        f: &Firmographics,
        first_seen_ms: i64,
        last_seen_ms: i64,
        known: usize,
    ) -> bool {
        let same = |want: &Option<String>, have: &Option<String>| {
            want.as_ref()
                .is_none_or(|w| have.as_deref() == Some(w.as_str()))
        };
        same(&self.size_band, &f.size_band)
            && same(&self.industry, &f.industry)
            && same(&self.country, &f.country)
            && self
                .first_seen_since_ms
                .is_none_or(|since| first_seen_ms >= since)
            && self
                .last_seen_since_ms
                .is_none_or(|since| last_seen_ms >= since)
            && (!self.has_known_people || known > 0)
    }
}

/// The hot list, how many companies it left out as not confidently named (of those the filter
/// kept), and the industries and countries of every company active in the window (the
/// console's filter choices).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HotList {
    pub accounts: Vec<HotAccount>,
    pub hidden_unconfident: usize,
    pub industries: BTreeSet<String>,
    pub countries: BTreeSet<String>,
}

/// Activity one batch brings to an account.
pub struct Activity<'a> {
    pub visitor: VisitorId,
    pub person: Option<PersonId>,
    pub at_ms: i64,
    pub new_visit: bool,
    pub page_paths: &'a [&'a str],
}

#[derive(Default)]
pub struct Accounts {
    by_key: HashMap<(Arc<str>, String), Account>,
    /// Globs of the pages sales cares about (pricing, product).
    key_pages: Vec<Glob>,
    /// What imported account lists say of each company (status, owner, firmographics).
    pub profiles: profiles::Profiles,
}

impl Accounts {
    pub fn new(key_pages: Vec<Glob>) -> Self {
        Accounts {
            by_key: HashMap::default(),
            key_pages,
            profiles: profiles::Profiles::default(),
        }
    }

    pub fn record(
        &mut self,
        site: &Arc<str>,
        domain: &str,
        seen: Seen<'_>,
        activity: Activity<'_>,
    ) {
        // Found by borrowed key: a page view of a known account allocates no key.
        let account = match self.by_key.get_mut(&AccountKey(site, domain)) {
            Some(account) => account,
            None => self
                .by_key
                .entry((Arc::clone(site), domain.to_string()))
                .or_insert_with(|| Account {
                    domain: domain.to_string(),
                    ..Account::default()
                }),
        };
        // Once a company was named with confidence it stays so: a later low-confidence answer
        // for the same domain (another layer, another address) does not hide it, and the
        // order in which a restart rebuilds accounts cannot change the flag.
        let confident = account.firmographics.confident || seen.confident;
        let replace = account.firmographics.name.is_none() || seen.source != "email";
        if replace && !account.firmographics.is(&seen) {
            account.firmographics = Firmographics::from(seen);
        }
        account.firmographics.confident = confident;
        let day = activity.at_ms.div_euclid(BUCKET_MS);
        let entry = account.days.entry(day).or_default();
        if activity.new_visit {
            entry.visits += 1;
        }
        for path in activity.page_paths {
            entry.pageviews += 1;
            if let Some(n) = entry.paths.get_mut(*path) {
                *n += 1;
            } else if entry.paths.len() < MAX_PATHS_PER_DAY {
                entry.paths.insert(path.to_string(), 1);
            }
            for glob in &self.key_pages {
                if glob.matches(path) {
                    *entry
                        .key_pages
                        .entry(glob.as_str().to_string())
                        .or_default() += 1;
                }
            }
        }
        let seen = account
            .visitors
            .entry(activity.visitor)
            .or_insert((activity.at_ms, None));
        seen.0 = seen.0.max(activity.at_ms);
        if activity.person.is_some() {
            seen.1 = activity.person;
        }
        if let Some(person) = activity.person {
            account.people.insert(person);
        }
        account.last_seen_ms = account.last_seen_ms.max(activity.at_ms);
        let oldest = (account.last_seen_ms - MAX_DAYS * DAY_MS).div_euclid(BUCKET_MS);
        while account
            .days
            .first_key_value()
            .is_some_and(|(hour, _)| *hour < oldest)
        {
            account.days.pop_first();
        }
    }

    /// A hot row with what an imported accounts list says: status, owner, and the
    /// firmographics activity left blank.
    fn with_profile(&self, site: &str, row: &mut HotAccount) {
        if let Some(profile) = self.profiles.get(site, &row.domain) {
            profile.enrich(&mut row.firmographics);
            row.status = profile.status.map(|s| s.as_str());
            row.owner.clone_from(&profile.owner);
        }
    }

    /// Companies of `site` active within `window_ms` before `now_ms`, hottest first.
    pub fn hot(&self, site: &str, now_ms: i64, window_ms: i64, limit: usize) -> Vec<HotAccount> {
        let query = HotQuery {
            now_ms,
            window_ms,
            limit,
            confident_only: false,
        };
        self.hot_list(site, &query, &HotFilter::default()).accounts
    }

    /// The hot list `query` asks for, narrowed by `filter`; the limit applies after the filter.
    ///
    /// Two passes: every active company is ranked from its counts alone, and only the rows
    /// shown are built whole (page sums, top paths, sparkline). Building thousands of rows to
    /// show a hundred was most of a 30-day list's time.
    pub fn hot_list(&self, site: &str, query: &HotQuery, filter: &HotFilter) -> HotList {
        let HotQuery {
            now_ms,
            window_ms,
            limit,
            confident_only,
        } = *query;
        let from_ms = now_ms - window_ms;
        let days = from_ms.div_euclid(BUCKET_MS)..i64::MAX;
        let mut industries: BTreeSet<&str> = BTreeSet::new();
        let mut countries: BTreeSet<&str> = BTreeSet::new();
        let mut hidden_unconfident = 0;
        let mut people = Vec::new();
        let mut ranked: Vec<(f64, &Account)> = Vec::new();
        for ((s, _), a) in &self.by_key {
            if &**s != site || a.last_seen_ms < from_ms {
                continue;
            }
            // An imported accounts list fills what activity left blank, for the filters too.
            let profile = self.profiles.get(site, &a.domain);
            let enriched;
            let f = match profile {
                Some(p) => {
                    let mut f = a.firmographics.clone();
                    p.enrich(&mut f);
                    enriched = f;
                    &enriched
                }
                None => &a.firmographics,
            };
            let own = &a.firmographics;
            industries
                .extend((own.industry.as_deref()).or(profile.and_then(|p| p.industry.as_deref())));
            countries
                .extend((own.country.as_deref()).or(profile.and_then(|p| p.country.as_deref())));
            let (heat, known) = heat(a, days.clone(), from_ms, &mut people);
            if !filter.keeps(f, first_seen_ms(a), a.last_seen_ms, known) {
                continue;
            }
            let customer = profile.and_then(|p| p.status)
                == Some(crate::model::offline::AccountStatus::Customer);
            if filter.hide_customers && customer {
                continue;
            }
            if confident_only && !a.firmographics.confident {
                hidden_unconfident += 1;
                continue;
            }
            ranked.push((heat, a));
        }
        let order = |x: &(f64, &Account), y: &(f64, &Account)| {
            y.0.total_cmp(&x.0)
                .then(y.1.last_seen_ms.cmp(&x.1.last_seen_ms))
                .then(x.1.domain.cmp(&y.1.domain))
        };
        if ranked.len() > limit && limit > 0 {
            ranked.select_nth_unstable_by(limit - 1, order);
        }
        ranked.truncate(limit);
        ranked.sort_by(order);
        HotList {
            accounts: ranked
                .into_iter()
                .map(|(_, a)| {
                    let mut row = row(a, days.clone(), from_ms, now_ms);
                    self.with_profile(site, &mut row);
                    row
                })
                .collect(),
            hidden_unconfident,
            industries: industries.into_iter().map(str::to_string).collect(),
            countries: countries.into_iter().map(str::to_string).collect(),
        }
    }

    /// The account of `domain` as it will be once `activity` is recorded, over each window
    /// of `windows_ms` before `activity.at_ms`, and whether the activity is the company's first
    /// ever. Nothing is changed: alert rules look ahead at the batch they are deciding for.
    pub fn preview(
        &self,
        site: &Arc<str>,
        domain: &str,
        seen: Seen<'_>,
        activity: Activity<'_>,
        windows_ms: &[i64],
    ) -> (bool, Vec<HotAccount>) {
        let key = (Arc::clone(site), domain.to_string());
        let first = !self.by_key.contains_key(&key);
        let mut scratch = Accounts {
            by_key: HashMap::default(),
            key_pages: self.key_pages.clone(),
            profiles: profiles::Profiles::default(),
        };
        let now_ms = activity.at_ms;
        if let Some(account) = self.by_key.get(&key) {
            // Only what the widest window sees is copied: an old, busy account's history is
            // not, so the look-ahead stays cheap on the collect path.
            let from_ms = now_ms - windows_ms.iter().copied().max().unwrap_or(0);
            let from_bucket = from_ms.div_euclid(BUCKET_MS);
            let recent = Account {
                domain: account.domain.clone(),
                firmographics: account.firmographics.clone(),
                visitors: account
                    .visitors
                    .iter()
                    .filter(|(_, (last, _))| *last >= from_ms)
                    .map(|(id, seen)| (*id, *seen))
                    .collect(),
                people: BTreeSet::new(),
                days: account
                    .days
                    .range(from_bucket..)
                    .map(|(hour, day)| (*hour, day.clone()))
                    .collect(),
                last_seen_ms: account.last_seen_ms,
            };
            scratch.by_key.insert(key.clone(), recent);
        }
        scratch.record(site, domain, seen, activity);
        let rows = match scratch.by_key.get(&key) {
            Some(account) => windows_ms
                .iter()
                .map(|window| {
                    let from_ms = now_ms - window;
                    row(
                        account,
                        from_ms.div_euclid(BUCKET_MS)..i64::MAX,
                        from_ms,
                        now_ms,
                    )
                })
                .collect(),
            None => Vec::new(),
        };
        (first, rows)
    }

    /// The accounts of `site` active in `[from_ms, to_ms)`, hottest first, at most `limit`,
    /// over the hours the period covers (a period that starts or ends inside an hour counts all
    /// of it). Visitors count when last seen at or after `from_ms`.
    pub fn period(&self, site: &str, from_ms: i64, to_ms: i64, limit: usize) -> Vec<HotAccount> {
        let days = from_ms.div_euclid(BUCKET_MS)..(to_ms - 1).div_euclid(BUCKET_MS) + 1;
        let mut rows: Vec<HotAccount> = self
            .by_key
            .iter()
            .filter(|((s, _), a)| &**s == site && a.days.range(days.clone()).next().is_some())
            .map(|(_, a)| row(a, days.clone(), from_ms, to_ms))
            .filter(|r| r.visits > 0 || r.pageviews > 0)
            .collect();
        rows.sort_by(|a, b| {
            b.heat
                .total_cmp(&a.heat)
                .then(b.last_seen_ms.cmp(&a.last_seen_ms))
                .then(a.domain.cmp(&b.domain))
        });
        rows.truncate(limit);
        rows
    }

    /// The account of `domain` on `site`, whole.
    pub fn detail(&self, site: &str, domain: &str) -> Option<AccountDetail> {
        let account = self.by_key.get(&(Arc::from(site), domain.to_string()))?;
        let mut key_pages: BTreeMap<&str, u32> = BTreeMap::new();
        for day in account.days.values() {
            for (page, n) in &day.key_pages {
                *key_pages.entry(page).or_default() += n;
            }
        }
        let mut key_pages: Vec<(String, u32)> = key_pages
            .into_iter()
            .map(|(p, n)| (p.to_string(), n))
            .collect();
        key_pages.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let mut visitors: Vec<(VisitorId, i64, Option<PersonId>)> = account
            .visitors
            .iter()
            .map(|(v, (last, person))| (*v, *last, *person))
            .collect();
        visitors.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Some(AccountDetail {
            domain: account.domain.clone(),
            firmographics: {
                let mut f = account.firmographics.clone();
                if let Some(profile) = self.profiles.get(site, domain) {
                    profile.enrich(&mut f);
                }
                f
            },
            days: {
                // Hours, summed into (UTC) days.
                let mut days: BTreeMap<i64, DayActivity> = BTreeMap::new();
                for (hour, d) in &account.days {
                    let day = (hour * BUCKET_MS).div_euclid(DAY_MS);
                    let entry = days.entry(day).or_insert(DayActivity {
                        day_ms: day * DAY_MS,
                        visits: 0,
                        pageviews: 0,
                    });
                    entry.visits += d.visits;
                    entry.pageviews += d.pageviews;
                }
                days.into_values().collect()
            },
            key_pages,
            visitors,
            people: account.people.iter().copied().collect(),
            last_seen_ms: account.last_seen_ms,
        })
    }

    /// Forgets erased visitors and people everywhere.
    pub fn forget(&mut self, visitors: &[VisitorId], person: PersonId) {
        for account in self.by_key.values_mut() {
            for v in visitors {
                account.visitors.remove(v);
            }
            account.people.remove(&person);
            for (_, p) in account.visitors.values_mut() {
                if *p == Some(person) {
                    *p = None;
                }
            }
        }
    }

    /// Forgets expired visitors of `site`.
    pub fn forget_visitors(&mut self, site: &str, visitors: &[VisitorId]) {
        for ((s, _), account) in &mut self.by_key {
            if **s == *site {
                for v in visitors {
                    account.visitors.remove(v);
                }
            }
        }
    }

    /// Forgets expired people everywhere.
    pub fn forget_people(&mut self, people: &HashSet<PersonId>) {
        for account in self.by_key.values_mut() {
            account.people.retain(|p| !people.contains(p));
            for (_, p) in account.visitors.values_mut() {
                if p.is_some_and(|p| people.contains(&p)) {
                    *p = None;
                }
            }
        }
    }

    /// The sites with something `expire` would drop.
    pub fn sites_to_expire(&self, before_ms: i64) -> BTreeSet<Arc<str>> {
        let oldest = before_ms.div_euclid(BUCKET_MS);
        self.by_key
            .iter()
            .filter(|(_, a)| {
                a.days.first_key_value().is_some_and(|(h, _)| *h < oldest)
                    || a.visitors.values().any(|(at, _)| *at < before_ms)
            })
            .map(|((site, _), _)| Arc::clone(site))
            .collect()
    }

    /// Drops what no window reaches any more: hour buckets and visitors last active before
    /// `before_ms`, and accounts of `site` with nothing left.
    pub fn expire(&mut self, site: &str, before_ms: i64) {
        let oldest = before_ms.div_euclid(BUCKET_MS);
        self.by_key.retain(|(s, _), account| {
            if **s != *site {
                return true;
            }
            while account
                .days
                .first_key_value()
                .is_some_and(|(hour, _)| *hour < oldest)
            {
                account.days.pop_first();
            }
            account.visitors.retain(|_, (at, _)| *at >= before_ms);
            !(account.days.is_empty() && account.visitors.is_empty())
        });
    }

    /// A person merged into another: their activity counts for the survivor.
    pub fn rename_person(&mut self, from: PersonId, to: PersonId) {
        for account in self.by_key.values_mut() {
            if account.people.remove(&from) {
                account.people.insert(to);
            }
            for (_, p) in account.visitors.values_mut() {
                if *p == Some(from) {
                    *p = Some(to);
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

/// Visits per day for the `SPARK_DAYS` days up to `now_ms`, oldest first.
fn recent_visits(account: &Account, now_ms: i64) -> Vec<u32> {
    let today = now_ms.div_euclid(DAY_MS);
    let first = today - SPARK_DAYS + 1;
    let mut days = vec![0; SPARK_DAYS as usize];
    let hours =
        (first * DAY_MS).div_euclid(BUCKET_MS)..((today + 1) * DAY_MS).div_euclid(BUCKET_MS);
    for (hour, activity) in account.days.range(hours) {
        let day = (hour * BUCKET_MS).div_euclid(DAY_MS);
        days[(day - first) as usize] += activity.visits;
    }
    days
}

/// One account's row over the `days` given, counting visitors last seen at or after `from_ms`.
fn row(a: &Account, days: std::ops::Range<i64>, from_ms: i64, now_ms: i64) -> HotAccount {
    let mut row = HotAccount {
        domain: a.domain.clone(),
        firmographics: a.firmographics.clone(),
        visits: 0,
        pageviews: 0,
        visitors: 0,
        known_visitors: 0,
        anonymous_visitors: 0,
        known_people: Vec::new(),
        key_pages: BTreeMap::new(),
        last_seen_ms: a.last_seen_ms,
        heat: 0.0,
        recent_visits: recent_visits(a, now_ms),
        first_seen_ms: first_seen_ms(a),
        top_pages: Vec::new(),
        status: None,
        owner: None,
    };
    // Summed under borrowed names: a page's name is copied once per row, not once per bucket
    // (a 30-day list of thousands of companies otherwise spends most of its time allocating).
    let mut paths: BTreeMap<&str, u32> = BTreeMap::new();
    let mut key_pages: BTreeMap<&str, u32> = BTreeMap::new();
    for (_, day) in a.days.range(days) {
        row.visits += day.visits;
        row.pageviews += day.pageviews;
        for (page, n) in &day.key_pages {
            *key_pages.entry(page.as_str()).or_default() += n;
        }
        for (path, n) in &day.paths {
            *paths.entry(path.as_str()).or_default() += n;
        }
    }
    row.key_pages = key_pages
        .into_iter()
        .map(|(page, n)| (page.to_string(), n))
        .collect();
    let mut top: Vec<(&str, u32)> = paths.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    row.top_pages = top
        .into_iter()
        .take(10)
        .map(|(p, n)| (p.to_string(), n))
        .collect();
    let mut people = BTreeSet::new();
    for (last, person) in a.visitors.values() {
        if *last >= from_ms {
            row.visitors += 1;
            match person {
                Some(p) => {
                    row.known_visitors += 1;
                    people.insert(*p);
                }
                None => row.anonymous_visitors += 1,
            }
        }
    }
    row.known_people = people.into_iter().collect();
    let key_views: u32 = row.key_pages.values().sum();
    row.heat = heat_of(row.visits, key_views, row.visitors, row.known_people.len());
    row
}

/// The ranking: visits + 2 × key-page views + 3 × distinct visitors + 5 × known people.
fn heat_of(visits: u32, key_views: u32, visitors: u32, known_people: usize) -> f64 {
    f64::from(visits)
        + 2.0 * f64::from(key_views)
        + 3.0 * f64::from(visitors)
        + 5.0 * known_people as f64
}

/// An account's heat over `days` (visitors last seen at or after `from_ms`) and its number of
/// known people, as `row` would compute them, without building the row. `people` is scratch
/// space kept between calls.
fn heat(
    a: &Account,
    days: std::ops::Range<i64>,
    from_ms: i64,
    people: &mut Vec<PersonId>,
) -> (f64, usize) {
    let (mut visits, mut key_views) = (0, 0);
    for (_, day) in a.days.range(days) {
        visits += day.visits;
        key_views += day.key_pages.values().sum::<u32>();
    }
    people.clear();
    let mut visitors = 0;
    for (last, person) in a.visitors.values() {
        if *last >= from_ms {
            visitors += 1;
            people.extend(*person);
        }
    }
    people.sort_unstable();
    people.dedup();
    (
        heat_of(visits, key_views, visitors, people.len()),
        people.len(),
    )
}

/// The first hour with activity still kept, in ms.
fn first_seen_ms(a: &Account) -> i64 {
    a.days
        .keys()
        .next()
        .map_or(a.last_seen_ms, |hour| hour * BUCKET_MS)
}

#[cfg(test)]
mod tests;
