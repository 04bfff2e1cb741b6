//! A people list: the header row mapped to email, name (or 姓 and 名), company, department,
//! title, phone and an offline event (kind, name, date), in English or Japanese as the
//! spreadsheet's owner wrote it. Each row is taken or refused with its line and reason.

use std::fmt;

use super::FileError;
use crate::identity::email;
use crate::model::offline::{ImportedPerson, OfflineEvent, OfflineKind};

/// What a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    Email,
    Name,
    FamilyName,
    GivenName,
    Company,
    Department,
    Title,
    Phone,
    EventKind,
    EventName,
    EventDate,
}

impl Column {
    /// The column a header cell names; `None` for columns the import leaves aside.
    fn of(header: &str) -> Option<Column> {
        let h = header.trim().to_lowercase().replace([' ', '-', '_'], "");
        Some(match h.as_str() {
            "email"
            | "mail"
            | "emailaddress"
            | "メール"
            | "メールアドレス"
            | "eメール"
            | "e-mail" => Column::Email,
            "name" | "fullname" | "氏名" | "名前" | "お名前" => Column::Name,
            "lastname" | "familyname" | "surname" | "姓" => Column::FamilyName,
            "firstname" | "givenname" | "名" => Column::GivenName,
            "company" | "organization" | "organisation" | "会社名" | "会社" | "企業名" | "社名" => {
                Column::Company
            }
            "department" | "dept" | "部署" | "部署名" | "所属" => Column::Department,
            "title" | "jobtitle" | "role" | "役職" | "役職名" => Column::Title,
            "phone" | "tel" | "telephone" | "電話" | "電話番号" => Column::Phone,
            "eventkind" | "eventtype" | "kind" | "種別" | "イベント種別" | "接点" => {
                Column::EventKind
            }
            "eventname" | "event" | "イベント名" | "セミナー名" | "展示会名" | "イベント" => {
                Column::EventName
            }
            "eventdate" | "date" | "日付" | "開催日" | "参加日" | "交換日" | "接触日" => {
                Column::EventDate
            }
            _ => return None,
        })
    }
}

/// The event a whole file is about when its rows do not say (a seminar's attendee list has no
/// "kind" column): used for a missing column or a blank cell.
#[derive(Clone, Debug, Default)]
pub struct EventDefaults {
    pub kind: Option<String>,
    pub name: Option<String>,
    pub date: Option<String>,
}

/// A row left out, with the line of the file it starts on (the header is line 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub line: u64,
    pub reason: RowError,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RowError {
    #[error("no email address")]
    NoEmail,
    #[error("`{0}` is not an email address")]
    InvalidEmail(String),
    #[error("`{0}` is not a date (2026-11-10, 2026/11/10 or 2026年11月10日)")]
    InvalidDate(String),
    #[error("an event of kind `{0}` needs a date")]
    EventWithoutDate(String),
    #[error("an event needs a kind (seminar, exhibition, business_card, call, or your own)")]
    EventWithoutKind,
    #[error("a cell is longer than {MAX_CELL} characters")]
    CellTooLong,
    #[error("the row cannot be read as CSV: {0}")]
    Malformed(String),
    // Rows of an accounts list.
    #[error("no domain")]
    NoDomain,
    #[error("`{0}` is not a domain (example.co.jp)")]
    InvalidDomain(String),
    #[error("`{0}` is not a number of employees")]
    InvalidEmployees(String),
    #[error("`{0}` is not a status (customer, prospect, partner; 顧客, 見込み, パートナー)")]
    InvalidStatus(String),
    #[error("the owner `{0}` is not an email address")]
    InvalidOwner(String),
}

/// The most characters a cell may hold: a name or a company longer than this is not one.
pub const MAX_CELL: usize = 500;

