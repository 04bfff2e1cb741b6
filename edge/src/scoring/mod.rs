//! Behaviour points: what each kind of event is worth, decayed over time so a recent burst of
//! interest outweighs an old one. Attributes (size band, industry, title) are categories and
//! never become points.

use crate::collect::event::{Event, PopupAction};
use crate::rules::glob::{Glob, url_path};

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
}

impl Default for ScoringRules {
    fn default() -> Self {
        ScoringRules {
            half_life_ms: 14 * 86_400_000,
            mql_threshold: 50.0,
            pageview: 1.0,
            engaged_minute: 1.0,
            conversion: 20.0,
            email_click: 5.0,
            download: 5.0,
            popup_submit: 5.0,
            pages: Vec::new(),
            forms: Vec::new(),
        }
    }
}

impl ScoringRules {
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
