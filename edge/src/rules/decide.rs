//! The decision for one page view, and its explanation. Site-wide caps first (cheap), then the
//! rules from the highest priority down: the first whose conditions hold and whose caps allow
//! wins, so a page view gets at most one popup.

use std::sync::Arc;

use serde::Serialize;

use crate::event::Event;
use crate::model::Visitor;
use crate::visitor_id::VisitorId;

use super::assign::{self, Arm};
use super::caps::CapReport;
use super::condition::ConditionReport;
use super::describe::duration;
use super::facts::{Facts, Incoming, PageMatching};
use super::ledger::PopupHistory;
use super::model::{Rule, RuleSet};
use super::preview::PreviewGrant;
use super::template::{Lang, PopupContent};

const DAY_MS: i64 = 86_400_000;

/// What is being decided.
pub struct DecideRequest<'a> {
    pub site: &'a str,
    pub visitor: VisitorId,
    pub incoming: Incoming<'a>,
    pub lang: Lang,
    /// A verified preview for this site: forces its rule, records nothing.
    pub preview: Option<&'a PreviewGrant>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    None,
    Shown,
    Holdout,
    Preview,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::None => "none",
            Outcome::Shown => "shown",
            Outcome::Holdout => "holdout",
            Outcome::Preview => "preview",
        }
    }
}

#[derive(Debug)]
pub struct Decision {
    pub outcome: Outcome,
    pub popup: Option<Arc<PopupContent>>,
    /// The event to store with the page view: offers, and a holdout's first eligibility.
    pub record: Option<Event>,
}

impl Decision {
    fn none() -> Decision {
        Decision {
            outcome: Outcome::None,
            popup: None,
            record: None,
        }
    }
}

/// Why a rule did or did not win, for explain and for tests.
enum Verdict {
    Disabled,
    OtherSite,
    ConditionsFailed,
    Answered,
    Capped,
    Chosen(Arm),
}

impl RuleSet {
    pub fn decide(&self, visitor: Option<&Visitor>, request: &DecideRequest<'_>) -> Decision {
        if let Some(decision) = self.preview(request) {
            return decision;
        }
        if !self.has_rules_for(request.site) {
            return Decision::none();
        }
        let facts = Facts::gather(
            visitor,
            &request.incoming,
            &self.pages,
            PageMatching::Indexed,
        );
        let history = visitor.and_then(|v| v.popups.as_deref());
        if !self.site_caps_hold(&facts, history) {
            return Decision::none();
        }
        for at in self.sieve.eligible(request.site, &facts) {
            let Some(rule) = self.rules.get(at) else {
                continue;
            };
            if let Verdict::Chosen(arm) = Self::eligible_verdict(rule, &facts, history, request) {
                return self.chosen(rule, arm, history, request.lang);
            }
        }
        Decision::none()
    }

    fn preview(&self, request: &DecideRequest<'_>) -> Option<Decision> {
        let grant = request.preview?;
        let rule = self
            .rule(&grant.rule)
            .filter(|r| r.applies_to(request.site))?;
        let variant = grant
            .variant
            .as_deref()
            .and_then(|v| rule.variant(v))
            .unwrap_or(0);
        Some(Decision {
            outcome: Outcome::Preview,
            popup: rule
                .variants
                .get(variant)
                .map(|v| Arc::clone(&v.popup[request.lang.index()])),
            record: None,
        })
    }

    fn verdict(
        &self,
        rule: &Rule,
        facts: &Facts<'_>,
        history: Option<&PopupHistory>,
        request: &DecideRequest<'_>,
    ) -> Verdict {
        if !rule.enabled {
            return Verdict::Disabled;
        }
        if !rule.applies_to(request.site) {
            return Verdict::OtherSite;
        }
        if !rule.conditions_hold(facts) {
            return Verdict::ConditionsFailed;
        }
        Self::eligible_verdict(rule, facts, history, request)
    }

    /// The verdict on a rule whose conditions hold: its arm, an answer with this request or
    /// its caps decide.
    fn eligible_verdict(
        rule: &Rule,
        facts: &Facts<'_>,
        history: Option<&PopupHistory>,
        request: &DecideRequest<'_>,
    ) -> Verdict {
        let entry = history.and_then(|h| h.entry(&rule.id));
        let arm = match entry {
            Some(e) => match e.arm.as_deref() {
                None => Arm::Holdout,
                Some(v) => rule
                    .variant(v)
                    .map_or_else(|| assign::choose(rule, &request.visitor), Arm::Variant),
            },
            None => assign::choose(rule, &request.visitor),
        };
        if arm == Arm::Holdout {
            return Verdict::Chosen(arm);
        }
        // An answer to this rule arriving with the page view is honoured at once.
        let answered =
            request.incoming.events.iter().any(
                |e| matches!(&e.event, Event::Popup { rule: r, .. } if r.as_str() == &*rule.id),
            );
        if answered {
            return Verdict::Answered;
        }
        if rule.caps.check(entry, facts.now).is_some() {
            return Verdict::Capped;
        }
        Verdict::Chosen(arm)
    }

