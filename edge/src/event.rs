//! Events as the edge keeps them: validated, bounded, and free of anything the tag must never
//! send (tokens in URLs, secret form fields).

use serde::{Deserialize, Serialize};

/// One accepted event with the times it carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimedEvent {
    /// The client's clock, informative only: sessions use the edge's clock.
    pub client_ts: Option<i64>,
    pub event: Event,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Event {
    PageView {
        url: String,
        referrer: Option<String>,
        title: Option<String>,
    },
    Engagement {
        url: String,
        ms: u64,
    },
    Conversion {
        form: String,
        url: String,
        fields: Vec<(String, String)>,
    },
    Popup {
        rule: String,
        variant: String,
        action: PopupAction,
        url: Option<String>,
    },
    Identify {
        token: String,
        url: Option<String>,
    },
    Track {
        name: String,
        url: Option<String>,
        props: Vec<(String, Prop)>,
    },
    Download {
        url: String,
        href: String,
    },
    /// The edge's own popup decision, recorded in the same batch as the page view it was made
    /// for: `variant` is the variant offered, `None` a holdout visitor who was eligible and
    /// shown nothing. Clients cannot send it (the wire has no such type), so caps and results
    /// derive only from decisions the edge really made. Kept last: the log encodes variants by
    /// position.
    PopupDecision {
        rule: String,
        variant: Option<String>,
    },
    /// A verified email-click token: the edge checked its signature and expiry and keeps only
    /// the address it names (never the token).
    EmailClick {
        email: String,
        url: Option<String>,
    },
    /// An alert rule held for this batch (decided by the edge when it was collected, like a
    /// popup decision; clients cannot send it). The engine applies its cooldown and queues it
    /// for delivery; it is not kept in the visitor's sessions. Kept last: the log encodes
    /// variants by position.
    Alert(Box<crate::notice::Alert>),
}

/// A custom event property, stored in a form every serialiser can round-trip.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Prop {
    Bool(bool),
    Number(f64),
    Text(String),
}

impl Event {
    /// The wire name of the event type.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::PageView { .. } => "pageview",
            Event::Engagement { .. } => "engagement",
            Event::Conversion { .. } => "conversion",
            Event::Popup { .. } => "popup",
            Event::Identify { .. } => "identify",
            Event::Track { .. } => "track",
            Event::Download { .. } => "download",
            Event::PopupDecision { .. } => "popup_decision",
            Event::EmailClick { .. } => "email_click",
            Event::Alert(_) => "alert",
        }
    }

    /// The page the event happened on, when it says.
    pub fn url(&self) -> Option<&str> {
        match self {
            Event::PageView { url, .. }
            | Event::Engagement { url, .. }
            | Event::Conversion { url, .. }
            | Event::Download { url, .. } => Some(url),
            Event::Popup { url, .. }
            | Event::Identify { url, .. }
            | Event::Track { url, .. }
            | Event::EmailClick { url, .. } => url.as_deref(),
            Event::PopupDecision { .. } | Event::Alert(_) => None,
        }
    }

    pub fn is_page_view(&self) -> bool {
        matches!(self, Event::PageView { .. })
    }

    /// Whether the event names a person: a form or popup that carried an email address, or
    /// an email-click token. Such a visitor is no longer anonymous.
    pub fn identifies(&self) -> bool {
        match self {
            Event::Conversion { fields, .. } => fields
                .iter()
                .any(|(name, value)| name.eq_ignore_ascii_case("email") && value.contains('@')),
            Event::Identify { .. } | Event::EmailClick { .. } => true,
            Event::Popup { action, .. } => *action == PopupAction::Submitted,
            _ => false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PopupAction {
    Shown,
    Dismissed,
    Submitted,
}
