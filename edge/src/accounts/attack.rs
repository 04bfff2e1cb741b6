//! The attack list: hot accounts as CSV for the call team. UTF-8 with a byte-order mark, so a
//! spreadsheet opens Japanese company names correctly.

use std::time::{Duration, UNIX_EPOCH};

use super::HotAccount;

pub const HEADER: [&str; 16] = [
    "rank",
    "company",
    "domain",
    "industry",
    "employees",
    "size_band",
    "country",
    "heat",
    "visits",
    "pageviews",
    "visitors",
    "known_visitors",
    "anonymous_visitors",
    "known_people",
    "key_pages",
    "last_seen",
];

pub fn attack_list(rows: &[HotAccount]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    // Writing into memory cannot fail.
    let _ = writer.write_record(HEADER);
    for (i, row) in rows.iter().enumerate() {
        let f = &row.firmographics;
        let key_pages = row
            .key_pages
            .iter()
            .map(|(page, n)| format!("{page}:{n}"))
            .collect::<Vec<_>>()
            .join(" ");
        let people = row
            .known_people
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ");
        let last_seen = UNIX_EPOCH + Duration::from_millis(row.last_seen_ms.max(0) as u64);
        let _ = writer.write_record([
            (i + 1).to_string(),
            f.name.clone().unwrap_or_default(),
            row.domain.clone(),
            f.industry.clone().unwrap_or_default(),
            f.employees.map(|e| e.to_string()).unwrap_or_default(),
            f.size_band.clone().unwrap_or_default(),
            f.country.clone().unwrap_or_default(),
            format!("{:.1}", row.heat),
            row.visits.to_string(),
            row.pageviews.to_string(),
            row.visitors.to_string(),
            row.known_visitors.to_string(),
            row.anonymous_visitors.to_string(),
            people,
            key_pages,
            humantime::format_rfc3339_seconds(last_seen).to_string(),
        ]);
    }
    let body = writer.into_inner().unwrap_or_default();
    let mut out = String::from("\u{feff}");
    out.push_str(&String::from_utf8_lossy(&body));
    out
}
