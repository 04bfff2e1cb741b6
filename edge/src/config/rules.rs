//! The rule language as an operator writes it in the TOML file: `[popups]` for site-wide
//! settings and custom templates, `[[rules]]` for rules. Only shapes and single values are
//! checked here (so the parser can point at the line); `compile` checks what spans several
//! values and turns the result into the form decisions run on.

use std::collections::BTreeMap;
use std::time::Duration;

use ipdb::{NetworkKind, SizeBand};
use serde::Deserialize;
use toml::Spanned;

use crate::config::{HumanDuration, SiteKey};

/// Site-wide popup settings. The defaults are deliberately shy: popups must never become spam.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PopupsConfig {
    /// Popups a visitor sees per 24 hours at most, over all rules.
    pub max_per_day: u32,
    /// No popup before a visit is this old (the first page view of a visit is age 0).
    pub min_visit_age: HumanDuration,
    /// Shown under every form; absent means the popup carries `null`.
    pub privacy_url: Option<String>,
    /// The language when neither the request nor the page path says.
    pub default_lang: LangConfig,
    /// How often the configuration file is checked for changed rules (SIGHUP reloads at once).
    pub reload_check: HumanDuration,
    /// Custom templates by name, beside the built-in `brochure` and `seminar`.
    pub templates: BTreeMap<String, Spanned<TemplateConfig>>,
}

impl Default for PopupsConfig {
    fn default() -> Self {
        PopupsConfig {
            max_per_day: 1,
            min_visit_age: HumanDuration(Duration::ZERO),
            privacy_url: None,
            default_lang: LangConfig::Ja,
            reload_check: HumanDuration(Duration::from_secs(10)),
            templates: BTreeMap::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LangConfig {
    #[default]
    Ja,
    En,
}

/// Copy in both languages; a missing one falls back to the other.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextConfig {
    pub ja: Option<String>,
    pub en: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateConfig {
    pub title: TextConfig,
    #[serde(default)]
    pub body: TextConfig,
    pub submit: TextConfig,
    pub fields: Vec<FieldConfig>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldConfig {
    pub name: String,
    pub label: TextConfig,
    #[serde(default, rename = "type")]
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
}

/// Input types a popup form may use; the tag renders each as plain text input of that type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    #[default]
    Text,
    Email,
    Tel,
    Textarea,
}

/// One `[[rules]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    pub id: Spanned<String>,
    pub template: Spanned<String>,
    /// Higher wins; equal priorities are ordered by id.
    #[serde(default)]
    pub priority: i32,
    /// Sites the rule applies to; empty means every site.
    #[serde(default)]
    pub sites: Vec<Spanned<SiteKey>>,
    /// A disabled rule stays in the file (and in explain) but never shows.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Every condition must hold.
    #[serde(default)]
    pub when: Vec<Spanned<ConditionConfig>>,
    #[serde(default)]
    pub caps: CapsConfig,
    /// Share of eligible visitors (0 to 0.9) who see nothing, to measure the lift against.
    #[serde(default)]
    pub holdout: Option<Spanned<f64>>,
    #[serde(default)]
    pub variants: Vec<Spanned<VariantConfig>>,
    /// Copy overrides for every variant of the rule.
    #[serde(default)]
    pub title: Option<TextConfig>,
    #[serde(default)]
    pub body: Option<TextConfig>,
    #[serde(default)]
    pub submit: Option<TextConfig>,
    /// The event a `seminar` popup announces.
    #[serde(default)]
    pub event: Option<EventConfig>,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventConfig {
    pub title: TextConfig,
    /// As it should read, e.g. "2025-07-10 15:00 JST" or "7月10日（木）15:00".
    pub date: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantConfig {
    pub id: Spanned<String>,
    /// Relative share among the variants.
    #[serde(default = "one")]
    pub weight: u32,
    /// Another template for this variant.
    #[serde(default)]
    pub template: Option<Spanned<String>>,
    #[serde(default)]
    pub title: Option<TextConfig>,
    #[serde(default)]
    pub body: Option<TextConfig>,
    #[serde(default)]
    pub submit: Option<TextConfig>,
    #[serde(default)]
    pub event: Option<EventConfig>,
}

fn one() -> u32 {
    1
}

/// Frequency caps and back-off for one rule.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CapsConfig {
    /// At most one popup of this rule per this long.
    pub once_per: HumanDuration,
    /// Never again after this many dismissals (0: no limit).
    pub max_dismissals: u32,
    /// Wait after the 1st, 2nd, ... dismissal; the last step repeats.
    pub backoff: Vec<HumanDuration>,
    /// This many showings without any answer count as one dismissal (0: never).
    pub ignored_after: u32,
}

impl Default for CapsConfig {
    fn default() -> Self {
        let days = |n: u64| HumanDuration(Duration::from_secs(n * 86_400));
        CapsConfig {
            once_per: days(1),
            max_dismissals: 3,
            backoff: vec![days(1), days(3), days(9)],
            ignored_after: 3,
        }
    }
}

/// A condition, written as a table with exactly one key: `{ visits = { at_least = 3 } }`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ConditionConfig {
    /// `true`: nobody has been identified on this visitor; `false`: someone has.
    Anonymous(bool),
    /// Visits (sessions) within a window.
    Visits(CountConfig),
    /// Page views whose path matches a glob, counted within a window.
    Pages(PagesConfig),
    /// Each glob matched by at least one page view within the window.
    PagesAll(GlobsConfig),
    /// At least one glob matched.
    PagesAny(GlobsConfig),
    /// No glob matched.
    PagesNone(GlobsConfig),
    /// How long the current visit has lasted.
    TimeOnSite(DurationRangeConfig),
    /// The page being viewed now, by path glob.
    Page(String),
    /// The visit's entry referrer (full URL) by glob; `""` means a direct visit.
    Referrer(String),
    /// UTM parameters of the visit's landing page, by glob.
    Utm(UtmConfig),
    /// Lead score, when scoring provides one.
    Score(RangeConfig),
    /// Funnel stage, when one is set.
    Stage(Vec<String>),
    /// `true`: the address resolves to a company's own network (never an ISP or carrier).
    CompanyKnown(bool),
    /// `true`: as `company_known`, and the network's kind is known with high confidence (a
    /// company row, an override, the reviewed list, an industry word, MaxMind's judgement).
    CompanyConfident(bool),
    CompanySize(Vec<SizeBand>),
    /// Industry as the company data names it, compared case-insensitively.
    Industry(Vec<String>),
    /// ISO country codes.
    Country(Vec<String>),
    /// The kind of network the visitor is on.
    Network(Vec<NetworkKind>),
    All(Vec<ConditionConfig>),
    Any(Vec<ConditionConfig>),
    Not(Box<ConditionConfig>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountConfig {
    pub at_least: Option<u32>,
    pub at_most: Option<u32>,
    /// Absent: over the whole history the edge keeps.
    pub within: Option<HumanDuration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagesConfig {
    pub glob: String,
    pub at_least: Option<u32>,
    pub at_most: Option<u32>,
    pub within: Option<HumanDuration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobsConfig {
    pub globs: Vec<String>,
    pub within: Option<HumanDuration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DurationRangeConfig {
    pub at_least: Option<HumanDuration>,
    pub at_most: Option<HumanDuration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeConfig {
    pub at_least: Option<i64>,
    pub at_most: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UtmConfig {
    pub source: Option<String>,
    pub medium: Option<String>,
    pub campaign: Option<String>,
    pub term: Option<String>,
    pub content: Option<String>,
}
