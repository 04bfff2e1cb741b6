//! Why a score is what it is: the points each kind of behaviour earned, decayed to now, so a
//! salesperson can trust the number or question it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ScoringRules;
use crate::event::{Event, PopupAction};
use crate::glob::url_path;

/// A kind of behaviour the `[scoring]` table gives points for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum Behaviour {
    PageView,
    /// Extra points for a page matching this glob.
    KeyPage(String),
    EngagedMinute,
    Conversion,
    /// Extra points for conversions of this form.
    Form(String),
    EmailClick,
    Download,
    PopupSubmit,
}

/// One line of the breakdown.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Line {
    pub behaviour: Behaviour,
    /// How many events (for engagement: minutes) earned it.
    pub count: u64,
    /// The points they are worth now, after decay.
    pub points: f64,
}

impl ScoringRules {
    /// The points behind `events` (each with the time it was received), decayed to `now_ms`,
    /// per behaviour, largest first.
    pub fn breakdown<'e>(
        &self,
        events: impl IntoIterator<Item = (i64, &'e Event)>,
        now_ms: i64,
    ) -> Vec<Line> {
        let mut lines: BTreeMap<Behaviour, (u64, f64)> = BTreeMap::new();
        for (at_ms, event) in events {
            let decay = decay(at_ms, now_ms, self.half_life_ms);
            let mut add = |behaviour: Behaviour, count: u64, points: f64| {
                if points != 0.0 {
                    let line = lines.entry(behaviour).or_default();
                    line.0 += count;
                    line.1 += points * decay;
                }
            };
            match event {
                Event::PageView { url, .. } => {
                    add(Behaviour::PageView, 1, self.pageview);
                    let path = url_path(url);
                    for (glob, points) in &self.pages {
                        if glob.matches(path) {
                            add(Behaviour::KeyPage(glob.as_str().to_string()), 1, *points);
                        }
                    }
                }
                Event::Engagement { ms, .. } => {
                    let minutes = *ms / 60_000;
                    add(
                        Behaviour::EngagedMinute,
                        minutes,
                        self.engaged_minute * minutes as f64,
                    );
                }
                Event::Conversion { form, .. } => {
                    add(Behaviour::Conversion, 1, self.conversion);
                    for (f, points) in &self.forms {
                        if f == form {
                            add(Behaviour::Form(form.clone()), 1, *points);
                        }
                    }
                }
                Event::EmailClick { .. } => add(Behaviour::EmailClick, 1, self.email_click),
                Event::Download { .. } => add(Behaviour::Download, 1, self.download),
                Event::Popup {
                    action: PopupAction::Submitted,
                    ..
                } => add(Behaviour::PopupSubmit, 1, self.popup_submit),
                _ => {}
            }
        }
        let mut lines: Vec<Line> = lines
            .into_iter()
            .map(|(behaviour, (count, points))| Line {
                behaviour,
                count,
                points,
            })
            .collect();
        lines.sort_by(|a, b| b.points.total_cmp(&a.points));
        lines
    }
}

fn decay(at_ms: i64, now_ms: i64, half_life_ms: i64) -> f64 {
    if half_life_ms <= 0 || now_ms <= at_ms {
        return 1.0;
    }
    0.5f64.powf((now_ms - at_ms) as f64 / half_life_ms as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::glob::Glob;

    #[test]
    fn points_are_grouped_by_behaviour_and_decayed() {
        let rules = ScoringRules {
            half_life_ms: 1_000,
            pages: vec![(Glob::new("/pricing*").expect("glob"), 4.0)],
            forms: vec![("brochure".into(), 10.0)],
            ..ScoringRules::default()
        };
        let page = Event::PageView {
            url: "https://a.jp/pricing".into(),
            referrer: None,
            title: None,
        };
        let form = Event::Conversion {
            form: "brochure".into(),
            url: "https://a.jp/".into(),
            fields: vec![],
        };
        let lines = rules.breakdown([(0, &page), (1_000, &page), (2_000, &form)], 2_000);
        let find = |b: Behaviour| lines.iter().find(|l| l.behaviour == b).cloned();
        let views = find(Behaviour::PageView).expect("page views");
        assert_eq!(views.count, 2);
        assert!((views.points - (0.25 + 0.5) * rules.pageview).abs() < 1e-9);
        let key = find(Behaviour::KeyPage("/pricing*".into())).expect("key page");
        assert!((key.points - 3.0).abs() < 1e-9);
        assert_eq!(
            find(Behaviour::Form("brochure".into())).map(|l| l.points),
            Some(10.0)
        );
        assert_eq!(lines[0].behaviour, Behaviour::Conversion, "largest first");
    }
}
