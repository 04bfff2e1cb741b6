//! Results per rule and arm (variant or holdout): counted from visitors' popup histories, so
//! they are exactly as durable as the histories are and a restart recounts the same numbers.
//! Conversion compares like with like: a form conversion or popup submission after the
//! visitor was first eligible, which holdout visitors can reach too.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::ledger::PopupHistory;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Visitors assigned to the arm when first eligible.
    pub eligible: u64,
    /// Popups offered.
    pub shown: u64,
    pub dismissed: u64,
    /// Visitors who submitted the popup.
    pub submitted: u64,
    /// Visitors who converted after they were first eligible.
    pub converted: u64,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.eligible += other.eligible;
        self.shown += other.shown;
        self.dismissed += other.dismissed;
        self.submitted += other.submitted;
        self.converted += other.converted;
    }

    fn sub(&mut self, other: &Counts) {
        self.eligible = self.eligible.saturating_sub(other.eligible);
        self.shown = self.shown.saturating_sub(other.shown);
        self.dismissed = self.dismissed.saturating_sub(other.dismissed);
        self.submitted = self.submitted.saturating_sub(other.submitted);
        self.converted = self.converted.saturating_sub(other.converted);
    }
}

/// (rule, arm): the arm is a variant id, `None` for the holdout.
pub type ArmKey = (String, Option<String>);

/// Running totals over every visitor, per site, kept by the engine as it applies batches. Per
/// site because a rule without `sites` applies to every site, and each site's API keys must
/// see only that site's counts.
#[derive(Default)]
pub struct Tally(Mutex<BTreeMap<Arc<str>, BTreeMap<ArmKey, Counts>>>);

fn contributions(history: &PopupHistory) -> impl Iterator<Item = (ArmKey, Counts)> + '_ {
    history.entries.iter().map(|e| {
        (
            (e.rule.to_string(), e.arm.as_deref().map(str::to_string)),
            Counts {
                eligible: 1,
                shown: u64::from(e.shown),
                dismissed: u64::from(e.dismissed),
                submitted: u64::from(e.submitted),
                converted: u64::from(e.converted),
            },
        )
    })
}

impl Tally {
    /// Replaces one visitor's contribution to its site: `before` as it was, `after` as it is.
    pub fn replace(
        &self,
        site: &Arc<str>,
        before: Option<&PopupHistory>,
        after: Option<&PopupHistory>,
    ) {
        let Ok(mut sites) = self.0.lock() else {
            return;
        };
        let totals = sites.entry(Arc::clone(site)).or_default();
        for (key, counts) in before.into_iter().flat_map(contributions) {
            totals.entry(key).or_default().sub(&counts);
        }
        for (key, counts) in after.into_iter().flat_map(contributions) {
            totals.entry(key).or_default().add(&counts);
        }
    }

    /// Forgets every count: recovery then recounts each visitor's history.
    pub fn clear(&self) {
        if let Ok(mut sites) = self.0.lock() {
            sites.clear();
        }
    }

    /// Totals over the visitors of `sites`, or of every site for `None` (the operator's
    /// metrics).
    pub fn totals(&self, sites: Option<&[Arc<str>]>) -> BTreeMap<ArmKey, Counts> {
        let Ok(by_site) = self.0.lock() else {
            return BTreeMap::new();
        };
        let mut sum: BTreeMap<ArmKey, Counts> = BTreeMap::new();
        for (site, totals) in by_site.iter() {
            if sites.is_some_and(|wanted| !wanted.contains(site)) {
                continue;
            }
            for (key, counts) in totals {
                sum.entry(key.clone()).or_default().add(counts);
            }
        }
        sum
    }
}

/// One arm's results.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ArmStats {
    /// A variant id, or `holdout`.
    pub arm: String,
    #[serde(flatten)]
    pub counts: Counts,
    /// converted / eligible.
    pub conversion_rate: f64,
    /// Wilson score interval at 95%.
    pub conversion_ci95: [f64; 2],
    /// Relative to the holdout's rate (0.5 = 50% better); absent without a holdout that
    /// converted at all.
    pub lift: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleStats {
    pub rule: String,
    pub arms: Vec<ArmStats>,
}

/// The Wilson score interval for `successes` of `n` at 95% confidence; (0, 0) for no trials.
pub fn wilson95(successes: u64, n: u64) -> [f64; 2] {
    if n == 0 {
        return [0.0, 0.0];
    }
    let z = 1.959_964_f64;
    let n = n as f64;
    let p = successes as f64 / n;
    let z2 = z * z;
    let denominator = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denominator;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    [(center - half).max(0.0), (center + half).min(1.0)]
}

fn rate(c: &Counts) -> f64 {
    if c.eligible == 0 {
        0.0
    } else {
        c.converted as f64 / c.eligible as f64
    }
}

/// Results for the given rules (in that order), from the store's totals.
pub fn report(rules: &[&str], totals: &BTreeMap<ArmKey, Counts>) -> Vec<RuleStats> {
    rules
        .iter()
        .map(|rule| {
            let arms: Vec<(&Option<String>, &Counts)> = totals
                .iter()
                .filter(|((r, _), _)| r == rule)
                .map(|((_, arm), counts)| (arm, counts))
                .collect();
            let holdout_rate = arms
                .iter()
                .find(|(arm, _)| arm.is_none())
                .map(|(_, c)| rate(c))
                .filter(|r| *r > 0.0);
            RuleStats {
                rule: rule.to_string(),
                arms: arms
                    .into_iter()
                    .map(|(arm, counts)| ArmStats {
                        arm: arm.clone().unwrap_or_else(|| "holdout".into()),
                        counts: *counts,
                        conversion_rate: rate(counts),
                        conversion_ci95: wilson95(counts.converted, counts.eligible),
                        lift: match (arm, holdout_rate) {
                            (Some(_), Some(base)) => Some(rate(counts) / base - 1.0),
                            _ => None,
                        },
                    })
                    .collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_intervals_match_published_values() {
        // 10 of 100: the textbook interval is 0.0552 to 0.1744.
        let [lo, hi] = wilson95(10, 100);
        assert!(
            (lo - 0.0552).abs() < 1e-3 && (hi - 0.1744).abs() < 1e-3,
            "{lo} {hi}"
        );
        // No successes still gives a non-zero upper bound (unlike the normal approximation).
        let [lo, hi] = wilson95(0, 20);
        assert!(lo == 0.0 && (hi - 0.1611).abs() < 1e-3, "{lo} {hi}");
        assert_eq!(wilson95(0, 0), [0.0, 0.0]);
    }
}
