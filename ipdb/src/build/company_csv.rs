//! Our company CSV format → company database.
//!
//! One header line, then one row per network. Columns (any order):
//!
//! | column | required | meaning |
//! |---|---|---|
//! | `network` | either this … | CIDR, e.g. `192.0.2.0/24` |
//! | `start`,`end` | … or these | inclusive first and last address |
//! | `name` | yes | organisation name (UTF-8, any script) |
//! | `domain` | no | web domain |
//! | `industry` | no | free text |
//! | `employees` | no | whole number of employees |
//! | `country` | no | ISO 3166-1 alpha-2 code |
//! | `kind` | no | network kind; default `business` |
//! | `asn`, `as_org` | no | the network's autonomous system |

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;

use super::{BuildOptions, BuildSummary, Builder, COMPANY_DATABASE_TYPE, Range, Row, Value};
use crate::{Error, NetworkKind};

const COLUMNS: &[&str] = &[
    "network",
    "start",
    "end",
    "name",
    "domain",
    "industry",
    "employees",
    "country",
    "kind",
    "asn",
    "as_org",
];

/// Builds a company database at `output` from company CSV files.
pub fn build_company_csv(inputs: &[&Path], output: &Path) -> Result<BuildSummary, Error> {
    let mut builder = Builder::new(BuildOptions::new(
        COMPANY_DATABASE_TYPE,
        "Mikomi company database: organisation name, domain, industry, employees, country",
    ));
    let mut rows = Vec::new();
    for path in inputs {
        let file = std::fs::File::open(path).map_err(|e| Error::io(*path, e))?;
        rows.extend(read(path, file)?);
    }
    super::insert_rows(&mut builder, rows, super::Overlaps::Reject)?;
    builder.write(output)
}

/// Parses every row of one company CSV source.
pub(crate) fn read(path: &Path, input: impl std::io::Read) -> Result<Vec<Row>, Error> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| Error::row(path, 1, e.to_string()))?
        .clone();
    let mut col = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        if !COLUMNS.contains(&h) {
            return Err(Error::row(
                path,
                1,
                format!("unknown column {h:?}; expected {}", COLUMNS.join(", ")),
            ));
        }
        col.insert(h.to_owned(), i);
    }
    let has_network = col.contains_key("network");
    let has_range = col.contains_key("start") && col.contains_key("end");
    if has_network == has_range || !col.contains_key("name") {
        return Err(Error::row(
            path,
            1,
            "header needs `name` and either `network` or `start`,`end`",
        ));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record
            .map_err(|e| Error::row(path, e.position().map_or(0, |p| p.line()), e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |name: &str| {
            col.get(name)
                .and_then(|i| record.get(*i))
                .filter(|v| !v.is_empty())
        };
        let bad = |message: String| Error::row(path, line, message);
        let (range, text) = if let Some(net) = field("network") {
            let parsed: IpNet = net
                .parse()
                .map_err(|_| bad(format!("bad network {net:?}")))?;
            if parsed.trunc() != parsed {
                return Err(bad(format!(
                    "network {net} has host bits set; did you mean {}?",
                    parsed.trunc()
                )));
            }
            (Range::of_net(&parsed), net.to_owned())
        } else {
            let start = parse_addr(field("start"), "start").map_err(bad)?;
            let end = parse_addr(field("end"), "end").map_err(bad)?;
            (
                Range::new(start, end).map_err(bad)?,
                format!("{start}-{end}"),
            )
        };
        let name = field("name").ok_or_else(|| bad("missing name".into()))?;
        let mut pairs = vec![("name".to_owned(), Value::String(name.to_owned()))];
        for key in ["domain", "industry"] {
            if let Some(v) = field(key) {
                pairs.push((key.to_owned(), Value::String(v.to_owned())));
            }
        }
        if let Some(v) = field("employees") {
            let n: u32 = v
                .parse()
                .map_err(|_| bad(format!("bad employee count {v:?}: expected a whole number")))?;
            pairs.push(("employees".into(), Value::U32(n)));
        }
        if let Some(v) = field("country") {
            if v.len() != 2 || !v.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(bad(format!(
                    "bad country {v:?}: expected an ISO 3166-1 alpha-2 code"
                )));
            }
            pairs.push(("country".into(), Value::String(v.to_ascii_uppercase())));
        }
        if let Some(v) = field("asn") {
            let n: u32 = v.parse().map_err(|_| bad(format!("bad asn {v:?}")))?;
            pairs.push(("autonomous_system_number".into(), Value::U32(n)));
        }
        if let Some(v) = field("as_org") {
            pairs.push((
                "autonomous_system_organization".into(),
                Value::String(v.to_owned()),
            ));
        }
        let kind = match field("kind") {
            Some(v) => NetworkKind::parse(v).ok_or_else(|| bad(format!("bad kind {v:?}")))?,
            None => NetworkKind::Business,
        };
        pairs.push((
            "network_kind".into(),
            Value::String(kind.as_str().to_owned()),
        ));
        rows.push(Row {
            range,
            record: Value::Map(pairs),
            path: path.to_owned(),
            line,
            text,
        });
    }
    Ok(rows)
}

