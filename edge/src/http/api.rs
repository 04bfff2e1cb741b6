//! The backend API: authenticated by API keys, each scoped to its sites.

use std::sync::Arc;

use std::time::Duration;

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header;
use hyper::{Method, Request, Response, StatusCode};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::response::{self, Body};
use crate::app::App;
use crate::config::{Config, HumanDuration};
use crate::rules::service;
use crate::store::{Visitor, VisitorKey};

/// A preview request body is a few ids.
const MAX_PREVIEW_BODY: usize = 4096;

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
        let query = request.uri().query().unwrap_or_default().to_string();
        match (
            request.method().clone(),
            path.split('/').collect::<Vec<_>>().as_slice(),
        ) {
            (Method::GET, ["visitors", vid]) => visitor(app, sites, vid).await,
            (_, ["visitors", _]) => Err(ApiError::method_not_allowed()),
            (Method::GET, ["rules", "stats"]) => Ok(rules_stats(app, sites)),
            (Method::GET, ["rules", "explain"]) => rules_explain(app, sites, &query).await,
            (Method::POST, ["rules", "preview"]) => rules_preview(app, sites, request).await,
            (_, ["rules", "stats" | "explain" | "preview"]) => Err(ApiError::method_not_allowed()),
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

/// `GET /api/v1/rules/stats`: results per rule and arm, and the state of the rules file.
fn rules_stats(app: &App, sites: &[Arc<str>]) -> Response<Body> {
    let rules = &app.collector.rules;
    let body = serde_json::json!({
        "rules": service::results(rules, app.store.as_ref(), sites),
        "reload": rules.status(),
    });
    response::json(StatusCode::OK, body.to_string())
}

/// `GET /api/v1/rules/explain?vid=...&url=...[&lang=..][&site=..]`: rule by rule, which
/// conditions and caps held for this visitor on that page, and what would be decided.
async fn rules_explain(
    app: &App,
    sites: &[Arc<str>],
    query: &str,
) -> Result<Response<Body>, ApiError> {
    let params = query_params(query);
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let bad = |m: &str| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", m);
    let vid = param("vid").ok_or_else(|| bad("give `vid`, the visitor id"))?;
    let url = param("url").ok_or_else(|| bad("give `url`, the page to decide for"))?;
    let id =
        app.collector.codec.verify(vid).map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_visitor_id", e.to_string())
        })?;
    let site = pick_site(sites, param("site"))?;
    let explanation = service::explain(
        &app.collector.rules,
        app.store.as_ref(),
        site,
        id,
        url,
        param("lang"),
        app.collector.clock.now_ms(),
    )
    .await?;
    let body =
        serde_json::to_string(&explanation).map_err(|e| ApiError::internal("encode_failed", &e))?;
    Ok(response::json(StatusCode::OK, body))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewRequest {
    rule: String,
    #[serde(default)]
    variant: Option<String>,
    #[serde(default)]
    site: Option<String>,
    /// How long the link works; one hour when absent.
    #[serde(default)]
    ttl: Option<HumanDuration>,
}

/// `POST /api/v1/rules/preview`: a signed, expiring `mk_preview` token for one rule.
async fn rules_preview(
    app: &App,
    sites: &[Arc<str>],
    request: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let body = Limited::new(request.into_body(), MAX_PREVIEW_BODY)
        .collect()
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "body_unreadable",
                format!("send a JSON body of at most {MAX_PREVIEW_BODY} bytes"),
            )
        })?
        .to_bytes();
    let asked: PreviewRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", e.to_string()))?;
    let site = pick_site(sites, asked.site.as_deref())?;
    let ttl = asked.ttl.map_or(Duration::from_secs(3600), |t| t.0);
    let (token, expires_ms) = service::preview(
        &app.collector.rules,
        site,
        &asked.rule,
        asked.variant.as_deref(),
        ttl,
        app.collector.clock.now_ms(),
    )?;
    let body = serde_json::json!({
        "token": token,
        "param": "mk_preview",
        "query": format!("mk_preview={token}"),
        "expires_ms": expires_ms,
    });
    Ok(response::json(StatusCode::OK, body.to_string()))
}

/// The site a request is about: the one named, if this key may see it, else the key's first.
fn pick_site<'a>(sites: &'a [Arc<str>], named: Option<&str>) -> Result<&'a Arc<str>, ApiError> {
    match named {
        Some(name) => sites
            .iter()
            .find(|s| &***s == name)
            .ok_or_else(ApiError::not_found),
        None => sites.first().ok_or_else(ApiError::not_found),
    }
}

/// `a=1&b=x%20y` as decoded pairs; `+` is a space, broken escapes stay as written.
fn query_params(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (escaped, bytes[i]) {
            (Some(b), _) => {
                out.push(b);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, b) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_decoded() {
        let params =
            query_params("vid=abc&url=https%3A%2F%2Fa.jp%2Fen%2Fp%3Fx%3D1&q=a+b&bad=%zz%4");
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("vid"), Some("abc"));
        assert_eq!(get("url"), Some("https://a.jp/en/p?x=1"));
        assert_eq!(get("q"), Some("a b"));
        assert_eq!(get("bad"), Some("%zz%4"));
        assert_eq!(percent_decode("%E6%97%A5"), "日");
    }
}
