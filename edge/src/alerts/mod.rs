//! Alert rules as the collect path evaluates them: compiled from `[[alerts]]`, swapped whole on
//! reload with the popup rules, and decided over what the batch being collected will make of
//! the company's account and the person behind the visit. No HTTP, no storage.
//!
//! A decision is recorded in the batch itself (`Event::Alert`), so the log holds it with the
//! activity that caused it: replay and every node read the same decision instead of making it
//! again over state that may differ (rules reloaded since, accounts rebuilt after a restart).
//! The engine applies the cooldown when it applies the record, so two nodes that decided the
//! same alert at once still send it once.

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

use crate::accounts::{Firmographics, HotAccount};
use crate::config::Config;
use crate::config::alerts::{AccountCondition, QuietHours};
use crate::glob::Glob;
use crate::notice::{Alert, Band, Company};

/// At most this many alerts come out of one batch.
pub const MAX_PER_BATCH: usize = 16;
/// Pages and people a message lists.
const MAX_LISTED: usize = 10;

/// Every site's alert rules.
#[derive(Debug, Default)]
pub struct AlertRules {
    by_site: HashMap<Arc<str>, SiteAlerts>,
}

#[derive(Debug)]
struct SiteAlerts {
    tz: jiff::tz::TimeZone,
    rules: Vec<AlertRule>,
}

#[derive(Debug)]
pub struct AlertRule {
    pub name: String,
    lang: String,
    to: Vec<String>,
    cooldown_ms: i64,
    quiet: Option<QuietHours>,
    condition: Condition,
}

#[derive(Debug)]
enum Condition {
    Account(Box<AccountRule>),
    Person {
        returned: bool,
        email_click: bool,
        score_at_least: Option<f64>,
    },
    Page(Glob),
}

#[derive(Debug)]
struct AccountRule {
    window_ms: i64,
    heat: Option<f64>,
    key_pages: Option<u32>,
    visitors: Option<u32>,
    known_people: Option<u32>,
    bands: Vec<Band>,
    industries: Vec<String>,
    countries: Vec<String>,
    first_visit: bool,
}

impl AccountRule {
    fn from_config(c: &AccountCondition) -> AccountRule {
        AccountRule {
            window_ms: c.window.0.as_millis() as i64,
            heat: c.heat_at_least,
            key_pages: c.key_pages_at_least,
            visitors: c.visitors_at_least,
            known_people: c.known_people_at_least,
            bands: c.employee_band.clone(),
            industries: c.industry.iter().map(|i| i.to_lowercase()).collect(),
            countries: c.country.iter().map(|c| c.to_uppercase()).collect(),
            first_visit: c.first_visit,
        }
    }

    fn holds(&self, row: &HotAccount, first: bool) -> bool {
        let f = &row.firmographics;
        let key_views: u32 = row.key_pages.values().sum();
        self.heat.is_none_or(|n| row.heat >= n)
            && self.key_pages.is_none_or(|n| key_views >= n)
            && self.visitors.is_none_or(|n| row.visitors >= n)
            && self
                .known_people
                .is_none_or(|n| row.known_people.len() as u32 >= n)
            && (self.bands.is_empty()
                || f.employees
                    .is_some_and(|e| self.bands.contains(&Band::of(e))))
            && (self.industries.is_empty()
                || f.industry
                    .as_ref()
                    .is_some_and(|i| self.industries.contains(&i.to_lowercase())))
            && (self.countries.is_empty()
                || f.country
                    .as_ref()
                    .is_some_and(|c| self.countries.contains(&c.to_uppercase())))
            && (!self.first_visit || first)
    }
}

/// The account a batch adds to, as it will be with the batch.
#[derive(Clone, Debug)]
pub struct AccountFacts {
    pub domain: String,
    pub firmographics: Firmographics,
    /// The company had never been seen before this batch.
    pub first_visit: bool,
    /// The account over each window of `AlertRules::windows`, in that order.
    pub rows: Vec<HotAccount>,
}

/// The known person behind a batch.
#[derive(Clone, Debug)]
pub struct PersonFacts {
    pub id: u64,
    /// The batch starts a new visit of a person seen before.
    pub returned: bool,
    /// The batch carries a verified email click of this person.
    pub email_click: bool,
    pub score_before: f64,
    pub score_after: f64,
}

/// What the engine tells about a batch before it is stored.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub now_ms: i64,
    pub account: Option<AccountFacts>,
    pub person: Option<PersonFacts>,
    /// Paths of the batch's page views.
    pub pages: Vec<String>,
}

/// The cooldown key of an account.
pub fn account_subject(domain: &str) -> String {
    format!("account:{domain}")
}

/// The cooldown key of a person.
pub fn person_subject(id: u64) -> String {
    format!("person:{id}")
}

/// Compiles the (already validated) `[[alerts]]` of a configuration.
pub fn compile(config: &Config) -> AlertRules {
    let mut by_site: HashMap<Arc<str>, SiteAlerts> = HashMap::new();
    for rule in &config.alerts {
        let r = rule.get_ref();
        let site = r.site.get_ref().as_str();
        let condition = if let Some(account) = &r.account {
            Condition::Account(Box::new(AccountRule::from_config(account.get_ref())))
        } else if let Some(page) = &r.page {
            Condition::Page(page.get_ref().path.clone())
        } else if let Some(person) = &r.person {
            let p = person.get_ref();
            Condition::Person {
                returned: p.returned,
                email_click: p.email_click,
                score_at_least: p.score_at_least,
            }
        } else {
            continue; // refused by validation
        };
        let entry = by_site
            .entry(Arc::from(site))
            .or_insert_with(|| SiteAlerts {
                tz: config
                    .site(site)
                    .and_then(|s| jiff::tz::TimeZone::get(s.time_zone.get_ref()).ok())
                    .unwrap_or(jiff::tz::TimeZone::UTC),
                rules: Vec::new(),
            });
        entry.rules.push(AlertRule {
            name: r.name.get_ref().clone(),
            lang: r.lang.get_ref().clone(),
            to: r.to.iter().map(|t| t.get_ref().clone()).collect(),
            cooldown_ms: r.cooldown.0.as_millis() as i64,
            quiet: r.quiet_hours.as_ref().map(|q| *q.get_ref()),
            condition,
        });
    }
    AlertRules { by_site }
}

