//! Known automated clients: answered, never stored, so they do not inflate visits or trigger
//! popups.

use aho_corasick::AhoCorasick;

pub struct BotFilter {
    /// The configured substrings, ASCII case ignored, searched for in one pass over the user
    /// agent; `None` when the list is empty.
    needles: Option<AhoCorasick>,
}

impl BotFilter {
    /// Fails only for a list whose automaton passes the search library's size limit.
    pub fn new(needles: &[String]) -> Result<Self, aho_corasick::BuildError> {
        let needles = match needles {
            [] => None,
            _ => Some(
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .build(needles)?,
            ),
        };
        Ok(BotFilter { needles })
    }

    pub fn is_bot(&self, user_agent: Option<&str>) -> bool {
        match (&self.needles, user_agent) {
            (Some(needles), Some(ua)) => needles.is_match(ua),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BotsConfig;

    #[test]
    fn default_list_catches_crawlers_not_browsers() {
        let filter = BotFilter::new(&BotsConfig::default().user_agents).expect("the default list");
        let bots = [
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (compatible; bingbot/2.0)",
            "curl/8.5.0",
            "python-requests/2.31",
            "facebookexternalhit/1.1",
        ];
        for ua in bots {
            assert!(filter.is_bot(Some(ua)), "{ua}");
        }
        let browsers = [
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1",
        ];
        for ua in browsers {
            assert!(!filter.is_bot(Some(ua)), "{ua}");
        }
        assert!(!filter.is_bot(None));
    }

    #[test]
    fn case_is_ignored_and_an_empty_list_flags_nothing() {
        let filter = BotFilter::new(&["HeadlessChrome".to_string()]).expect("a list");
        assert!(filter.is_bot(Some("Mozilla/5.0 (X11) headlesschrome/120.0")));
        assert!(!filter.is_bot(Some("Mozilla/5.0 (X11) Chrome/120.0")));
        let none = BotFilter::new(&[]).expect("an empty list");
        assert!(!none.is_bot(Some("curl/8.5.0")));
    }
}
