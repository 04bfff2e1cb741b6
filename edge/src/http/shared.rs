//! The state every request handler shares: a cheap `Clone` over one `Arc`. Built by
//! `crate::app` from the configuration.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::api::ApiKeys;
use super::assets::{DemoSite, TagAssets};
use super::body::BodyTiming;
use super::client_ip::Proxies;
use super::console::Console;
use crate::collect::Collector;
use crate::metrics::Metrics;
use crate::store::Store;

#[derive(Clone)]
pub struct App(Arc<Inner>);

struct Inner {
    shared: Shared,
    /// Correlates a request's log lines.
    next_request_id: AtomicU64,
}

pub struct Shared {
    /// The collect path, HTTP-free.
    pub collector: Collector,
    /// Also held by the collector; here for the API, health and shutdown.
    pub store: Arc<dyn Store>,
    pub metrics: Metrics,
    pub tag: TagAssets,
    /// Served under `/demo/` when configured.
    pub demo: Option<DemoSite>,
    pub api_keys: ApiKeys,
    /// The console's users and each site's time zone.
    pub console: Console,
    /// Peers whose forwarding header is believed, and which header that is.
    pub proxies: Proxies,
    /// Mount point of the public routes.
    pub public_prefix: String,
    pub max_body_bytes: usize,
    /// The largest list file an import takes (`[imports] max_bytes`).
    pub import_max_bytes: usize,
    /// How long a request body may take, collect's and the API's alike.
    pub body_timing: BodyTiming,
    /// Scores shown by the API decay with this half-life.
    pub half_life_ms: i64,
    /// Default lifetime of minted email-click tokens.
    pub token_ttl: std::time::Duration,
    /// Opens `/metrics` and the full `/healthz` on the public listener.
    pub metrics_token: Option<Vec<u8>>,
    /// Each site's visitor-cookie attributes, rendered once.
    pub visitor_cookies: crate::http::VisitorCookies,
}

impl std::ops::Deref for App {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0.shared
    }
}

impl App {
    pub fn new(shared: Shared) -> App {
        App(Arc::new(Inner {
            shared,
            next_request_id: AtomicU64::new(1),
        }))
    }

    pub fn next_request_id(&self) -> u64 {
        self.0.next_request_id.fetch_add(1, Ordering::Relaxed)
    }
}
