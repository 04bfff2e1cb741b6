//! The configured sites, in the shape the collect path asks about them.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::{Config, ConsentMode};

#[derive(Debug)]
pub struct Site {
    pub key: Arc<str>,
    /// Each allowed origin, and whether events came from it since start: the console's setup
    /// page tells an operator which pages already carry the tag. A flag per origin rather than
    /// a set, so the collect path never takes a lock for it.
    origins: HashMap<String, AtomicBool>,
    pub cookie_domain: Option<String>,
    pub consent: ConsentMode,
    pub honor_gpc: bool,
    pub honor_dnt: bool,
}

impl Site {
    #[cfg(test)]
    pub fn for_test(key: &str, cookie_domain: Option<&str>) -> Site {
        Site {
            key: key.into(),
            origins: HashMap::new(),
            cookie_domain: cookie_domain.map(str::to_string),
            consent: ConsentMode::None,
            honor_gpc: true,
            honor_dnt: false,
        }
    }

    /// Whether pages on `origin` may send events; marks the origin as seen when they may.
    pub fn allows_origin(&self, origin: &str) -> bool {
        match self.origins.get(lowercase(origin).as_ref()) {
            Some(seen) => {
                if !seen.load(Ordering::Relaxed) {
                    seen.store(true, Ordering::Relaxed);
                }
                true
            }
            None => false,
        }
    }

    /// The allowed origins, each with whether events came from it since start, sorted.
    pub fn origins(&self) -> Vec<(String, bool)> {
        let mut origins: Vec<(String, bool)> = self
            .origins
            .iter()
            .map(|(o, seen)| (o.clone(), seen.load(Ordering::Relaxed)))
            .collect();
        origins.sort();
        origins
    }
}

pub struct Sites {
    by_key: HashMap<String, Arc<Site>>,
    /// Every site's origins: a CORS preflight does not say which site it is for.
    any_origin: HashSet<String>,
}

impl Sites {
    pub fn from_config(config: &Config) -> Self {
        let mut by_key = HashMap::new();
        let mut any_origin = HashSet::new();
        for site in config.sites.iter().map(|s| s.get_ref()) {
            let origins: HashMap<String, AtomicBool> = site
                .origins
                .iter()
                .map(|o| (o.as_str().to_string(), AtomicBool::new(false)))
                .collect();
            any_origin.extend(origins.keys().cloned());
            let key = site.key.get_ref().as_str();
            by_key.insert(
                key.to_string(),
                Arc::new(Site {
                    key: key.into(),
                    origins,
                    cookie_domain: site.cookie_domain.clone().filter(|d| !d.is_empty()),
                    consent: site.consent,
                    honor_gpc: site.honor_gpc,
                    honor_dnt: site.honor_dnt,
                }),
            );
        }
        Sites { by_key, any_origin }
    }

    pub fn get(&self, key: &str) -> Option<Arc<Site>> {
        self.by_key.get(key).cloned()
    }

    /// Whether any site accepts events from this origin (for CORS preflights).
    pub fn any_allows_origin(&self, origin: &str) -> bool {
        self.any_origin.contains(lowercase(origin).as_ref())
    }

    /// Every site.
    pub fn iter(&self) -> impl Iterator<Item = &Site> {
        self.by_key.values().map(Arc::as_ref)
    }
}

/// Origins are kept lower-cased; browsers send them so, and only other clients need a copy.
fn lowercase(origin: &str) -> std::borrow::Cow<'_, str> {
    if origin.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(origin.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(origin)
    }
}
