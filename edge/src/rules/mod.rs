//! Popup rules: who sees which popup, when, and how well each one works.
//!
//! The collect path asks for a decision on every page view, over the visitor's stored state
//! plus the request being collected; the decision is stored with the page view as an
//! `Event::PopupDecision`, so caps, experiment arms and results all derive from the log in
//! `Visitor::apply` and survive restarts exactly. No HTTP types here.

mod assign;
mod caps;
mod compile;
mod condition;
mod decide;
mod describe;
mod facts;
pub use crate::model::ledger;
mod model;
mod pages;
mod path_masks;
mod preview;
pub mod reload;
mod sieve;
pub mod stats;
mod template;

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

pub use compile::compile;
pub use decide::{DecideRequest, Decision, Explanation, Outcome};
pub use facts::Incoming;
pub use model::{Rule, RuleSet};
pub use preview::{InvalidPreview, PreviewCodec, PreviewGrant};
pub use template::{Lang, PopupContent};

use crate::config::{Config, ConfigError};

/// Reads a configuration file and compiles its popup rules: what start-up, reloads and
/// `check-config` do. Configuration parsing knows nothing of rules; they are compiled here.
pub fn load(path: &std::path::Path) -> Result<(Config, Arc<RuleSet>), ConfigError> {
    let (config, text) = Config::load_with_text(path)?;
    let set = compile_config(&config, path, &text)?;
    Ok((config, set))
}

/// `load` over text already read; `path` is only used in messages.
pub fn parse(path: &std::path::Path, text: &str) -> Result<(Config, Arc<RuleSet>), ConfigError> {
    let config = Config::parse(path, text)?;
    let set = compile_config(&config, path, text)?;
    Ok((config, set))
}

fn compile_config(
    config: &Config,
    path: &std::path::Path,
    text: &str,
) -> Result<Arc<RuleSet>, ConfigError> {
    let mut set = compile(
        &config.popups,
        &config.rules,
        &config.site_keys(),
        path,
        text,
    )?;
    set.alerts = Arc::new(crate::alerts::compile(config));
    Ok(Arc::new(set))
}

/// Empties this thread's cache of page-path masks (see `path_masks`), so that the next
/// decisions match every page as if for the first time: the benchmark's first-sight case.
pub fn forget_page_masks() {
    path_masks::PathMasks::forget();
}

/// The rules serving now, swapped whole on reload so a decision never sees half of a change.
pub struct Rules {
    current: ArcSwap<RuleSet>,
    pub preview: PreviewCodec,
    /// Sessions are cut the same way the store cuts them.
    pub session_timeout_ms: i64,
    status: Mutex<ReloadStatus>,
}

/// What the latest reload did, for the API and the log.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ReloadStatus {
    pub loaded_ms: i64,
    pub rules: usize,
    /// The refusal of the latest reload that failed after the last one that worked.
    pub last_error: Option<String>,
}

impl Rules {
    pub fn new(set: Arc<RuleSet>, secret: &[u8], session_timeout_ms: i64, now_ms: i64) -> Rules {
        let status = ReloadStatus {
            loaded_ms: now_ms,
            rules: set.rules.len(),
            last_error: None,
        };
        Rules {
            current: ArcSwap::new(set),
            preview: PreviewCodec::new(secret),
            session_timeout_ms,
            status: Mutex::new(status),
        }
    }

    pub fn current(&self) -> Arc<RuleSet> {
        self.current.load_full()
    }

    /// Serves a freshly loaded configuration's rules, or keeps the old ones and remembers why
    /// the new file was refused.
    pub fn reload(
        &self,
        loaded: Result<Arc<RuleSet>, ConfigError>,
        now_ms: i64,
    ) -> Result<usize, String> {
        let result = match loaded {
            Ok(set) => {
                let count = set.rules.len();
                self.current.store(set);
                Ok(count)
            }
            Err(e) => Err(e.to_string()),
        };
        if let Ok(mut status) = self.status.lock() {
            match &result {
                Ok(count) => {
                    *status = ReloadStatus {
                        loaded_ms: now_ms,
                        rules: *count,
                        last_error: None,
                    }
                }
                Err(e) => status.last_error = Some(e.clone()),
            }
        }
        result
    }

    pub fn status(&self) -> ReloadStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// The popup's language: the page's declared language if the tag sent it, else an `/en/` or
/// `/ja/` segment in the page path, else the configured default.
pub fn page_lang(declared: Option<&str>, page_url: &str, default: Lang) -> Lang {
    declared
        .and_then(Lang::from_tag)
        .or_else(|| Lang::from_path(crate::glob::url_path(page_url)))
        .unwrap_or(default)
}

#[cfg(test)]
mod tests;
