//! The attack list: hot accounts as CSV for the call team. UTF-8 with a byte-order mark, so a
//! spreadsheet opens Japanese company names correctly. Every text cell comes from outside
//! (a company name typed into a form, an email's domain), so none may start like a formula.

use std::time::{Duration, UNIX_EPOCH};

use super::HotAccount;

/// New columns go at the end, so a spreadsheet built on the earlier ones keeps working.
pub const HEADER: [&str; 18] = [
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
    "status",
    "owner",
];

/// A text cell a spreadsheet shows as text: one that starts with a formula's first character
/// (`=`, `+`, `-`, `@`, tab, carriage return) gets a leading `'`, which the spreadsheet
/// hides and which stops it from evaluating the rest.
fn text_cell(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

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
            text_cell(f.name.as_deref().unwrap_or_default()),
            text_cell(&row.domain),
            text_cell(f.industry.as_deref().unwrap_or_default()),
            f.employees.map(|e| e.to_string()).unwrap_or_default(),
            text_cell(f.size_band.as_deref().unwrap_or_default()),
            text_cell(f.country.as_deref().unwrap_or_default()),
            format!("{:.1}", row.heat),
            row.visits.to_string(),
            row.pageviews.to_string(),
            row.visitors.to_string(),
            row.known_visitors.to_string(),
            row.anonymous_visitors.to_string(),
            people,
            text_cell(&key_pages),
            humantime::format_rfc3339_seconds(last_seen).to_string(),
            row.status.unwrap_or_default().to_string(),
            text_cell(row.owner.as_deref().unwrap_or_default()),
        ]);
    }
    let body = writer.into_inner().unwrap_or_default();
    let mut out = String::from("\u{feff}");
    out.push_str(&String::from_utf8_lossy(&body));
    out
}

#[cfg(test)]
mod tests {
    use super::text_cell;

    #[test]
    fn cells_that_start_like_a_formula_stay_text() {
        for hostile in [
            "=HYPERLINK(\"http://x\",\"株式会社\")",
            "+81-3",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
        ] {
            assert_eq!(text_cell(hostile), format!("'{hostile}"));
        }
        for plain in ["株式会社テスト商事", "example.co.jp", "", "a=b"] {
            assert_eq!(text_cell(plain), plain);
        }
    }
}
