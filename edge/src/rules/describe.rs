//! Words for explain: each condition as the operator wrote it, and what the visitor had.

use super::condition::{Condition, ConditionReport, SetKind, named_company};
use super::facts::{Facts, UTM_NAMES};

/// A duration in the largest whole unit: `7d`, `30m`, `1500ms`.
pub fn duration(ms: i64) -> String {
    const UNITS: [(i64, &str); 4] = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1000, "s"),
    ];
    if ms == i64::MAX {
        return "forever".into();
    }
    for (size, unit) in UNITS {
        if ms >= size && ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

fn window(within_ms: Option<i64>) -> String {
    within_ms.map_or_else(|| " ever".into(), |w| format!(" within {}", duration(w)))
}

fn list<T: std::fmt::Debug>(items: &[T]) -> String {
    let shown: Vec<String> = items
        .iter()
        .map(|i| format!("{i:?}").to_lowercase())
        .collect();
    shown.join(", ")
}

/// (condition, detail, inner reports).
pub fn describe(c: &Condition, f: &Facts<'_>) -> (String, String, Vec<ConditionReport>) {
    let company = || {
        named_company(f).map_or_else(
            || "no company named by the address".to_string(),
            |c| c.name.clone().unwrap_or_default(),
        )
    };
    match c {
        Condition::Anonymous(b) => (
            format!("anonymous = {b}"),
            if f.identified {
                "identified"
            } else {
                "anonymous"
            }
            .into(),
            Vec::new(),
        ),
        Condition::Visits {
            range, within_ms, ..
        } => (
            format!("visits {range}{}", window(*within_ms)),
            format!("{} visits", f.visits_within(*within_ms)),
            Vec::new(),
        ),
        Condition::Pages {
            glob,
            range,
            within_ms,
        } => (
            format!("pages {} {range}{}", glob.glob, window(*within_ms)),
            format!("{} matching page views", f.page_count(glob, *within_ms)),
            Vec::new(),
        ),
        Condition::PageSet {
            kind,
            globs,
            within_ms,
        } => {
            let name = match kind {
                SetKind::All => "pages_all",
                SetKind::Any => "pages_any",
                SetKind::None => "pages_none",
            };
            let names: Vec<&str> = globs.iter().map(|g| g.glob.as_str()).collect();
            let counts: Vec<String> = globs
                .iter()
                .map(|g| format!("{}: {}", g.glob, f.page_count(g, *within_ms)))
                .collect();
            (
                format!("{name} [{}]{}", names.join(", "), window(*within_ms)),
                counts.join(", "),
                Vec::new(),
            )
        }
        Condition::TimeOnSite { min_ms, max_ms } => (
            format!("time_on_site {}..{}", duration(*min_ms), duration(*max_ms)),
            format!("visit is {} old", duration(f.visit_age_ms())),
            Vec::new(),
        ),
        Condition::Page { glob, .. } => (
            format!("page {glob}"),
            format!("page is {}", f.current_path()),
            Vec::new(),
        ),
        Condition::Referrer(glob) => (
            match glob {
                Some(g) => format!("referrer {g}"),
                None => "referrer none (direct visit)".into(),
            },
            format!("entry referrer {}", f.landing_referrer.unwrap_or("none")),
            Vec::new(),
        ),
        Condition::Utm(globs) => {
            let wanted: Vec<String> = globs
                .iter()
                .map(|(at, g)| format!("{}={g}", UTM_NAMES.get(*at).unwrap_or(&"utm")))
                .collect();
            (
                format!("utm {}", wanted.join(" ")),
                format!("landing page {}", f.landing_url.unwrap_or("unknown")),
                Vec::new(),
            )
        }
        Condition::Score { min, max } => (
            format!("score {min}..={max}"),
            f.score
                .map_or_else(|| "no score".into(), |s| format!("score {s}")),
            Vec::new(),
        ),
        Condition::Stage(stages) => (
            format!("stage in [{}]", stages.join(", ")),
            format!("stage {}", f.stage.unwrap_or("none")),
            Vec::new(),
        ),
        Condition::CompanyKnown(b) => (format!("company_known = {b}"), company(), Vec::new()),
        Condition::CompanyConfident(b) => (
            format!("company_confident = {b}"),
            named_company(f).map_or_else(company, |c| {
                format!(
                    "{} ({} confidence)",
                    c.name.as_deref().unwrap_or("?"),
                    c.network_kind_confidence.as_str()
                )
            }),
            Vec::new(),
        ),
        Condition::CompanySize(bands) => (
            format!("company_size in [{}]", list(bands)),
            named_company(f).map_or_else(company, |c| format!("{:?}", c.size_band).to_lowercase()),
            Vec::new(),
        ),
        Condition::Industry(items) => (
            format!("industry in [{}]", items.join(", ")),
            named_company(f)
                .map(|c| {
                    c.industry
                        .clone()
                        .unwrap_or_else(|| "industry unknown".into())
                })
                .unwrap_or_else(company),
            Vec::new(),
        ),
        Condition::Country(items) => (
            format!("country in [{}]", items.join(", ")),
            named_company(f)
                .map(|c| {
                    c.country
                        .clone()
                        .unwrap_or_else(|| "country unknown".into())
                })
                .unwrap_or_else(company),
            Vec::new(),
        ),
        Condition::Network(kinds) => (
            format!("network in [{}]", list(kinds)),
            f.company
                .map_or("unknown", |c| c.network_kind.as_str())
                .to_string(),
            Vec::new(),
        ),
        Condition::All(items) | Condition::Any(items) => {
            let inner: Vec<ConditionReport> = items.iter().map(|c| c.explain(f)).collect();
            let held = inner.iter().filter(|r| r.held).count();
            let name = if matches!(c, Condition::All(_)) {
                "all"
            } else {
                "any"
            };
            (
                format!("{name} of {}", inner.len()),
                format!("{held} of {} held", inner.len()),
                inner,
            )
        }
        Condition::Not(item) => {
            let inner = item.explain(f);
            (
                "not".into(),
                format!("inner condition held: {}", inner.held),
                vec![inner],
            )
        }
    }
}
