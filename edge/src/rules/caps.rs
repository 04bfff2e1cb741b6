//! Frequency caps and back-off: what keeps a popup from becoming spam. Evaluated over the
//! visitor's ledger entry for the rule, at the edge's clock.

use serde::Serialize;

use super::describe::duration;
use super::ledger::LedgerEntry;
use crate::config::rules::CapsConfig;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caps {
    pub once_per_ms: i64,
    pub max_dismissals: u32,
    pub backoff_ms: Vec<i64>,
    pub ignored_after: u32,
}

/// One cap's verdict, for explain.
#[derive(Clone, Debug, Serialize)]
pub struct CapReport {
    pub cap: String,
    pub held: bool,
    pub detail: String,
}

/// Why a cap stops a popup now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blocked {
    Submitted,
    TooManyDismissals,
    TooSoon { until_ms: i64 },
    BackingOff { until_ms: i64 },
}

fn ms(d: &crate::config::HumanDuration) -> i64 {
    i64::try_from(d.0.as_millis()).unwrap_or(i64::MAX)
}

impl Caps {
    pub fn from_config(config: &CapsConfig) -> Caps {
        Caps {
            once_per_ms: ms(&config.once_per),
            max_dismissals: config.max_dismissals,
            backoff_ms: config.backoff.iter().map(ms).collect(),
            ignored_after: config.ignored_after,
        }
    }

    /// Dismissals, counting each run of `ignored_after` unanswered showings as one, and when
    /// the latest one that still matters for back-off happened. An implied dismissal happens at
    /// the showing that completes a run; once a later showing was allowed, its back-off is over.
    fn dismissals(&self, entry: &LedgerEntry) -> (u32, i64) {
        let mut count = u32::from(entry.dismissed);
        let mut last = entry.last_dismissed_ms;
        let unanswered = u32::from(entry.unanswered);
        if self.ignored_after > 0 && unanswered >= self.ignored_after {
            count += unanswered / self.ignored_after;
            if unanswered % self.ignored_after == 0 {
                last = last.max(entry.last_shown_ms);
            }
        }
        (count, last)
    }

    /// The first cap that stops this rule now, if any.
    pub fn check(&self, entry: Option<&LedgerEntry>, now: i64) -> Option<Blocked> {
        let entry = entry?;
        if entry.submitted {
            return Some(Blocked::Submitted);
        }
        let (dismissals, last_dismissed) = self.dismissals(entry);
        if self.max_dismissals > 0 && dismissals >= self.max_dismissals {
            return Some(Blocked::TooManyDismissals);
        }
        if entry.shown > 0 {
            let until_ms = entry.last_shown_ms.saturating_add(self.once_per_ms);
            if now < until_ms {
                return Some(Blocked::TooSoon { until_ms });
            }
        }
        if dismissals > 0 && !self.backoff_ms.is_empty() {
            let step = (dismissals as usize - 1).min(self.backoff_ms.len() - 1);
            let until_ms = last_dismissed.saturating_add(self.backoff_ms[step]);
            if now < until_ms {
                return Some(Blocked::BackingOff { until_ms });
            }
        }
        None
    }

    /// Every cap with its verdict.
    pub fn explain(&self, entry: Option<&LedgerEntry>, now: i64) -> Vec<CapReport> {
        let blocked = self.check(entry, now);
        let report = |cap: String, held: bool, detail: String| CapReport { cap, held, detail };
        let Some(entry) = entry else {
            return vec![report(
                "caps".into(),
                true,
                "never offered to this visitor".into(),
            )];
        };
        let (dismissals, _) = self.dismissals(entry);
        let wait = |until: i64| format!("until {} from now", duration(until.saturating_sub(now)));
        vec![
            report(
                "never after submit".into(),
                !entry.submitted,
                if entry.submitted {
                    "submitted"
                } else {
                    "not submitted"
                }
                .into(),
            ),
            report(
                format!("stop after {} dismissals", self.max_dismissals),
                blocked != Some(Blocked::TooManyDismissals),
                format!(
                    "{dismissals} dismissals ({} unanswered showings count as one)",
                    self.ignored_after
                ),
            ),
            report(
                format!("once per {}", duration(self.once_per_ms)),
                !matches!(blocked, Some(Blocked::TooSoon { .. })),
                match blocked {
                    Some(Blocked::TooSoon { until_ms }) => wait(until_ms),
                    _ => format!("shown {} times", entry.shown),
                },
            ),
            report(
                "back-off after dismissal".into(),
                !matches!(blocked, Some(Blocked::BackingOff { .. })),
                match blocked {
                    Some(Blocked::BackingOff { until_ms }) => wait(until_ms),
                    _ => "not backing off".into(),
                },
            ),
        ]
    }
}