    fn chosen(
        &self,
        rule: &Rule,
        arm: Arm,
        history: Option<&PopupHistory>,
        lang: Lang,
    ) -> Decision {
        match arm {
            Arm::Holdout => Decision {
                outcome: Outcome::Holdout,
                popup: None,
                // Counted once, when first eligible.
                record: history.and_then(|h| h.entry(&rule.id)).is_none().then(|| {
                    Event::PopupDecision {
                        rule: rule.id.to_string(),
                        variant: None,
                    }
                }),
            },
            Arm::Variant(i) => match rule.variants.get(i) {
                Some(variant) => Decision {
                    outcome: Outcome::Shown,
                    popup: Some(Arc::clone(&variant.popup[lang.index()])),
                    record: Some(Event::PopupDecision {
                        rule: rule.id.to_string(),
                        variant: Some(variant.id.to_string()),
                    }),
                },
                None => Decision::none(),
            },
        }
    }

    /// The site-wide caps' verdicts, without the words: decisions format nothing.
    fn site_caps_held(&self, facts: &Facts<'_>, history: Option<&PopupHistory>) -> [bool; 2] {
        let today = history.map_or(0, |h| h.shown_since(facts.now.saturating_sub(DAY_MS)));
        [
            facts.visit_age_ms() >= self.min_visit_age_ms,
            today < self.max_per_day as usize,
        ]
    }

    fn site_caps_hold(&self, facts: &Facts<'_>, history: Option<&PopupHistory>) -> bool {
        self.site_caps_held(facts, history) == [true, true]
    }

    fn site_caps(&self, facts: &Facts<'_>, history: Option<&PopupHistory>) -> [CapReport; 2] {
        let age = facts.visit_age_ms();
        let today = history.map_or(0, |h| h.shown_since(facts.now.saturating_sub(DAY_MS)));
        let [young_ok, today_ok] = self.site_caps_held(facts, history);
        [
            CapReport {
                cap: format!(
                    "no popup in the first {} of a visit",
                    duration(self.min_visit_age_ms)
                ),
                held: young_ok,
                detail: format!("visit is {} old", duration(age)),
            },
            CapReport {
                cap: format!("at most {} popups per visitor per day", self.max_per_day),
                held: today_ok,
                detail: format!("{today} in the last 24h"),
            },
        ]
    }

    /// Every rule's conditions and caps for this visitor and page, and what would be decided.
    pub fn explain(&self, visitor: Option<&Visitor>, request: &DecideRequest<'_>) -> Explanation {
        let decision = self.decide(visitor, request);
        // The general path: explain must agree with decisions, whatever the index does.
        let facts = Facts::gather(visitor, &request.incoming, &self.pages, PageMatching::Scan);
        let history = visitor.and_then(|v| v.popups.as_deref());
        let site_caps = self.site_caps(&facts, history).to_vec();
        let site_ok = site_caps.iter().all(|c| c.held);
        let mut winner: Option<&str> = None;
        let rules = self
            .rules
            .iter()
            .map(|rule| {
                let entry = history.and_then(|h| h.entry(&rule.id));
                let verdict = self.verdict(rule, &facts, history, request);
                let outcome = match (&verdict, winner) {
                    (Verdict::Disabled, _) => "disabled".to_string(),
                    (Verdict::OtherSite, _) => "not for this site".into(),
                    (Verdict::ConditionsFailed, _) => "conditions failed".into(),
                    (Verdict::Answered, _) => "answered with this request".into(),
                    (Verdict::Capped, _) => "capped".into(),
                    (Verdict::Chosen(_), Some(w)) => format!("eligible, but `{w}` comes first"),
                    (Verdict::Chosen(_), None) if !site_ok => {
                        "eligible, but a site-wide cap holds".into()
                    }
                    (Verdict::Chosen(Arm::Holdout), None) => {
                        "holdout: eligible, shown nothing".into()
                    }
                    (Verdict::Chosen(_), None) => "shown".into(),
                };
                if matches!(verdict, Verdict::Chosen(_)) && winner.is_none() && site_ok {
                    winner = Some(&rule.id);
                }
                let arm = match assign::choose(rule, &request.visitor) {
                    _ if entry.is_some_and(|e| e.is_holdout()) => "holdout".to_string(),
                    _ if entry.is_some() => entry
                        .and_then(|e| e.arm.as_deref())
                        .unwrap_or_default()
                        .to_string(),
                    Arm::Holdout => "holdout".into(),
                    Arm::Variant(i) => rule
                        .variants
                        .get(i)
                        .map(|v| v.id.to_string())
                        .unwrap_or_default(),
                };
                RuleReport {
                    rule: rule.id.to_string(),
                    priority: rule.priority,
                    line: rule.line,
                    conditions: rule.when.iter().map(|c| c.explain(&facts)).collect(),
                    caps: rule.caps.explain(entry, facts.now),
                    arm,
                    outcome,
                }
            })
            .collect();
        Explanation {
            decision: decision.outcome.as_str(),
            popup: decision.popup.map(|p| (*p).clone()),
            site_caps,
            rules,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Explanation {
    /// `shown`, `holdout`, `preview` or `none`.
    pub decision: &'static str,
    pub popup: Option<PopupContent>,
    pub site_caps: Vec<CapReport>,
    pub rules: Vec<RuleReport>,
}

#[derive(Debug, Serialize)]
pub struct RuleReport {
    pub rule: String,
    pub priority: i32,
    /// Line in the configuration file.
    pub line: usize,
    pub conditions: Vec<ConditionReport>,
    pub caps: Vec<CapReport>,
    /// The visitor's arm: a variant id or `holdout`.
    pub arm: String,
    pub outcome: String,
}
