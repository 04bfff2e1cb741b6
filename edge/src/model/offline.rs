//! Offline leads: people met away from the website (a seminar, an exhibition booth, a business
//! card, a call) as a list brings them in. The row is what the log keeps; the event is what the
//! person's timeline shows and what scoring counts.

use serde::{Deserialize, Serialize};

/// What kind of meeting an offline event was. Anything else a list names is `Custom`, kept with
/// its own label.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum OfflineKind {
    Seminar,
    Exhibition,
    BusinessCard,
    Call,
    Custom(String),
}

impl OfflineKind {
    /// Reads the kinds a list may name, in English or Japanese; anything else non-blank is a
    /// custom kind by that name.
    pub fn parse(text: &str) -> Option<OfflineKind> {
        let t = text.trim();
        if t.is_empty() {
            return None;
        }
        Some(
            match t.to_ascii_lowercase().replace(['-', ' '], "_").as_str() {
                "seminar" | "webinar" => OfflineKind::Seminar,
                "exhibition" | "expo" | "trade_show" => OfflineKind::Exhibition,
                "business_card" | "card" => OfflineKind::BusinessCard,
                "call" | "phone_call" => OfflineKind::Call,
                _ => match t {
                    "セミナー" | "ウェビナー" => OfflineKind::Seminar,
                    "展示会" => OfflineKind::Exhibition,
                    "名刺" | "名刺交換" => OfflineKind::BusinessCard,
                    "電話" | "架電" => OfflineKind::Call,
                    other => OfflineKind::Custom(other.to_string()),
                },
            },
        )
    }

    /// The name the API shows: one of the four, or the custom label.
    pub fn as_str(&self) -> &str {
        match self {
            OfflineKind::Seminar => "seminar",
            OfflineKind::Exhibition => "exhibition",
            OfflineKind::BusinessCard => "business_card",
            OfflineKind::Call => "call",
            OfflineKind::Custom(label) => label,
        }
    }
}

/// One meeting with a person: its kind, its name (「はじめての見込み客発掘」) and its day.
/// Email, kind, name and date together make it one event: importing it again changes nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineEvent {
    pub kind: OfflineKind,
    pub name: String,
    /// `YYYY-MM-DD`, as the list gave it (checked).
    pub date: String,
    /// The day's start (UTC), for ordering with visits and for the score's decay.
    pub at_ms: i64,
}

/// One valid row of a people list, as the log keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedPerson {
    /// Normalised.
    pub email: String,
    /// Canonical attribute names (`name`, `company`, `department`, `title`, `phone`).
    pub fields: Vec<(String, String)>,
    pub event: Option<OfflineEvent>,
}
