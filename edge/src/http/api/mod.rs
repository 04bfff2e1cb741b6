//! The backend API: authenticated by API keys, each scoped to its sites. Handlers parse, call
//! a service (`crate::service`), render; the shapes are in `render`, the contract in
//! `edge/openapi.json`, and errors become statuses in `http::error`.

mod accounts;
mod alerts;
mod imports;
mod people;
mod render;
mod request;
mod rules;
mod sessions;
mod tokens;

pub(crate) use request::visitor_id as request_visitor_id;

use std::sync::Arc;

use arc_swap::ArcSwap;

use hyper::body::Incoming;
use hyper::header;
use hyper::{Method, Request, Response, StatusCode};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::response::{self, Body};
use crate::config::Config;
use crate::http::App;

struct ApiKey {
    secret: Vec<u8>,
    sites: Vec<Arc<str>>,
}

/// The configured API keys. Replaced as a whole when the configuration reloads with the rules,
/// so a revoked key stops working without a restart; a request sees one version or the other.
pub struct ApiKeys(ArcSwap<Vec<ApiKey>>);

impl ApiKeys {
    pub fn from_config(config: &Config) -> Self {
        ApiKeys(ArcSwap::from_pointee(Self::keys(config)))
    }

    /// Takes the keys of a reloaded configuration.
    pub fn replace(&self, config: &Config) {
        let keys = Self::keys(config);
        tracing::info!(keys = keys.len(), "API keys reloaded");
        self.0.store(Arc::new(keys));
    }

    fn keys(config: &Config) -> Vec<ApiKey> {
        config
            .api_keys
            .iter()
            .map(|k| ApiKey {
                secret: k.get_ref().key.expose().as_bytes().to_vec(),
                sites: k
                    .get_ref()
                    .sites
                    .iter()
                    .map(|s| s.get_ref().as_str().into())
                    .collect(),
            })
            .collect()
    }

    /// The sites a bearer token may see. Every key is compared, each in constant time, so the
    /// answer's timing says nothing about which key came close.
    pub(super) fn authorize(&self, request: &Request<Incoming>) -> Result<Vec<Arc<str>>, ApiError> {
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(ApiError::unauthorized)?
            .trim()
            .as_bytes();
        let keys = self.0.load();
        let mut found = None;
        for key in keys.iter() {
            if bool::from(key.secret.as_slice().ct_eq(presented)) {
                found = Some(&key.sites);
            }
        }
        found.cloned().ok_or_else(ApiError::unauthorized)
    }
}

/// The API contract, served as is.
const OPENAPI: &str = include_str!("../../../openapi.json");

/// Routes below `/api/v1/`.
pub async fn handle(app: &App, request: Request<Incoming>, path: &str) -> Response<Body> {
    if path == "openapi.json" && request.method() == Method::GET {
        return response::json(StatusCode::OK, OPENAPI.to_string());
    }
    let result = async {
        let sites = app.api_keys.authorize(&request)?;
        let parts: Vec<&str> = path.split('/').collect();
        let method = request.method().clone();
        match (&method, parts.as_slice()) {
            (&Method::GET, ["visitors", vid]) => visitor(app, &sites, vid).await,
            (&Method::GET, ["rules", "stats"]) => Ok(rules::stats(app, &sites)),
            (&Method::GET, ["rules", "explain"]) => rules::explain(app, &sites, &request).await,
            (&Method::POST, ["rules", "preview"]) => rules::preview(app, &sites, request).await,
            (&Method::GET, ["sessions"]) => sessions::list(app, &sites, &request).await,
            (&Method::POST, ["accounts", "import"]) => {
                imports::accounts(app, &sites, request).await
            }
            (&Method::GET, ["accounts", "hot"]) => accounts::hot(app, &sites, &request).await,
            (&Method::POST, ["tokens"]) => tokens::mint(app, &sites, request).await,
            (&Method::GET, ["alerts", "dead-letters"]) => alerts::dead_letters(app, &sites),
            (&Method::POST, ["alerts", "dead-letters", alert, destination, "retry"]) => {
                alerts::retry(app, &sites, alert, destination).await
            }
            (&Method::POST, ["people", "import"]) => imports::people(app, &sites, request).await,
            // Not a person's id: the import serves POST only.
            (_, ["people", "import"]) => Err(ApiError::method_not_allowed("POST")),
            (&Method::GET, ["people", id]) => people::get(app, &sites, id).await,
            (&Method::PATCH, ["people", id]) => people::patch(app, &sites, id, request).await,
            (&Method::DELETE, ["people", id]) => people::erase(app, &sites, id).await,
            (&Method::GET, ["people", id, "audit"]) => people::audit(app, &sites, id).await,
            (&Method::POST, ["people", id, "split"]) => {
                people::split(app, &sites, id, request).await
            }
            (&Method::POST, ["people", id, "merge"]) => {
                people::merge(app, &sites, id, request).await
            }
            (_, route) => match allowed(route) {
                Some(allow) => Err(ApiError::method_not_allowed(allow)),
                None => Err(ApiError::not_found()),
            },
        }
    }
    .await;
    result.unwrap_or_else(|err| response::error(&err))
}

/// The methods a path below `/api/v1/` serves, for a 405's `Allow`; `None` when no such path.
fn allowed(route: &[&str]) -> Option<&'static str> {
    Some(match route {
        ["visitors", _]
        | ["sessions"]
        | ["accounts", "hot"]
        | ["people", _, "audit"]
        | ["rules", "stats" | "explain"]
        | ["openapi.json"] => "GET",
        ["alerts", "dead-letters"] => "GET",
        ["tokens"]
        | ["people", "import"]
        | ["accounts", "import"]
        | ["people", _, "split" | "merge"]
        | ["rules", "preview"]
        | ["alerts", "dead-letters", _, _, "retry"] => "POST",
        ["people", _] => "GET, PATCH, DELETE",
        _ => return None,
    })
}

/// `GET /api/v1/visitors/{vid}`: one visitor's sessions and events. Takes the browser's signed
/// id or the hex id the rest of the API shows.
async fn visitor(app: &App, sites: &[Arc<str>], vid: &str) -> Result<Response<Body>, ApiError> {
    let id = request::visitor_id(app, vid)?;
    match crate::service::visitors::find(app.store.as_ref(), sites, id).await? {
        Some(visitor) => Ok(response::json(
            StatusCode::OK,
            render::visitor(vid, &visitor).to_string(),
        )),
        None => Err(ApiError::not_found()),
    }
}