impl AlertRules {
    pub fn has_rules_for(&self, site: &str) -> bool {
        self.by_site.contains_key(site)
    }

    pub fn len(&self) -> usize {
        self.by_site.values().map(|s| s.rules.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_site.is_empty()
    }

    /// The account windows `site`'s rules look at: `Facts::account.rows` follows this order.
    /// The first is the one messages quote for rules without a window of their own.
    pub fn windows(&self, site: &str) -> Vec<i64> {
        let mut windows = vec![7 * 86_400_000];
        for rule in self.by_site.get(site).map_or(&[][..], |s| &s.rules) {
            if let Condition::Account(a) = &rule.condition
                && !windows.contains(&a.window_ms)
            {
                windows.push(a.window_ms);
            }
        }
        windows
    }

    /// The alerts the batch described by `facts` raises on `site`. `cooling(rule, subject)`
    /// says whether that alert is inside its cooldown already: those are not raised again.
    pub fn decide(
        &self,
        site: &str,
        facts: &Facts,
        cooling: &dyn Fn(&str, &str, i64) -> bool,
    ) -> Vec<Alert> {
        let Some(site_alerts) = self.by_site.get(site) else {
            return Vec::new();
        };
        let windows = self.windows(site);
        let local_minute = local_minute(&site_alerts.tz, facts.now_ms);
        let mut raised = Vec::new();
        for rule in &site_alerts.rules {
            if raised.len() >= MAX_PER_BATCH {
                break;
            }
            if rule.quiet.is_some_and(|q| q.contains(local_minute)) {
                continue;
            }
            let Some((kind, subject, window)) = rule.holds(facts, &windows) else {
                continue;
            };
            if cooling(&rule.name, &subject, rule.cooldown_ms) {
                continue;
            }
            raised.push(rule.alert(kind, subject, facts, window));
        }
        raised
    }
}

impl AlertRule {
    /// The alert's type, its cooldown subject and the index of the window it quotes, when the
    /// condition holds.
    fn holds(&self, facts: &Facts, windows: &[i64]) -> Option<(&'static str, String, usize)> {
        match &self.condition {
            Condition::Account(rule) => {
                let account = facts.account.as_ref()?;
                let index = windows.iter().position(|w| *w == rule.window_ms)?;
                let row = account.rows.get(index)?;
                rule.holds(row, account.first_visit)
                    .then(|| ("account.hot", account_subject(&account.domain), index))
            }
            Condition::Page(glob) => {
                let account = facts.account.as_ref()?;
                let f = &account.firmographics;
                let business = f.confident && f.source != "email";
                (business && facts.pages.iter().any(|p| glob.matches(p)))
                    .then(|| ("page.viewed", account_subject(&account.domain), 0))
            }
            Condition::Person {
                returned,
                email_click,
                score_at_least,
            } => {
                let person = facts.person.as_ref()?;
                let kind = if *email_click && person.email_click {
                    "person.email_click"
                } else if *returned && person.returned {
                    "person.returned"
                } else if score_at_least
                    .is_some_and(|n| person.score_before < n && person.score_after >= n)
                {
                    "person.score"
                } else {
                    return None;
                };
                Some((kind, person_subject(person.id), 0))
            }
        }
    }

    fn alert(&self, kind: &str, subject: String, facts: &Facts, window: usize) -> Alert {
        let account = facts.account.as_ref();
        let row = account.and_then(|a| a.rows.get(window));
        let mut pages: Vec<String> = Vec::new();
        for page in &facts.pages {
            if !pages.contains(page) {
                pages.push(page.clone());
            }
        }
        for (page, _) in row.map_or(&[][..], |r| &r.top_pages[..]) {
            if !pages.contains(page) {
                pages.push(page.clone());
            }
        }
        pages.truncate(MAX_LISTED);
        Alert {
            rule: self.name.clone(),
            kind: kind.to_string(),
            subject,
            cooldown_ms: self.cooldown_ms,
            destinations: self.to.clone(),
            lang: self.lang.clone(),
            company: account.map(|a| Company {
                domain: a.domain.clone(),
                name: a.firmographics.name.clone(),
                industry: a.firmographics.industry.clone(),
                employees: a.firmographics.employees,
                country: a.firmographics.country.clone(),
            }),
            person: facts.person.as_ref().map(|p| p.id),
            heat: row.map_or(0.0, |r| r.heat),
            visits: row.map_or(0, |r| r.visits),
            visitors: row.map_or(0, |r| r.visitors),
            pages,
            known_people: row
                .map(|r| {
                    r.known_people
                        .iter()
                        .take(MAX_LISTED)
                        .map(|p| p.0)
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// Minutes since local midnight in `tz`.
pub fn local_minute(tz: &jiff::tz::TimeZone, at_ms: i64) -> u32 {
    let Ok(at) = jiff::Timestamp::from_millisecond(at_ms) else {
        return 0;
    };
    let local = tz.to_datetime(at);
    local.hour() as u32 * 60 + local.minute() as u32
}
