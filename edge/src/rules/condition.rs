//! Conditions as decisions run them: compiled once from the configuration, evaluated per page
//! view with short-circuiting, or explained in full.

use ipdb::{NetworkKind, SizeBand};
use serde::Serialize;

use super::facts::Facts;
use super::pages::{PageGlob, PageGlobs};
use crate::config::rules::{ConditionConfig, GlobsConfig};
use crate::glob::Glob;

/// An inclusive range; an open end is the type's bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Range<T> {
    pub min: T,
    pub max: T,
}

impl Range<u32> {
    fn holds(&self, n: u32) -> bool {
        self.min <= n && n <= self.max
    }
}

impl std::fmt::Display for Range<u32> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.min, self.max) {
            (min, u32::MAX) => write!(f, ">= {min}"),
            (0, max) => write!(f, "<= {max}"),
            (min, max) => write!(f, "{min}..={max}"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SetKind {
    All,
    Any,
    None,
}

/// `repr(u8)`: an explicit tag, so that dispatching on a condition (every rule of a decision
/// does, several times) is one byte load and a jump, not the decoding of a niche in a field.
/// `Eq` and `Hash`: rules that write the same condition share one evaluation (see `sieve`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Condition {
    Anonymous(bool),
    Visits {
        range: Range<u32>,
        within_ms: Option<i64>,
        /// Memo slot shared by every visits condition with this window.
        slot: usize,
    },
    Pages {
        glob: PageGlob,
        range: Range<u32>,
        within_ms: Option<i64>,
    },
    PageSet {
        kind: SetKind,
        globs: Vec<PageGlob>,
        within_ms: Option<i64>,
    },
    TimeOnSite {
        min_ms: i64,
        max_ms: i64,
    },
    /// The current page's path; `id` is the glob's bit in the rule set's page masks.
    Page {
        glob: Glob,
        id: usize,
    },
    /// `None`: a direct visit (no referrer).
    Referrer(Option<Glob>),
    /// Each parameter as its index in `UTM_NAMES`, where the landing page's values sit:
    /// found by position per decision rather than by comparing names.
    Utm(Vec<(usize, Glob)>),
    Score {
        min: i64,
        max: i64,
    },
    Stage(Vec<String>),
    CompanyKnown(bool),
    CompanyConfident(bool),
    CompanySize(Vec<SizeBand>),
    Industry(Vec<String>),
    Country(Vec<String>),
    Network(Vec<NetworkKind>),
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
}

/// One condition's verdict, for explain.
#[derive(Clone, Debug, Serialize)]
pub struct ConditionReport {
    pub condition: String,
    pub held: bool,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inner: Vec<ConditionReport>,
}

fn ms(d: &crate::config::HumanDuration) -> i64 {
    i64::try_from(d.0.as_millis()).unwrap_or(i64::MAX)
}

fn range(at_least: Option<u32>, at_most: Option<u32>) -> Result<Range<u32>, String> {
    let r = Range {
        min: at_least.unwrap_or(0),
        max: at_most.unwrap_or(u32::MAX),
    };
    match (at_least, at_most) {
        (None, None) => Err("give at_least, at_most or both".into()),
        _ if r.min > r.max => Err(format!("at_least {} is above at_most {}", r.min, r.max)),
        _ => Ok(r),
    }
}

/// A company's industry or country as conditions compare it.
fn norm(text: &str) -> String {
    text.trim().to_lowercase()
}

/// Whether `value` is in `list` (written lower-case), without allocating on the request path.
fn same_in(list: &[String], value: &str) -> bool {
    let value = value.trim();
    list.iter().any(|item| item.eq_ignore_ascii_case(value))
}

impl Condition {
    /// Rough cost of evaluating: conditions are tried cheapest first so most rules fail before
    /// the page history is looked at.
    pub fn cost(&self) -> u8 {
        match self {
            Condition::Visits { .. } => 1,
            Condition::Pages { .. } | Condition::PageSet { .. } => 2,
            Condition::All(list) | Condition::Any(list) => {
                list.iter().map(Condition::cost).max().unwrap_or(0)
            }
            Condition::Not(inner) => inner.cost(),
            _ => 0,
        }
    }
}

impl Condition {
    /// Compiles one condition; the message says what is wrong with it.
    pub fn compile(config: &ConditionConfig, pages: &mut PageGlobs) -> Result<Condition, String> {
        use ConditionConfig as C;
        let within = |w: &Option<crate::config::HumanDuration>| w.as_ref().map(ms);
        let set = |kind, g: &GlobsConfig, pages: &mut PageGlobs| -> Result<Condition, String> {
            if g.globs.is_empty() {
                return Err("list at least one glob".into());
            }
            let within_ms = within(&g.within);
            let globs = g
                .globs
                .iter()
                .map(|text| Ok(pages.history(Glob::new(text)?, within_ms)))
                .collect::<Result<_, String>>()?;
            Ok(Condition::PageSet {
                kind,
                globs,
                within_ms,
            })
        };
        let nonempty = |what: &str, n: usize| {
            if n == 0 {
                Err(format!("{what}: list at least one value"))
            } else {
                Ok(())
            }
        };
        Ok(match config {
            C::Anonymous(b) => Condition::Anonymous(*b),
            C::Visits(c) => Condition::Visits {
                range: range(c.at_least, c.at_most)?,
                within_ms: within(&c.within),
                slot: pages.visits(within(&c.within)),
            },
            C::Pages(p) => {
                let glob = Glob::new(&p.glob)?;
                let range = range(p.at_least, p.at_most)?;
                let within_ms = within(&p.within);
                Condition::Pages {
                    glob: pages.history(glob, within_ms),
                    range,
                    within_ms,
                }
            }
            C::PagesAll(g) => set(SetKind::All, g, pages)?,
            C::PagesAny(g) => set(SetKind::Any, g, pages)?,
            C::PagesNone(g) => set(SetKind::None, g, pages)?,
            C::TimeOnSite(r) => {
                if r.at_least.is_none() && r.at_most.is_none() {
                    return Err("give at_least, at_most or both".into());
                }
                Condition::TimeOnSite {
                    min_ms: r.at_least.as_ref().map_or(0, ms),
                    max_ms: r.at_most.as_ref().map_or(i64::MAX, ms),
                }
            }
            C::Page(g) => {
                let glob = Glob::new(g)?;
                Condition::Page {
                    id: pages.id(&glob),
                    glob,
                }
            }
            C::Referrer(g) if g.is_empty() => Condition::Referrer(None),
            C::Referrer(g) => Condition::Referrer(Some(Glob::new(g)?)),
            C::Utm(u) => {
                // In `UTM_NAMES` order: the position is the parameter's index.
                let wanted = [&u.source, &u.medium, &u.campaign, &u.term, &u.content];
                let globs: Vec<_> = wanted
                    .into_iter()
                    .enumerate()
                    .filter_map(|(at, g)| g.as_ref().map(|g| Glob::new(g).map(|g| (at, g))))
                    .collect::<Result<_, String>>()?;
                nonempty("utm", globs.len())?;
                Condition::Utm(globs)
            }
            C::Score(r) => {
                if r.at_least.is_none() && r.at_most.is_none() {
                    return Err("give at_least, at_most or both".into());
                }
                Condition::Score {
                    min: r.at_least.unwrap_or(i64::MIN),
                    max: r.at_most.unwrap_or(i64::MAX),
                }
            }
            C::Stage(s) => {
                nonempty("stage", s.len())?;
                Condition::Stage(s.iter().map(|s| norm(s)).collect())
            }
            C::CompanyKnown(b) => Condition::CompanyKnown(*b),
            C::CompanyConfident(b) => Condition::CompanyConfident(*b),
            C::CompanySize(s) => {
                nonempty("company_size", s.len())?;
                Condition::CompanySize(s.clone())
            }
            C::Industry(s) => {
                nonempty("industry", s.len())?;
                Condition::Industry(s.iter().map(|s| norm(s)).collect())
            }
            C::Country(s) => {
                nonempty("country", s.len())?;
                Condition::Country(s.iter().map(|s| norm(s)).collect())
            }
            C::Network(s) => {
                nonempty("network", s.len())?;
                Condition::Network(s.clone())
            }
            C::All(list) | C::Any(list) => {
                nonempty("all/any", list.len())?;
                let inner = list
                    .iter()
                    .map(|c| Condition::compile(c, pages))
                    .collect::<Result<Vec<_>, _>>()?;
                if matches!(config, C::All(_)) {
                    Condition::All(inner)
                } else {
                    Condition::Any(inner)
                }
            }
            C::Not(inner) => Condition::Not(Box::new(Condition::compile(inner, pages)?)),
        })
    }

