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

/// One chunk of an imported people list: the log record of `AdminOp::ImportPeople`.
///
/// Unlike the other admin changes, this one names people by email: the import is what creates
/// them, and a person who does not exist yet has no id to name. The rows carry exactly what a
/// conversion's form fields would (address and attributes), and erasure removes them from the
/// log the same way it removes a form's: `DELETE /api/v1/people/{id}` appends `ErasePerson`,
/// which drops the person (and, with them, the offline events kept in their audit) from the
/// state, then calls `Store::compact`. Compaction writes a snapshot of the state at the current log
/// position and deletes every log segment (embedded) or trims the stream (Redis) before it, so
/// the chunk that once held the address is gone with them; what survives is the snapshot, which
/// no longer holds the person. Replaying the snapshot cannot bring the row back, because replay
/// starts after the snapshot's position.
///
/// A chunk holds at most `IMPORT_CHUNK_ROWS` rows: each row may create a person, and a record
/// has `ids::IDS_PER_RECORD` person ids, the id of the row at index `i` being the record's
/// `i`th (so a replay makes the same ids whether or not earlier rows found their person).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportChunk {
    pub site: std::sync::Arc<str>,
    /// The edge's clock when the import was accepted: new people are created then, and it is
    /// what the MQL check is made at, so every replay decides the same.
    pub at_ms: i64,
    pub rows: Vec<ImportedPerson>,
}

/// The most rows one chunk holds: well below the 4096 person ids a record has, and small
/// enough that one chunk's apply holds the engine for milliseconds, not seconds, so collect
/// keeps being answered between chunks while a large file imports.
pub const IMPORT_CHUNK_ROWS: usize = 1_000;

const _: () = assert!(IMPORT_CHUNK_ROWS as u64 <= crate::model::ids::IDS_PER_RECORD - 2);

/// Where a company stands with us, as the CRM's account list says: sales calls a customer
/// about an upsell and a prospect about new business.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountStatus {
    Customer,
    Prospect,
    Partner,
}

impl AccountStatus {
    /// The statuses a list may name, in English or Japanese.
    pub fn parse(text: &str) -> Option<AccountStatus> {
        Some(match text.trim().to_lowercase().as_str() {
            "customer" | "client" | "顧客" | "既存顧客" | "取引先" => {
                AccountStatus::Customer
            }
            "prospect" | "lead" | "見込み" | "見込み客" | "見込" => {
                AccountStatus::Prospect
            }
            "partner" | "パートナー" | "代理店" => AccountStatus::Partner,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Customer => "customer",
            AccountStatus::Prospect => "prospect",
            AccountStatus::Partner => "partner",
        }
    }
}

/// One valid row of an accounts list, as the log keeps it. Every field but the domain is
/// optional: a blank cell says nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedAccount {
    /// Lower-cased, without `www.` or a scheme.
    pub domain: String,
    pub name: Option<String>,
    pub industry: Option<String>,
    pub employees: Option<u32>,
    pub country: Option<String>,
    pub status: Option<AccountStatus>,
    /// The salesperson who owns the account (normalised): a colleague, not a tracked person.
    pub owner: Option<String>,
}

/// One chunk of an imported accounts list: the log record of `AdminOp::ImportAccounts`. It
/// names companies by domain and their owners by a colleague's address; no tracked person's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountsChunk {
    pub site: std::sync::Arc<str>,
    pub at_ms: i64,
    pub rows: Vec<ImportedAccount>,
}