fn parse_addr(v: Option<&str>, what: &str) -> Result<IpAddr, String> {
    let v = v.ok_or_else(|| format!("missing {what}"))?;
    v.parse().map_err(|_| format!("bad {what} address {v:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(csv: &str) -> String {
        match read(Path::new("c.csv"), csv.as_bytes()) {
            Ok(rows) => {
                let mut b = Builder::new(BuildOptions::new("t", "t"));
                match super::super::insert_rows(&mut b, rows, super::super::Overlaps::Reject) {
                    Ok(()) => "ok".into(),
                    Err(e) => e.to_string(),
                }
            }
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn bad_rows_are_named_by_line() {
        let h = "network,name,employees\n";
        let cases = [
            (
                format!("{h}10.0.0.0/8,A,5\n10.1.0.0/16,B,5\n"),
                "c.csv:3: 10.1.0.0/16 overlaps line 2",
            ),
            (
                format!("{h}10.0.0.0/33,A,5\n"),
                "c.csv:2: bad network \"10.0.0.0/33\"",
            ),
            (
                format!("{h}10.0.0.1/8,A,5\n"),
                "c.csv:2: network 10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8?",
            ),
            (
                format!("{h}10.0.0.0/8,A,many\n"),
                "c.csv:2: bad employee count \"many\": expected a whole number",
            ),
            (
                format!("{h}10.0.0.0/8,A,-3\n"),
                "c.csv:2: bad employee count \"-3\": expected a whole number",
            ),
            (format!("{h}10.0.0.0/8,,3\n"), "c.csv:2: missing name"),
            (
                "start,end,name\n10.0.0.9,10.0.0.1,A\n".into(),
                "c.csv:2: reversed range: start 10.0.0.9 is after end 10.0.0.1",
            ),
            (
                "start,end,name\n10.0.0.x,10.0.0.1,A\n".into(),
                "c.csv:2: bad start address \"10.0.0.x\"",
            ),
            (
                "network,name,country\n10.0.0.0/8,A,Japan\n".into(),
                "c.csv:2: bad country \"Japan\": expected an ISO 3166-1 alpha-2 code",
            ),
            (
                "network,name,size\n".into(),
                "c.csv:1: unknown column \"size\"; expected network, start, end, name, domain, industry, employees, country, kind, asn, as_org",
            ),
            (
                "network,start,end,name\n".into(),
                "c.csv:1: header needs `name` and either `network` or `start`,`end`",
            ),
            (
                "network,name\n10.0.0.0/8,A\n10.0.0.0/8,B\n".into(),
                "c.csv:3: 10.0.0.0/8 overlaps line 2",
            ),
        ];
        for (csv, want) in cases {
            assert_eq!(error_of(&csv), want, "{csv}");
        }
    }

    #[test]
    fn good_rows_build() {
        let csv = "network,name,domain,industry,employees,country,kind\n\
                   192.0.2.0/24,見込み商事株式会社,example.co.jp,商社,120,jp,\n\
                   198.51.100.0/25,Example Hosting,,,,,hosting\n";
        assert_eq!(error_of(csv), "ok");
        let start_end = "start,end,name\n10.0.0.1,10.0.0.6,A\n10.0.0.7,10.0.0.7,B\n";
        assert_eq!(error_of(start_end), "ok");
    }
}
