//! `/api/v1/people/{id}`: read a person with their timeline across devices, change stage and
//! attributes, erase, split a wrong join, merge two records.

use std::collections::BTreeMap;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::render;
use super::request;
use crate::http::App;
use crate::http::error::ApiError;
use crate::http::response::{self, Body};
use crate::service::people::{self, Timeline};

pub async fn get(app: &App, sites: &[Arc<str>], id: &str) -> Result<Response<Body>, ApiError> {
    let timeline = people::timeline(app.store.as_ref(), sites, id).await?;
    Ok(render_timeline(app, &timeline))
}

fn render_timeline(app: &App, timeline: &Timeline) -> Response<Body> {
    let now = request::now(app);
    let mut body = render::person(&timeline.person, now, request::half_life(app));
    if let serde_json::Value::Object(map) = &mut body {
        map.insert(
            "proposed_changes".into(),
            proposed_changes(&timeline.person).into(),
        );
        map.insert(
            "offline_events".into(),
            crate::imports::apply::events(&timeline.person)
                .into_iter()
                .map(|e| json!({"kind": e.kind.as_str(), "name": e.name, "date": e.date}))
                .collect(),
        );
        map.insert(
            "sessions".into(),
            timeline
                .sessions
                .iter()
                .map(|(session, visitor)| render::session(session, *visitor))
                .collect(),
        );
    }
    response::json(StatusCode::OK, body.to_string())
}

/// The values forms gave that differ from what is known, newest first, one per attribute and
/// value: the backend takes one with PATCH (after which it is known, and no longer listed).
fn proposed_changes(person: &crate::model::person::Person) -> Vec<serde_json::Value> {
    use crate::model::person::AuditKind;
    let mut seen: Vec<(&str, &str)> = Vec::new();
    let mut out = Vec::new();
    for entry in person.audit.iter().rev() {
        let AuditKind::ProposedChange {
            visitor,
            attribute,
            value,
        } = &entry.what
        else {
            continue;
        };
        let known = person.attributes.get(attribute);
        if known == Some(value.as_str()) || seen.contains(&(attribute.as_str(), value.as_str())) {
            continue;
        }
        seen.push((attribute, value));
        out.push(json!({
            "attribute": attribute, "value": value, "current": known,
            "visitor": render::vid(*visitor), "at": render::time(entry.at_ms),
        }));
    }
    out
}

pub async fn audit(app: &App, sites: &[Arc<str>], id: &str) -> Result<Response<Body>, ApiError> {
    let person = people::find(app.store.as_ref(), sites, id).await?;
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
        K::ProposedChange {
            visitor,
            attribute,
            value,
        } => {
            json!({"type": "proposed_change", "visitor": render::vid(*visitor), "attribute": attribute, "value": value})
        }
        K::ConversionScored { form } => json!({"type": "conversion_scored", "form": form}),
        K::Offline(event) => json!({
            "type": "offline_event", "kind": event.kind.as_str(), "name": event.name,
            "date": event.date,
        }),
        K::ImportProposed { attribute, value } => {
            json!({"type": "import_proposed", "attribute": attribute, "value": value})
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

/// The body of a change to the person `id`, read once the person is known: a missing person
/// answers 404 (and so does another site's, see `people::find`) whatever the body says.
async fn body_for<T: serde::de::DeserializeOwned>(
    app: &App,
    sites: &[Arc<str>],
    id: &str,
    request: Request<Incoming>,
) -> Result<T, ApiError> {
    people::find(app.store.as_ref(), sites, id).await?;
    request::json_body(app, request).await
}

pub async fn patch(
    app: &App,
    sites: &[Arc<str>],
    id: &str,
    request: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let patch: Patch = body_for(app, sites, id, request).await?;
    let timeline = people::update(
        app.store.as_ref(),
        sites,
        id,
        patch.stage.as_deref(),
        patch.attributes,
    )
    .await?;
    Ok(render_timeline(app, &timeline))
}

pub async fn erase(app: &App, sites: &[Arc<str>], id: &str) -> Result<Response<Body>, ApiError> {
    let now_ms = app.collector.clock.now_ms();
    people::erase(app.store.as_ref(), sites, id, now_ms).await?;
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
    let body: SplitBody = body_for(app, sites, id, request).await?;
    let visitor = request::visitor_id(app, &body.visitor)?;
    let timeline = people::split(app.store.as_ref(), sites, id, visitor).await?;
    Ok(render_timeline(app, &timeline))
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
    let body: MergeBody = body_for(app, sites, id, request).await?;
    let timeline = people::merge(app.store.as_ref(), sites, id, &body.from).await?;
    Ok(render_timeline(app, &timeline))
}
