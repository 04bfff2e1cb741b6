//! How the API shows stored things: flat JSON objects with RFC 3339 times next to the raw
//! milliseconds, visitors by the hex of their id.

use serde_json::{Map, Value, json};

use crate::engine::FeedItem;
use crate::engine::feed::cursor;
use crate::event::{Event, Prop};
use crate::model::person::Person;
use crate::model::{Session, StoredEvent, Visitor};
use crate::visitor_id::VisitorId;

pub fn time(ms: i64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_millis(at).to_string()
}

pub fn vid(id: VisitorId) -> String {
    crate::engine::vid_hex(id)
}

pub fn event(e: &StoredEvent) -> Value {
    let mut out = Map::new();
    out.insert("type".into(), e.event.kind().into());
    out.insert("at".into(), time(e.received_ms).into());
    out.insert("received_ms".into(), e.received_ms.into());
    out.insert("client_ts".into(), e.client_ts.into());
    let fields = match &e.event {
        Event::PageView {
            url,
            referrer,
            title,
        } => json!({"url": url, "referrer": referrer, "title": title}),
        Event::Engagement { url, ms } => json!({"url": url, "ms": ms}),
        Event::Conversion { form, url, fields } => {
            let fields: Map<String, Value> = fields
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                .collect();
            json!({"form": form, "url": url, "fields": fields})
        }
        Event::Popup {
            rule,
            variant,
            action,
            url,
        } => {
            json!({"rule": rule, "variant": variant, "action": action, "url": url})
        }
        Event::Identify { url, .. } => json!({"url": url}),
        Event::Track { name, url, props } => {
            let props: Map<String, Value> = props
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        Prop::Bool(b) => Value::from(*b),
                        Prop::Number(n) => Value::from(*n),
                        Prop::Text(t) => Value::from(t.as_str()),
                    };
                    (k.clone(), v)
                })
                .collect();
            json!({"name": name, "url": url, "props": props})
        }
        Event::Download { url, href } => json!({"url": url, "href": href}),
        Event::EmailClick { url, .. } => json!({"url": url}),
        Event::PopupDecision { rule, variant } => json!({"rule": rule, "variant": variant}),
        Event::Alert(alert) => json!({"rule": alert.rule, "alert": alert.kind}),
    };
    if let Value::Object(fields) = fields {
        out.extend(fields);
    }
    Value::Object(out)
}

pub fn person(p: &Person, now_ms: i64, half_life_ms: i64) -> Value {
    json!({
        "id": p.id.to_string(),
        "email": p.email,
        "name": p.attributes.name,
        "company": p.attributes.company,
        "phone": p.attributes.phone,
        "title": p.attributes.title,
        "department": p.attributes.department,
        "stage": p.stage,
        "score": (p.score.at(now_ms, half_life_ms) * 10.0).round() / 10.0,
        "created": time(p.created_ms),
        "last_seen": time(p.last_seen_ms),
        "visitors": p.visitors.iter().map(|v| vid(*v)).collect::<Vec<_>>(),
    })
}

pub fn company(c: Option<&ipdb::Company>) -> Value {
    match c {
        Some(c) => json!({
            "name": c.name, "domain": c.domain, "industry": c.industry, "employees": c.employees,
            "size_band": c.size_band, "country": c.country, "network_kind": c.network_kind,
            "network_kind_confidence": c.network_kind_confidence,
            "asn": c.asn, "as_org": c.as_org, "source": c.source,
        }),
        None => Value::Null,
    }
}

pub fn session(s: &Session, visitor: VisitorId) -> Value {
    let events: Vec<Value> = s.events.iter().map(event).collect();
    let conversions: Vec<Value> = s
        .events
        .iter()
        .filter(|e| matches!(e.event, Event::Conversion { .. }))
        .map(event)
        .collect();
    json!({
        "session_id": s.id.to_string(),
        "visitor": vid(visitor),
        "started": time(s.started_ms),
        "ended": time(s.last_ms),
        "started_ms": s.started_ms,
        "ended_ms": s.last_ms,
        "pageviews": s.pageviews,
        "conversions": conversions,
        "events": events,
        "dropped_events": s.dropped_events,
    })
}

pub fn feed_item(item: &FeedItem, now_ms: i64, half_life_ms: i64) -> Value {
    let mut out = session(&item.session, item.visitor);
    if let Value::Object(map) = &mut out {
        map.insert("cursor".into(), cursor(item.key).into());
        map.insert("company".into(), company(item.company.as_deref()));
        if let Some(p) = &item.person {
            map.insert("person".into(), person(p, now_ms, half_life_ms));
            map.insert(
                "score".into(),
                json!((p.score.at(now_ms, half_life_ms) * 10.0).round() / 10.0),
            );
            map.insert("stage".into(), json!(p.stage));
        }
    }
    out
}

pub fn visitor(vid_shown: &str, v: &Visitor) -> Value {
    let sessions: Vec<Value> = v
        .sessions
        .iter()
        .map(|s| {
            let mut out = session(s, v.id);
            if let Value::Object(map) = &mut out {
                map.insert("id".into(), s.id.to_string().into());
                map.insert("last_ms".into(), s.last_ms.into());
                map.insert(
                    "person".into(),
                    v.session_owner(s).map(|p| p.to_string()).into(),
                );
            }
            out
        })
        .collect();
    json!({
        "vid": vid_shown,
        "id": vid(v.id),
        "site": &*v.site,
        "first_seen_ms": v.first_seen_ms,
        "last_seen_ms": v.last_seen_ms,
        "visits": v.visits,
        "pageviews": v.pageviews,
        "events": v.events,
        "network": v.network.map(|n| n.to_string()),
        "company": v.company.as_deref(),
        "person": v.owner().map(|p| p.to_string()),
        "sessions": sessions,
    })
}
