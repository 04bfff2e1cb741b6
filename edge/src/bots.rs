//! Known automated clients: answered, never stored, so they do not inflate visits or trigger
//! popups.

pub struct BotFilter {
    /// Lower-cased substrings.
    needles: Vec<String>,
}

impl BotFilter {
    pub fn new(needles: &[String]) -> Self {
        BotFilter {
            needles: needles.iter().map(|n| n.to_ascii_lowercase()).collect(),
        }
    }

    pub fn is_bot(&self, user_agent: Option<&str>) -> bool {
        let Some(ua) = user_agent else { return false };
        let ua = ua.to_ascii_lowercase();
        self.needles.iter().any(|n| ua.contains(n.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BotsConfig;

    #[test]
    fn default_list_catches_crawlers_not_browsers() {
        let filter = BotFilter::new(&BotsConfig::default().user_agents);
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
}
