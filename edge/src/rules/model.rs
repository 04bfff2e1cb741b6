//! Rules as decisions run them: compiled, sorted by priority, popups rendered in advance.

use std::sync::Arc;

use super::caps::Caps;
use super::condition::Condition;
use super::pages::PagePlan;
use super::sieve::Sieve;
use super::template::{Lang, PopupContent};

#[derive(Debug)]
pub struct Variant {
    pub id: Arc<str>,
    pub weight: u32,
    /// The popup per language, indexed by `Lang::index`.
    pub popup: [Arc<PopupContent>; 2],
}

#[derive(Debug)]
pub struct Rule {
    pub id: Arc<str>,
    pub priority: i32,
    /// Sites it applies to; empty is every site.
    pub sites: Vec<Arc<str>>,
    pub enabled: bool,
    /// As written (explain shows them in this order).
    pub when: Vec<Condition>,
    /// Indices into `when`, cheapest first: the order explain tries them in.
    pub eval_order: Vec<usize>,
    pub caps: Caps,
    /// Share of eligible visitors held out, 0 to 0.9.
    pub holdout: f64,
    pub variants: Vec<Variant>,
    pub total_weight: u64,
    /// Where the rule is written, for explain.
    pub line: usize,
}

impl Rule {
    pub fn applies_to(&self, site: &str) -> bool {
        self.sites.is_empty() || self.sites.iter().any(|s| &**s == site)
    }

    /// Whether every condition holds, cheapest first.
    pub fn conditions_hold(&self, facts: &super::facts::Facts<'_>) -> bool {
        self.eval_order
            .iter()
            .all(|&i| self.when.get(i).is_some_and(|c| c.holds(facts)))
    }

    pub fn variant(&self, id: &str) -> Option<usize> {
        self.variants.iter().position(|v| &*v.id == id)
    }
}

/// Every rule of one configuration, highest priority first (ties by id), plus the site-wide
/// settings.
#[derive(Debug)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    /// The rules' conditions, each distinct one once: what decisions evaluate.
    pub sieve: Sieve,
    /// Every page glob of the rules, indexed so a decision matches each page view once.
    pub pages: PagePlan,
    pub max_per_day: u32,
    pub min_visit_age_ms: i64,
    pub default_lang: Lang,
    pub reload_check: std::time::Duration,
    /// The `[[alerts]]` rules, loaded and reloaded with the popup rules from the same file.
    pub alerts: std::sync::Arc<crate::alerts::AlertRules>,
}

impl Default for RuleSet {
    fn default() -> Self {
        RuleSet {
            rules: Vec::new(),
            sieve: Sieve::new(&[]),
            pages: PagePlan::default(),
            max_per_day: 1,
            min_visit_age_ms: 0,
            default_lang: Lang::Ja,
            reload_check: std::time::Duration::from_secs(10),
            alerts: Default::default(),
        }
    }
}

impl RuleSet {
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| &*r.id == id)
    }

    pub fn has_rules_for(&self, site: &str) -> bool {
        self.sieve.has_rules_for(site)
    }
}
