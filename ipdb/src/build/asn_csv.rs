//! The ip-location-db ASN CSV format → ASN database.
//!
//! Rows are `start,end,asn,organisation` with inclusive ranges and no header; files may be
//! gzip-compressed (`.gz`). Records use the GeoLite2-ASN layout
//! (`autonomous_system_number`, `autonomous_system_organization`) plus `network_kind`, the
//! classifier's verdict computed once here so lookups do not pay for it.
//!
//! The real data has the odd overlapping pair (one in the IPv4 file at the time of writing);
//! the row that starts first keeps the shared addresses and the summary counts the clipping.

use std::collections::HashMap;
use std::io::Read;
use std::net::IpAddr;
use std::path::Path;

use super::{ASN_DATABASE_TYPE, BuildOptions, BuildSummary, Builder, Range, Row, Value};
use crate::{Error, classify};

/// Builds an ASN database at `output` from ip-location-db ASN CSV files (plain or `.gz`).
pub fn build_asn_csv(inputs: &[&Path], output: &Path) -> Result<BuildSummary, Error> {
    let mut builder = Builder::new(BuildOptions::new(
        ASN_DATABASE_TYPE,
        "Mikomi ASN database built from ip-location-db ASN data (RouteViews and DB-IP, CC BY 4.0)",
    ));
    let mut rows = Vec::new();
    for path in inputs {
        rows.extend(read(path, open(path)?)?);
    }
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

/// Parses every row of one ASN CSV source.
pub(crate) fn read(path: &Path, input: impl Read) -> Result<Vec<Row>, Error> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    // Each AS appears on several rows; classify each (asn, name) once.
    let mut kinds: HashMap<(u32, String), &'static str> = HashMap::new();
    loop {
        let more = reader
            .read_record(&mut record)
            .map_err(|e| Error::row(path, e.position().map_or(0, |p| p.line()), e.to_string()))?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| p.line());
        let bad = |message: String| Error::row(path, line, message);
        let (Some(start), Some(end), Some(asn), org) =
            (record.get(0), record.get(1), record.get(2), record.get(3))
        else {
            return Err(bad(format!(
                "expected start,end,asn,organisation; got {} fields",
                record.len()
            )));
        };
        let start: IpAddr = start
            .trim()
            .parse()
            .map_err(|_| bad(format!("bad start address {start:?}")))?;
        let end: IpAddr = end
            .trim()
            .parse()
            .map_err(|_| bad(format!("bad end address {end:?}")))?;
        let range = Range::new(start, end).map_err(bad)?;
        let asn: u32 = asn
            .trim()
            .parse()
            .map_err(|_| bad(format!("bad asn {asn:?}")))?;
        let org = org.map(str::trim).filter(|o| !o.is_empty());
        let mut pairs = vec![("autonomous_system_number".to_owned(), Value::U32(asn))];
        if let Some(org) = org {
            pairs.push((
                "autonomous_system_organization".into(),
                Value::String(org.to_owned()),
            ));
        }
        let key = (asn, org.unwrap_or("").to_owned());
        let kind = match kinds.get(&key) {
            Some(kind) => *kind,
            None => {
                let kind = classify::classify(Some(asn), &key.1).as_str();
                kinds.insert(key, kind);
                kind
            }
        };
        pairs.push(("network_kind".into(), Value::String(kind.to_owned())));
        rows.push(Row {
            range,
            record: Value::Map(pairs),
            path: path.to_owned(),
            line,
            text: format!("{start}-{end}"),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(csv: &str) -> String {
        match read(Path::new("a.csv"), csv.as_bytes()) {
            Ok(rows) => {
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
