//! What the store tests of both backends build their cases from.

use crate::engine::Model;
use crate::event::{Event, TimedEvent};
use crate::model::{Batch, SessionRules, Visitor, VisitorKey};
use crate::visitor_id::VisitorId;

pub fn model() -> Model {
    Model {
        sessions: SessionRules {
            timeout_ms: 30 * 60 * 1000,
            max_sessions: 100,
            max_events_per_session: 1000,
        },
        scoring: crate::scoring::ScoringRules::default(),
        key_pages: Vec::new(),
        webhooks: false,
    }
}

pub fn batch(visitor: u8, at_ms: i64, path: &str) -> Batch {
    Batch {
        site: "demo".into(),
        visitor: VisitorId([visitor; 16]),
        received_ms: at_ms,
        network: None,
        company: None,
        events: vec![TimedEvent {
            client_ts: Some(at_ms),
            event: Event::PageView {
                url: format!("https://example.jp{path}"),
                referrer: None,
                title: Some("タイトル".into()),
            },
        }],
    }
}

pub fn key(visitor: u8) -> VisitorKey {
    VisitorKey {
        site: "demo".into(),
        id: VisitorId([visitor; 16]),
    }
}

pub fn urls(visitor: &Visitor) -> Vec<String> {
    visitor
        .sessions
        .iter()
        .flat_map(|s| s.events.iter())
        .filter_map(|e| e.event.url().map(str::to_string))
        .collect()
}
