//! The backend API: authenticated by API keys, each scoped to its sites.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header;
use hyper::{Method, Request, Response, StatusCode};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::response::{self, Body};
use crate::app::App;
use crate::config::Config;
use crate::store::{Visitor, VisitorKey};

struct ApiKey {
    secret: Vec<u8>,
    sites: Vec<Arc<str>>,
}

pub struct ApiKeys(Vec<ApiKey>);

impl ApiKeys {
    pub fn from_config(config: &Config) -> Self {
        ApiKeys(
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
                .collect(),
        )
    }

    /// The sites a bearer token may see. Every key is compared, each in constant time, so the
    /// answer's timing says nothing about which key came close.
    fn authorize(&self, request: &Request<Incoming>) -> Result<&[Arc<str>], ApiError> {
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(ApiError::unauthorized)?
            .trim()
            .as_bytes();
        let mut found = None;
        for key in &self.0 {
            if bool::from(key.secret.as_slice().ct_eq(presented)) {
                found = Some(key.sites.as_slice());
            }
        }
        found.ok_or_else(ApiError::unauthorized)
    }
}

/// Routes below `/api/v1/`.
pub async fn handle(app: &App, request: Request<Incoming>, path: &str) -> Response<Body> {
    let result = async {
        let sites = app.api_keys.authorize(&request)?;
        match (
            request.method(),
            path.split('/').collect::<Vec<_>>().as_slice(),
        ) {
            (&Method::GET, ["visitors", vid]) => visitor(app, sites, vid).await,
            (_, ["visitors", _]) => Err(ApiError::method_not_allowed()),
            _ => Err(ApiError::not_found()),
        }
    }
    .await;
    result.unwrap_or_else(|err| response::error(&err))
}

/// `GET /api/v1/visitors/{vid}`: one visitor's sessions and events.
async fn visitor(app: &App, sites: &[Arc<str>], vid: &str) -> Result<Response<Body>, ApiError> {
    let id =
        app.collector.codec.verify(vid).map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_visitor_id", e.to_string())
        })?;
    for site in sites {
        let key = VisitorKey {
            site: Arc::clone(site),
            id,
        };
        let found = app
            .store
            .visitor(&key)
            .await
            .map_err(|e| ApiError::internal("store_unavailable", &e))?;
        if let Some(visitor) = found {
            return Ok(response::json(
                StatusCode::OK,
                render_visitor(vid, &visitor),
            ));
        }
    }
    Err(ApiError::not_found())
}

fn render_visitor(vid: &str, visitor: &Visitor) -> String {
    let sessions: Vec<_> = visitor
        .sessions
        .iter()
        .map(|s| {
            let events: Vec<_> = s
                .events
                .iter()
                .map(|e| {
                    // An event serialises as {"Variant": {fields}}; the API shows the fields
                    // flat, with the wire name of the type.
                    let mut fields = match serde_json::to_value(&e.event) {
                        Ok(serde_json::Value::Object(outer)) => outer
                            .into_iter()
                            .next()
                            .and_then(|(_, inner)| match inner {
                                serde_json::Value::Object(m) => Some(m),
                                _ => None,
                            })
                            .unwrap_or_default(),
                        _ => serde_json::Map::new(),
                    };
                    fields.insert("type".into(), e.event.kind().into());
                    fields.insert("received_ms".into(), e.received_ms.into());
                    fields.insert("client_ts".into(), e.client_ts.into());
                    serde_json::Value::Object(fields)
                })
                .collect();
            serde_json::json!({
                "id": s.id.to_string(),
                "started_ms": s.started_ms,
                "last_ms": s.last_ms,
                "pageviews": s.pageviews,
                "events": events,
                "dropped_events": s.dropped_events,
            })
        })
        .collect();
    serde_json::json!({
        "vid": vid,
        "site": &*visitor.site,
        "first_seen_ms": visitor.first_seen_ms,
        "last_seen_ms": visitor.last_seen_ms,
        "visits": visitor.visits,
        "pageviews": visitor.pageviews,
        "events": visitor.events,
        "network": visitor.network.map(|n| n.to_string()),
        "company": visitor.company.as_deref(),
        "sessions": sessions,
    })
    .to_string()
}