    /// Whether the condition holds. The one-line conditions rules mostly start with are
    /// answered here, inlined into the loops over conditions; the rest in `holds_more`, a
    /// large function whose register saves would cost every simple condition more than its
    /// own test.
    #[inline]
    pub fn holds(&self, facts: &Facts<'_>) -> bool {
        match self {
            Condition::Anonymous(b) => facts.identified != *b,
            Condition::Visits {
                range,
                within_ms,
                slot,
            } => range.holds(facts.visits_in(*slot, *within_ms)),
            Condition::Pages {
                glob,
                range,
                within_ms,
            } => range.holds(facts.page_count(glob, *within_ms)),
            Condition::Page { glob, id } => facts.on_page(glob, *id),
            Condition::CompanyKnown(b) => named_company(facts).is_some() == *b,
            Condition::CompanyConfident(b) => {
                named_company(facts)
                    .is_some_and(|c| c.network_kind_confidence == ipdb::Confidence::High)
                    == *b
            }
            Condition::CompanySize(bands) => {
                named_company(facts).is_some_and(|c| bands.contains(&c.size_band))
            }
            _ => self.holds_more(facts),
        }
    }

    /// `holds` for conditions with loops, globs or inner conditions.
    fn holds_more(&self, facts: &Facts<'_>) -> bool {
        match self {
            Condition::Anonymous(_)
            | Condition::Visits { .. }
            | Condition::Pages { .. }
            | Condition::Page { .. }
            | Condition::CompanyKnown(_)
            | Condition::CompanyConfident(_)
            | Condition::CompanySize(_) => self.holds(facts),
            Condition::PageSet {
                kind,
                globs,
                within_ms,
            } => {
                let mut seen = globs.iter().map(|g| facts.page_count(g, *within_ms) > 0);
                match kind {
                    SetKind::All => seen.all(|s| s),
                    SetKind::Any => seen.any(|s| s),
                    SetKind::None => !seen.any(|s| s),
                }
            }
            Condition::TimeOnSite { min_ms, max_ms } => {
                (*min_ms..=*max_ms).contains(&facts.visit_age_ms())
            }
            Condition::Referrer(None) => facts.landing_referrer.is_none(),
            Condition::Referrer(Some(glob)) => {
                facts.landing_referrer.is_some_and(|r| glob.matches(r))
            }
            Condition::Utm(globs) => globs
                .iter()
                .all(|(at, glob)| facts.utm(*at).is_some_and(|value| glob.matches(value))),
            Condition::Score { min, max } => {
                facts.score.is_some_and(|s| (*min..=*max).contains(&s))
            }
            Condition::Stage(stages) => facts.stage.is_some_and(|s| same_in(stages, s)),
            Condition::Industry(list) => named_company(facts)
                .and_then(|c| c.industry.as_deref())
                .is_some_and(|i| same_in(list, i)),
            Condition::Country(list) => named_company(facts)
                .and_then(|c| c.country.as_deref())
                .is_some_and(|i| same_in(list, i)),
            Condition::Network(kinds) => {
                let kind = facts
                    .company
                    .map_or(NetworkKind::Unknown, |c| c.network_kind);
                kinds.contains(&kind)
            }
            Condition::All(list) => list.iter().all(|c| c.holds(facts)),
            Condition::Any(list) => list.iter().any(|c| c.holds(facts)),
            Condition::Not(inner) => !inner.holds(facts),
        }
    }

    /// Evaluates every part, without short-circuiting, saying why each held or failed.
    pub fn explain(&self, facts: &Facts<'_>) -> ConditionReport {
        let held = self.holds(facts);
        let (condition, detail, inner) = super::describe::describe(self, facts);
        ConditionReport {
            condition,
            held,
            detail,
            inner,
        }
    }
}

/// The company the visitor works at, if the address names one: ISP, mobile, hosting and
/// unknown networks never do, so their visitors are never targeted as that company.
pub fn named_company<'a>(facts: &Facts<'a>) -> Option<&'a ipdb::Company> {
    facts.named
}

/// Whether a company's network names it (see `named_company`); facts work it out once.
pub fn is_named(c: &ipdb::Company) -> bool {
    matches!(
        c.network_kind,
        NetworkKind::Business | NetworkKind::Education | NetworkKind::Government
    ) && c.name.is_some()
}
