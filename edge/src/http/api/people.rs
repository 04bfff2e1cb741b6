//! `/api/v1/people/{id}`: read a person with their timeline across devices, change stage and
//! attributes, erase, split a wrong join, merge two records.

use std::collections::BTreeMap;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::render;
use super::request::{self, bad_request, store_error};
use crate::http::App;
use crate::http::error::ApiError;
use crate::http::response::{self, Body};
use crate::model::person::{PersonId, Stage};
use crate::model::record::AdminOp;

pub async fn get(app: &App, sites: &[Arc<str>], id: &str) -> Result<Response<Body>, ApiError> {
    let person = request::person(app, sites, id).await?;
    let visitors = app.store.visitors_of(&person).await.map_err(store_error)?;
    let mut timeline: Vec<(i64, serde_json::Value)> = Vec::new();
    for visitor in &visitors {
        for session in &visitor.sessions {
            if visitor.session_owner(session) == Some(person.id) {
                timeline.push((session.started_ms, render::session(session, visitor.id)));
            }
        }
    }
    timeline.sort_by_key(|(at, _)| *at);
    let now = request::now(app);
    let mut body = render::person(&person, now, request::half_life(app));
    if let serde_json::Value::Object(map) = &mut body {
        map.insert(
            "sessions".into(),
            timeline.into_iter().map(|(_, s)| s).collect(),
        );
    }
    Ok(response::json(StatusCode::OK, body.to_string()))
}

pub async fn audit(app: &App, sites: &[Arc<str>], id: &str) -> Result<Response<Body>, ApiError> {
    let person = request::person(app, sites, id).await?;
    let entries: Vec<_> = person
        .audit
        .iter()
        .map(|e| json!({"at": render::time(e.at_ms), "seq": e.seq, "event": audit_json(&e.what)}))
        .collect();
    let body = json!({"person": person.id.to_string(), "audit": entries});
    Ok(response::json(StatusCode::OK, body.to_string()))
}

fn audit_json(kind: &crate::model::person::AuditKind) -> serde_json::Value {
    use crate::model::person::AuditKind as K;
    match kind {
        K::Joined {
            visitor,
            source,
            retroactive,
        } => {
            json!({"type": "joined", "visitor": render::vid(*visitor), "source": source, "retroactive": retroactive})
        }
        K::SharedDevice {
            visitor,
            from,
            to,
            source,
        } => {
            json!({"type": "shared_device", "visitor": render::vid(*visitor), "from": from.to_string(), "to": to.to_string(), "source": source})
        }
        K::Split { visitor } => json!({"type": "split", "visitor": render::vid(*visitor)}),
        K::Merged { survivor, merged } => {
            json!({"type": "merged", "survivor": survivor.to_string(), "merged": merged.to_string()})
        }
        K::StageChanged { from, to } => json!({"type": "stage_changed", "from": from, "to": to}),
        K::ClickIgnored { visitor, reason } => {
            json!({"type": "click_ignored", "visitor": render::vid(*visitor), "reason": reason})
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Patch {
    #[serde(default)]
    stage: Option<String>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

const ATTRIBUTES: [&str; 5] = ["name", "company", "phone", "title", "department"];

pub async fn patch(
    app: &App,
    sites: &[Arc<str>],
    id: &str,
    request: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let person = request::person(app, sites, id).await?;
    let patch: Patch = request::json_body(request).await?;
    let stage = patch
        .stage
        .as_deref()
        .map(|s| {
            Stage::parse(s).ok_or_else(|| {
                bad_request(
                    "invalid_stage",
                    "stage is one of lead, mql, sql, opportunity, customer",
                )
            })
        })
        .transpose()?;
    if let Some(unknown) = patch
        .attributes
        .keys()
        .find(|k| !ATTRIBUTES.contains(&k.as_str()))
    {
        return Err(bad_request(
            "invalid_attribute",
            format!("`{unknown}` is not one of {}", ATTRIBUTES.join(", ")),
        ));
    }
    let op = AdminOp::UpdatePerson {
        site: Arc::clone(&person.site),
        person: person.id,
        stage,
        fields: patch.attributes.into_iter().collect(),
    };
    change(app, sites, person.id, op).await
}

/// Stores a change and answers with the person as it is afterwards.
async fn change(
    app: &App,
    sites: &[Arc<str>],
    person: PersonId,
    op: AdminOp,
) -> Result<Response<Body>, ApiError> {
    app.store.admin(op).await.map_err(store_error)?;
    get(app, sites, &person.to_string()).await
}

/// Erasure: the person, every visitor linked to them, and every file that held them.
pub async fn erase(app: &App, sites: &[Arc<str>], id: &str) -> Result<Response<Body>, ApiError> {
    let person = request::person(app, sites, id).await?;
    app.store
        .admin(AdminOp::Erase {
            site: Arc::clone(&person.site),
            person: person.id,
        })
        .await
        .map_err(store_error)?;
    app.store.compact().await.map_err(store_error)?;
    Ok(response::empty(StatusCode::NO_CONTENT))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SplitBody {
    visitor: String,
}

pub async fn split(
    app: &App,
    sites: &[Arc<str>],
    id: &str,
    request: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let person = request::person(app, sites, id).await?;
    let body: SplitBody = request::json_body(request).await?;
    let visitor = request::visitor_id(app, &body.visitor)?;
    if !person.visitors.contains(&visitor) {
        return Err(bad_request(
            "not_linked",
            "that visitor is not linked to this person",
        ));
    }
    let op = AdminOp::Split {
        site: Arc::clone(&person.site),
        person: person.id,
        visitor,
    };
    change(app, sites, person.id, op).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MergeBody {
    /// The person that becomes part of this one.
    from: String,
}

pub async fn merge(
    app: &App,
    sites: &[Arc<str>],
    id: &str,
    request: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let survivor = request::person(app, sites, id).await?;
    let body: MergeBody = request::json_body(request).await?;
    let merged = request::person(app, sites, &body.from).await?;
    if merged.id == survivor.id {
        return Err(bad_request(
            "same_person",
            "a person cannot be merged into itself",
        ));
    }
    if merged.site != survivor.site {
        return Err(bad_request(
            "other_site",
            "people of different sites cannot be merged",
        ));
    }
    let op = AdminOp::Merge {
        site: Arc::clone(&survivor.site),
        survivor: survivor.id,
        merged: merged.id,
    };
    change(app, sites, survivor.id, op).await
}
