//! Behaviour points: what each kind of event is worth, decayed over time so a recent burst of
//! interest outweighs an old one. Attributes (size band, industry, title) are categories and
//! never become points.

pub mod breakdown;

use crate::config::ScoringConfig;
use crate::event::TimedEvent;
use crate::event::{Event, PopupAction};
use crate::glob::{Glob, url_path};
use crate::model::offline::OfflineKind;
use crate::model::person::{AuditKind, Person, Stage};

#[derive(Clone, Debug)]
pub struct ScoringRules {
    /// Points halve every half-life.
    pub half_life_ms: i64,
    /// A lead whose score reaches this becomes an MQL (once).
    pub mql_threshold: f64,
    pub pageview: f64,
    /// Per full minute of engagement.
    pub engaged_minute: f64,
    pub conversion: f64,
    pub email_click: f64,
    pub download: f64,
    pub popup_submit: f64,
    /// Extra points for page views whose path matches.
    pub pages: Vec<(Glob, f64)>,
    /// Extra points for conversions of a form.
    pub forms: Vec<(String, f64)>,
    /// Points per kind of offline event (an imported seminar list, business cards).
    pub offline: crate::config::OfflinePoints,
}

impl Default for ScoringRules {
    fn default() -> Self {
        ScoringRules::from_config(&ScoringConfig::default())
    }
}

/// A batch's points: conversions by form, and everything else.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchPoints {
    pub other: f64,
    pub forms: Vec<(String, f64)>,
}

impl BatchPoints {
    pub fn total(&self) -> f64 {
        self.other + self.forms.iter().map(|(_, p)| p).sum::<f64>()
    }
}

/// How long a person's conversion of one form earns nothing more.
pub const CONVERSION_WINDOW_MS: i64 = 86_400_000;

/// Whether a conversion of `form` at `now_ms` still earns `person` points: not when the same
/// form was counted for them within the last day. Anyone who knows an address can submit a form
/// with it; without this, a script could post one form until the person became an MQL and the
/// CRM called them.
pub fn counts_conversion(person: &Person, form: &str, now_ms: i64) -> bool {
    !person.audit.iter().rev().any(|entry| {
        entry.at_ms > now_ms - CONVERSION_WINDOW_MS
            && matches!(&entry.what, AuditKind::ConversionScored { form: f } if f == form)
    })
}

impl ScoringRules {
    /// The points the `[scoring]` table gives.
    pub fn from_config(config: &ScoringConfig) -> ScoringRules {
        ScoringRules {
            half_life_ms: config.half_life.0.as_millis() as i64,
            mql_threshold: config.mql_threshold,
            pageview: config.pageview,
            engaged_minute: config.engaged_minute,
            conversion: config.conversion,
            email_click: config.email_click,
            download: config.download,
            popup_submit: config.popup_submit,
            pages: config
                .pages
                .iter()
                .map(|p| (p.glob.clone(), p.points))
                .collect(),
            forms: config
                .forms
                .iter()
                .map(|f| (f.form.clone(), f.points))
                .collect(),
            offline: config.offline.clone(),
        }
    }

    /// What an offline event of `kind` is worth when it happens.
    pub fn offline_points(&self, kind: &OfflineKind) -> f64 {
        match kind {
            OfflineKind::Seminar => self.offline.seminar,
            OfflineKind::Exhibition => self.offline.exhibition,
            OfflineKind::BusinessCard => self.offline.business_card,
            OfflineKind::Call => self.offline.call,
            OfflineKind::Custom(_) => self.offline.custom,
        }
    }
}

impl ScoringRules {
    /// Whether `person` becomes an MQL at `now_ms`: a lead whose decayed score reached the
    /// threshold. Promotion happens once and only from lead; later stages come from the CRM.
    pub fn promotes(&self, person: &Person, now_ms: i64) -> bool {
        person.stage == Stage::Lead
            && person.score.at(now_ms, self.half_life_ms) >= self.mql_threshold
    }

    /// The points of a batch's events, conversions apart by form (one conversion per form and
    /// batch counts): a person takes a form's points once a day (`counts_conversion`).
    pub fn batch_points(&self, events: &[TimedEvent]) -> BatchPoints {
        let mut points = BatchPoints::default();
        for timed in events {
            match &timed.event {
                Event::Conversion { form, .. } => {
                    if !points.forms.iter().any(|(f, _)| f == form) {
                        points.forms.push((form.clone(), self.points(&timed.event)));
                    }
                }
                event => points.other += self.points(event),
            }
        }
        points
    }

    /// Points one event earns.
    pub fn points(&self, event: &Event) -> f64 {
        match event {
            Event::PageView { url, .. } => {
                let path = url_path(url);
                self.pageview
                    + self
                        .pages
                        .iter()
                        .filter(|(glob, _)| glob.matches(path))
                        .map(|(_, p)| p)
                        .sum::<f64>()
            }
            Event::Engagement { ms, .. } => self.engaged_minute * (*ms / 60_000) as f64,
            Event::Conversion { form, .. } => {
                self.conversion
                    + self
                        .forms
                        .iter()
                        .filter(|(f, _)| f == form)
                        .map(|(_, p)| p)
                        .sum::<f64>()
            }
            Event::EmailClick { .. } => self.email_click,
            Event::Download { .. } => self.download,
            Event::Popup {
                action: PopupAction::Submitted,
                ..
            } => self.popup_submit,
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_lead_at_the_threshold_is_promoted() {
        let rules = ScoringRules {
            mql_threshold: 30.0,
            ..ScoringRules::default()
        };
        let mut person = Person::new(
            crate::model::person::PersonId(1),
            "demo".into(),
            "a@example.co.jp".into(),
            0,
        );
        person.score.add(29.0, 0, rules.half_life_ms);
        assert!(!rules.promotes(&person, 0));
        person.score.add(1.0, 0, rules.half_life_ms);
        assert!(rules.promotes(&person, 0));
        assert!(
            !rules.promotes(&person, 30 * rules.half_life_ms),
            "the score decays below the threshold"
        );
        person.stage = Stage::Sql;
        assert!(!rules.promotes(&person, 0), "later stages are the CRM's");
    }

    #[test]
    fn points_follow_the_table() {
        let rules = ScoringRules {
            pages: vec![(Glob::new("/pricing*").expect("glob"), 4.0)],
            forms: vec![("brochure".into(), 10.0)],
            ..ScoringRules::default()
        };
        let page = |url: &str| Event::PageView {
            url: url.into(),
            referrer: None,
            title: None,
        };
        assert_eq!(rules.points(&page("https://a.jp/")), 1.0);
        assert_eq!(rules.points(&page("https://a.jp/pricing.html?x")), 5.0);
        let form = |f: &str| Event::Conversion {
            form: f.into(),
            url: "https://a.jp/".into(),
            fields: vec![],
        };
        assert_eq!(rules.points(&form("brochure")), 30.0);
        assert_eq!(rules.points(&form("contact")), 20.0);
        let engaged = Event::Engagement {
            url: "https://a.jp/".into(),
            ms: 150_000,
        };
        assert_eq!(rules.points(&engaged), 2.0);
    }
}
