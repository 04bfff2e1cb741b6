//! The ip-location-db ASN CSV format → ASN database.
//!
//! Rows are `start,end,asn,organisation` with inclusive ranges and no header; files may be
//! gzip-compressed (`.gz`). Records use the GeoLite2-ASN layout
//! (`autonomous_system_number`, `autonomous_system_organization`) plus `network_kind` and
//! `network_kind_confidence` (written only when `high`; absent reads as low), the classifier's
//! verdict computed once here, from the name and
//! the AS's announcements across every input file, so lookups do not pay for it. An overrides
//! file comes first: its AS lines replace the verdict (and may name the company: `name`,
//! `domain`), its network lines are cut out of the ASN ranges and written as their own records.
//!
//! The real data has the odd overlapping pair (one in the IPv4 file at the time of writing);
//! the row that starts first keeps the shared addresses and the summary counts the clipping.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{ASN_DATABASE_TYPE, BuildOptions, BuildSummary, Builder, Range, Row, Value};
use crate::Error;
use crate::classify::profile::{AsTable, parse_row};
use crate::classify::{Classifier, Confidence, Override, Verdict};

/// Builds an ASN database at `output` from ip-location-db ASN CSV files (plain or `.gz`).
pub fn build_asn_csv(inputs: &[&Path], output: &Path) -> Result<BuildSummary, Error> {
    build_asn_csv_with(inputs, output, &Classifier::default())
}

/// As [`build_asn_csv`], classifying with `classifier` (whose overrides come first).
pub fn build_asn_csv_with(
    inputs: &[&Path],
    output: &Path,
    classifier: &Classifier,
) -> Result<BuildSummary, Error> {
    let mut builder = Builder::new(BuildOptions::new(
        ASN_DATABASE_TYPE,
        "Mikomi ASN database built from ip-location-db ASN data (RouteViews and DB-IP, CC BY 4.0)",
    ));
    let mut rows = Vec::new();
    for path in inputs {
        rows.extend(read(path, open(path)?)?);
    }
    let rows = records(rows, classifier);
    super::insert_rows(&mut builder, rows, super::Overlaps::KeepFirst)?;
    builder.write(output)
}

/// Opens a source file, decompressing `.gz` transparently.
pub(crate) fn open(path: &Path) -> Result<Box<dyn Read>, Error> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let file = std::io::BufReader::with_capacity(1 << 16, file);
    Ok(if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    })
}

/// One parsed row of ASN CSV.
pub(crate) struct AsnRow {
    range: Range,
    asn: u32,
    org: Option<String>,
    path: PathBuf,
    line: u64,
}

/// Parses every row of one ASN CSV source.
pub(crate) fn read(path: &Path, input: impl Read) -> Result<Vec<AsnRow>, Error> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let more = reader
            .read_record(&mut record)
            .map_err(|e| Error::row(path, e.position().map_or(0, |p| p.line()), e.to_string()))?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| p.line());
        let (range, asn, org) = parse_row(&record).map_err(|m| Error::row(path, line, m))?;
        rows.push(AsnRow {
            range,
            asn,
            org: Some(org).filter(|o| !o.is_empty()).map(str::to_owned),
            path: path.to_owned(),
            line,
        });
    }
    Ok(rows)
}

/// Classifies every AS once, from its name and its announcements in all the rows, and turns
/// the rows into records; network overrides are cut out of the rows and added as rows.
pub(crate) fn records(rows: Vec<AsnRow>, classifier: &Classifier) -> Vec<Row> {
    let mut table = AsTable::default();
    for r in &rows {
        table.add(r.asn, r.org.as_deref().unwrap_or(""), &r.range);
    }
    // Each AS's record, per name it appears under (almost always one).
    let mut verdicts: HashMap<u32, Vec<(Option<String>, Value)>> = HashMap::new();
    let networks: Vec<(Range, &Override)> = classifier
        .overrides()
        .networks()
        .iter()
        .map(|(net, o)| (Range::of_net(net), o))
        .collect();
    let mut out = Vec::with_capacity(rows.len() + networks.len());
    let mut placed = vec![None; networks.len()];
    for r in rows {
        let key = (r.asn, r.org);
        let known = verdicts.entry(key.0).or_default();
        let record = match known.iter().find(|(org, _)| *org == key.1) {
            Some((_, v)) => v.clone(),
            None => {
                let org = key.1.as_deref().unwrap_or("");
                let verdict = classifier.verdict(Some(key.0), org, table.profile(key.0).as_ref());
                let over = classifier.overrides().for_asn(key.0);
                let v = record(key.0, key.1.as_deref(), &verdict, over);
                known.push((key.1.clone(), v.clone()));
                v
            }
        };
        let mut pieces = vec![r.range];
        for (i, (cut, _)) in networks.iter().enumerate() {
            if cut.v6 != r.range.v6 || cut.end < r.range.start || cut.start > r.range.end {
                continue;
            }
            if placed[i].is_none() && cut.start >= r.range.start && cut.start <= r.range.end {
                placed[i] = Some((key.0, key.1.clone()));
            }
            pieces = pieces.into_iter().flat_map(|p| subtract(p, cut)).collect();
        }
        for range in pieces {
            out.push(Row {
                range,
                record: record.clone(),
                path: r.path.clone(),
                line: r.line,
                text: format!("{}-{}", show(&range, range.start), show(&range, range.end)),
            });
        }
    }
    for (i, (range, o)) in networks.iter().enumerate() {
        let (asn, org) = placed[i].clone().unwrap_or((0, None));
        let verdict = Verdict {
            kind: o.kind,
            confidence: Confidence::High,
            evidence: crate::classify::Evidence::Override { line: o.line },
        };
        let asn = Some(asn).filter(|a| *a != 0);
        out.push(Row {
            range: *range,
            record: record_for(asn, org.as_deref(), &verdict, Some(o)),
            path: PathBuf::from("(overrides)"),
            line: o.line,
            text: format!("{}-{}", show(range, range.start), show(range, range.end)),
        });
    }
    out
}

