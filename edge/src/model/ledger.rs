//! A visitor's popup history: one small entry per rule the visitor was ever assigned to, plus
//! the times of the latest popups for the site-wide daily cap. It changes only in
//! `Visitor::apply`, from the edge's own decision events and the tag's popup answers, so caps
//! and results are durable and replay to exactly the same state.
//!
//! Visitors who never met a rule carry no history at all (`None` in `Visitor`), which keeps
//! the million idle visitors an edge holds small.

use serde::{Deserialize, Serialize};

use crate::event::{Event, PopupAction};

/// The latest popup times kept for the daily cap; the cap may not be set higher.
pub const RECENT_KEPT: usize = 16;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PopupHistory {
    pub entries: Vec<LedgerEntry>,
    /// When the latest popups (of any rule) were offered, oldest first, at most `RECENT_KEPT`.
    pub recent: Vec<i64>,
}

/// What one rule did with one visitor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub rule: Box<str>,
    /// The arm the visitor was assigned when first eligible: a variant id, or `None` for the
    /// holdout. Sticky: later decisions keep it.
    pub arm: Option<Box<str>>,
    pub first_ms: i64,
    pub last_shown_ms: i64,
    pub last_dismissed_ms: i64,
    pub shown: u16,
    /// Showings since the last answer: enough of them count as a dismissal.
    pub unanswered: u16,
    pub dismissed: u16,
    pub submitted: bool,
    /// A form conversion or popup submission after the assignment: what both the variants and
    /// the holdout can reach, so the lift compares like with like.
    pub converted: bool,
}

impl LedgerEntry {
    fn new(rule: &str, arm: Option<&str>, now: i64) -> Self {
        LedgerEntry {
            rule: rule.into(),
            arm: arm.map(Into::into),
            first_ms: now,
            last_shown_ms: i64::MIN,
            last_dismissed_ms: i64::MIN,
            shown: 0,
            unanswered: 0,
            dismissed: 0,
            submitted: false,
            converted: false,
        }
    }

    pub fn is_holdout(&self) -> bool {
        self.arm.is_none()
    }
}

/// Whether an event can change a popup history; other batches skip the bookkeeping.
pub fn touches(event: &Event) -> bool {
    matches!(
        event,
        Event::PopupDecision { .. } | Event::Popup { .. } | Event::Conversion { .. }
    )
}

impl PopupHistory {
    pub fn entry(&self, rule: &str) -> Option<&LedgerEntry> {
        self.entries.iter().find(|e| &*e.rule == rule)
    }

    /// Applies one event received at `now`.
    pub fn apply(&mut self, now: i64, event: &Event) {
        match event {
            Event::PopupDecision { rule, variant } => {
                let at = match self.entries.iter().position(|e| &*e.rule == rule.as_str()) {
                    Some(at) => at,
                    None => {
                        self.entries
                            .push(LedgerEntry::new(rule, variant.as_deref(), now));
                        self.entries.len() - 1
                    }
                };
                let entry = &mut self.entries[at];
                if variant.is_some() && !entry.is_holdout() {
                    entry.shown = entry.shown.saturating_add(1);
                    entry.unanswered = entry.unanswered.saturating_add(1);
                    entry.last_shown_ms = entry.last_shown_ms.max(now);
                    if self.recent.len() == RECENT_KEPT {
                        self.recent.remove(0);
                    }
                    self.recent.push(now);
                }
            }
            Event::Popup { rule, action, .. } => {
                // Answers count only for a popup this visitor was actually offered and has
                // not answered yet, so a client cannot inflate results with made-up events.
                let Some(entry) = self
                    .entries
                    .iter_mut()
                    .find(|e| &*e.rule == rule.as_str() && !e.is_holdout() && e.shown > 0)
                else {
                    return;
                };
                match action {
                    PopupAction::Shown => {}
                    PopupAction::Dismissed if entry.unanswered > 0 && !entry.submitted => {
                        entry.unanswered = 0;
                        entry.dismissed = entry.dismissed.saturating_add(1);
                        entry.last_dismissed_ms = entry.last_dismissed_ms.max(now);
                    }
                    PopupAction::Dismissed => {}
                    PopupAction::Submitted => {
                        entry.unanswered = 0;
                        entry.submitted = true;
                        entry.converted = true;
                    }
                }
            }
            Event::Conversion { .. } => {
                for entry in &mut self.entries {
                    entry.converted = true;
                }
            }
            _ => {}
        }
    }

    /// Popups offered since `since` (for the daily cap).
    pub fn shown_since(&self, since: i64) -> usize {
        self.recent.iter().filter(|&&t| t >= since).count()
    }
}