/// A people file read: the rows taken, in file order with their lines, and the rows refused.
#[derive(Debug, Default)]
pub struct PeopleFile {
    pub rows: Vec<(u64, ImportedPerson)>,
    pub refused: Vec<Refused>,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Reads a people list of at most `max_rows` rows. Blank rows are skipped without a word.
pub fn parse_people(
    text: &str,
    defaults: &EventDefaults,
    max_rows: usize,
) -> Result<PeopleFile, FileError> {
    let sheet = super::sheet::read(
        text,
        max_rows,
        Column::of,
        Column::Email,
        FileError::NoEmailColumn,
        |columns, record| row(columns, record, defaults),
    )?;
    Ok(PeopleFile {
        rows: sheet.rows,
        refused: sheet.refused,
    })
}

/// One row, by its columns.
fn row(
    columns: &[Option<Column>],
    record: &csv::StringRecord,
    defaults: &EventDefaults,
) -> Result<ImportedPerson, RowError> {
    let cell = |wanted: Column| -> Option<&str> {
        let at = columns.iter().position(|c| *c == Some(wanted))?;
        record.get(at).map(str::trim).filter(|v| !v.is_empty())
    };
    if record.iter().any(|c| c.chars().count() > MAX_CELL) {
        return Err(RowError::CellTooLong);
    }
    let raw_email = cell(Column::Email).ok_or(RowError::NoEmail)?;
    let email =
        email::normalize(raw_email).ok_or_else(|| RowError::InvalidEmail(raw_email.into()))?;
    let mut fields = Vec::new();
    let name = match (
        cell(Column::Name),
        cell(Column::FamilyName),
        cell(Column::GivenName),
    ) {
        (Some(name), _, _) => Some(name.to_string()),
        // Japanese order: family name first, with a space as business cards print it.
        (None, Some(family), Some(given)) => Some(format!("{family} {given}")),
        (None, Some(one), None) | (None, None, Some(one)) => Some(one.to_string()),
        (None, None, None) => None,
    };
    if let Some(name) = name {
        fields.push(("name".to_string(), name));
    }
    for (column, attribute) in [
        (Column::Company, "company"),
        (Column::Department, "department"),
        (Column::Title, "title"),
        (Column::Phone, "phone"),
    ] {
        if let Some(value) = cell(column) {
            fields.push((attribute.to_string(), value.to_string()));
        }
    }
    let kind = cell(Column::EventKind).or(defaults.kind.as_deref());
    let event_name = cell(Column::EventName).or(defaults.name.as_deref());
    let date = cell(Column::EventDate).or(defaults.date.as_deref());
    let event = match (kind.and_then(OfflineKind::parse), event_name, date) {
        (None, None, None) => None,
        (None, _, _) => return Err(RowError::EventWithoutKind),
        (Some(kind), _, None) => return Err(RowError::EventWithoutDate(kind.as_str().into())),
        (Some(kind), name, Some(date)) => {
            let day = parse_date(date).ok_or_else(|| RowError::InvalidDate(date.into()))?;
            Some(OfflineEvent {
                kind,
                name: name.unwrap_or_default().to_string(),
                date: day.to_string(),
                at_ms: day_start_ms(day),
            })
        }
    };
    Ok(ImportedPerson {
        email,
        fields,
        event,
    })
}

/// A day as lists write it: 2026-11-10, 2026/11/10, 2026/1/5, 2026.11.10 or 2026年11月10日.
pub fn parse_date(text: &str) -> Option<jiff::civil::Date> {
    let t = text.trim().trim_end_matches('日');
    let parts: Vec<&str> = t.split(['-', '/', '.', '年', '月']).collect();
    let [y, m, d] = parts.as_slice() else {
        return None;
    };
    let year: i16 = y.trim().parse().ok()?;
    let month: i8 = m.trim().parse().ok()?;
    let day: i8 = d.trim().parse().ok()?;
    if !(1970..=9999).contains(&year) {
        return None;
    }
    jiff::civil::Date::new(year, month, day).ok()
}

/// The UTC start of `day`, in ms.
fn day_start_ms(day: jiff::civil::Date) -> i64 {
    day.to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