fn record(asn: u32, org: Option<&str>, v: &Verdict, over: Option<&Override>) -> Value {
    record_for(Some(asn), org, v, over)
}

fn record_for(asn: Option<u32>, org: Option<&str>, v: &Verdict, over: Option<&Override>) -> Value {
    let mut pairs = Vec::with_capacity(6);
    if let Some(asn) = asn {
        pairs.push(("autonomous_system_number".to_owned(), Value::U32(asn)));
    }
    if let Some(org) = org {
        pairs.push((
            "autonomous_system_organization".into(),
            Value::String(org.to_owned()),
        ));
    }
    pairs.push(("network_kind".into(), Value::String(v.kind.as_str().into())));
    // Absent reads as low (as in files built before the field existed), so only high is
    // written: most records are low, and every byte is read on each lookup's decode.
    if v.confidence == Confidence::High {
        pairs.push((
            "network_kind_confidence".into(),
            Value::String(v.confidence.as_str().into()),
        ));
    }
    if let Some(o) = over {
        if let Some(name) = &o.name {
            pairs.push(("name".into(), Value::String(name.clone())));
        }
        if let Some(domain) = &o.domain {
            pairs.push(("domain".into(), Value::String(domain.clone())));
        }
    }
    Value::Map(pairs)
}

/// `range` without the addresses of `cut` (same family): none, one or two pieces.
fn subtract(range: Range, cut: &Range) -> Vec<Range> {
    if cut.end < range.start || cut.start > range.end {
        return vec![range];
    }
    let mut out = Vec::with_capacity(2);
    if cut.start > range.start {
        out.push(Range {
            end: cut.start - 1,
            ..range
        });
    }
    if cut.end < range.end {
        out.push(Range {
            start: cut.end + 1,
            ..range
        });
    }
    out
}

fn show(range: &Range, n: u128) -> String {
    if range.v6 {
        std::net::Ipv6Addr::from(n).to_string()
    } else {
        std::net::Ipv4Addr::from(u32::try_from(n).unwrap_or(u32::MAX)).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(csv: &str) -> String {
        match read(Path::new("a.csv"), csv.as_bytes()) {
            Ok(rows) => {
                let rows = records(rows, &Classifier::default());
                let mut b = Builder::new(BuildOptions::new("t", "t"));
                match super::super::insert_rows(&mut b, rows, super::super::Overlaps::KeepFirst) {
                    Ok(()) => "ok".into(),
                    Err(e) => e.to_string(),
                }
            }
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn overlaps_keep_the_first_row() {
        let csv =
            "1.0.0.0,1.0.0.255,1,First\n1.0.0.128,1.0.1.255,2,Second\n1.0.0.5,1.0.0.6,3,Third\n";
        let rows = read(Path::new("a.csv"), csv.as_bytes()).unwrap_or_default();
        let rows = records(rows, &Classifier::default());
        let mut b = Builder::new(BuildOptions::new("Mikomi-ASN", "t"));
        assert!(super::super::insert_rows(&mut b, rows, super::super::Overlaps::KeepFirst).is_ok());
        assert_eq!(b.summary.clipped, 2);
        let bytes = b.to_bytes().unwrap_or_default();
        let reader = maxminddb::Reader::from_source(bytes);
        let Ok(reader) = reader else {
            panic!("unreadable: {reader:?}")
        };
        let asn_of = |ip: &str| -> Option<u32> {
            let ip = ip.parse().ok()?;
            reader
                .lookup(ip)
                .ok()?
                .decode_path(&[maxminddb::PathElement::Key("autonomous_system_number")])
                .ok()?
        };
        assert_eq!(asn_of("1.0.0.6"), Some(1));
        assert_eq!(asn_of("1.0.0.200"), Some(1));
        assert_eq!(asn_of("1.0.1.0"), Some(2));
        assert_eq!(asn_of("1.0.2.0"), None);
    }

    #[test]
    fn rows_are_checked_with_line_numbers() {
        let cases = [
            ("1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n", "ok"),
            ("1.0.0.0,1.0.0.255,13335\n", "ok"),
            (
                "1.0.0.0,1.0.0.255\n",
                "a.csv:1: expected start,end,asn,organisation; got 2 fields",
            ),
            (
                "1.0.0.0,1.0.0.255,1,A\n1.0.0.9,1.0.1.0,2,B\n1.0.0.5,1.0.0.6,2,B\n",
                "ok",
            ),
            ("1.0.0.0,1.0.0.255,x,A\n", "a.csv:1: bad asn \"x\""),
            (
                "1.0.0.0,0.0.0.255,1,A\n",
                "a.csv:1: reversed range: start 1.0.0.0 is after end 0.0.0.255",
            ),
            (
                "1.0.0.0,1.0.0.256,1,A\n",
                "a.csv:1: bad end address \"1.0.0.256\"",
            ),
            ("2001::,2001::ffff,1,A\n1.0.0.0,1.0.0.255,1,A\n", "ok"),
        ];
        for (csv, want) in cases {
            assert_eq!(error_of(csv), want, "{csv}");
        }
    }
}
