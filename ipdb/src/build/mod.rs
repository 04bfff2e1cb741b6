//! Compiles networks and records into a MaxMind DB file.
//!
//! The shape follows the usual writer API: options → `insert(network, record)` → `write`.
//! Every file is read back through `maxminddb::Reader` and fully verified before it is
//! written, and it is written to a temporary name and renamed, so a server reloading the path
//! never sees a half-written or invalid database.

mod asn_csv;
mod company_csv;
mod encode;
mod ranges;
mod tree;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ipnet::IpNet;
use serde::Serialize;

pub(crate) use asn_csv::open as open_source;
pub use asn_csv::{build_asn_csv, build_asn_csv_with};
pub use company_csv::build_company_csv;
pub use encode::Value;
pub use ranges::Range;

use crate::Error;
use encode::DataWriter;
use tree::Tree;

/// `database_type` of files built from company CSV.
pub const COMPANY_DATABASE_TYPE: &str = "Mikomi-Company";
/// `database_type` of files built from ASN CSV (the GeoLite2-ASN record layout).
pub const ASN_DATABASE_TYPE: &str = "Mikomi-ASN";

/// What to write into the metadata.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// `database_type`; the resolver detects the schema from it.
    pub database_type: String,
    /// English description.
    pub description: String,
    /// Seconds since the epoch; `None` takes the current time.
    pub build_epoch: Option<u64>,
}

impl BuildOptions {
    /// Options for a database type with a description.
    pub fn new(database_type: &str, description: &str) -> Self {
        BuildOptions {
            database_type: database_type.to_owned(),
            description: description.to_owned(),
            build_epoch: None,
        }
    }
}

/// What a build produced, printed by `mikomi-ipdb build`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BuildSummary {
    /// Source rows read.
    pub rows: u64,
    /// CIDR networks inserted.
    pub networks: u64,
    /// Of which IPv4.
    pub networks_v4: u64,
    /// Rows clipped or dropped because an earlier row already covered their addresses.
    pub clipped: u64,
    /// Distinct records in the data section.
    pub records: u64,
    /// Nodes in the search tree.
    pub nodes: u64,
    /// Record size in bits.
    pub record_size: u16,
    /// Size of the file in bytes.
    pub file_size: u64,
    /// Wall time, reading and verifying included.
    #[serde(serialize_with = "as_secs")]
    pub elapsed: Duration,
}

fn as_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// An in-memory database under construction.
pub struct Builder {
    options: BuildOptions,
    tree: Tree,
    data: DataWriter,
    summary: BuildSummary,
    started: Instant,
}

impl Builder {
    /// An empty database.
    pub fn new(options: BuildOptions) -> Self {
        Builder {
            options,
            tree: Tree::default(),
            data: DataWriter::new(),
            summary: BuildSummary::default(),
            started: Instant::now(),
        }
    }

    /// Maps `network` to `record`. Networks must not overlap; equal records share storage.
    pub fn insert(&mut self, network: IpNet, record: &Value) -> Result<(), Error> {
        let network = network.trunc();
        let offset = self.data.insert_record(record).map_err(Error::TooLarge)?;
        self.tree
            .insert(&network, offset)
            .map_err(|message| Error::InvalidNetwork {
                network: network.to_string(),
                message,
            })?;
        self.summary.networks += 1;
        if matches!(network, IpNet::V4(_)) {
            self.summary.networks_v4 += 1;
        }
        Ok(())
    }

    /// Counts source rows for the summary.
    pub fn add_rows(&mut self, rows: u64) {
        self.summary.rows += rows;
    }

    /// The finished file's bytes, verified by the reader.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let data_len = self.data.len();
        let (tree, record_size) = self.tree.serialise(data_len).map_err(Error::TooLarge)?;
        let mut meta = DataWriter::plain();
        meta.write(&self.metadata(record_size)?)
            .map_err(Error::TooLarge)?;
        let mut out = Vec::with_capacity(tree.len() + 16 + data_len + 14 + meta.len());
        out.extend_from_slice(&tree);
        out.extend_from_slice(&[0u8; 16]);
        out.extend_from_slice(self.data_bytes());
        out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
        out.extend_from_slice(&meta.into_bytes());
        let check = |e: maxminddb::MaxMindDbError| Error::Verify {
            path: PathBuf::from("(built in memory)"),
            message: e.to_string(),
        };
        let reader = maxminddb::Reader::from_source(&out[..]).map_err(check)?;
        reader.verify().map_err(check)?;
        Ok(out)
    }

    /// Writes the file atomically (temporary name, then rename) and returns the summary.
    pub fn write(self, path: &Path) -> Result<BuildSummary, Error> {
        let bytes = self.to_bytes()?;
        let mut summary = self.summary.clone();
        summary.nodes = self.tree.node_count() as u64;
        summary.records = self.data.record_count() as u64;
        summary.record_size = record_size_of(&bytes);
        summary.file_size = bytes.len() as u64;
        write_atomically(path, &bytes)?;
        summary.elapsed = self.started.elapsed();
        Ok(summary)
    }

    fn data_bytes(&self) -> &[u8] {
        self.data.bytes()
    }

    fn metadata(&self, record_size: u16) -> Result<Value, Error> {
        let node_count = u32::try_from(self.tree.node_count())
            .map_err(|_| Error::TooLarge("search tree over 2^32 nodes".into()))?;
        let epoch = self.options.build_epoch.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
        let s = |v: &str| Value::String(v.to_owned());
        Ok(Value::Map(vec![
            ("binary_format_major_version".into(), Value::U16(2)),
            ("binary_format_minor_version".into(), Value::U16(0)),
            ("build_epoch".into(), Value::U64(epoch)),
            ("database_type".into(), s(&self.options.database_type)),
            (
                "description".into(),
                Value::Map(vec![("en".into(), s(&self.options.description))]),
            ),
            ("ip_version".into(), Value::U16(6)),
            ("languages".into(), Value::Array(vec![s("en")])),
            ("node_count".into(), Value::U32(node_count)),
            ("record_size".into(), Value::U16(record_size)),
        ]))
    }
}

fn record_size_of(bytes: &[u8]) -> u16 {
    maxminddb::Reader::from_source(bytes).map_or(0, |r| r.metadata().record_size)
}

/// Writes to `PATH.tmp-PID` beside the target, syncs, and renames over the target.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// A parsed source row: its range, its record and where it came from.
pub(crate) struct Row {
    pub range: Range,
    pub record: Value,
    pub path: PathBuf,
    pub line: u64,
    pub text: String,
}

/// What to do when two source rows cover the same addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overlaps {
    /// Refuse the build, naming both lines (our own company files: an overlap is a mistake).
    Reject,
    /// Keep the row that starts first and clip the other (third-party data, where one
    /// upstream glitch should not stop the build); the summary counts the clipped rows.
    KeepFirst,
}

/// Sorts rows, handles overlaps by `policy` and inserts their minimal CIDR covers.
pub(crate) fn insert_rows(
    builder: &mut Builder,
    mut rows: Vec<Row>,
    policy: Overlaps,
) -> Result<(), Error> {
    builder.add_rows(rows.len() as u64);
    rows.sort_by_key(|r| r.range);
    let mut covered: Option<(bool, u128, usize)> = None; // family, end so far, row index
    for i in 0..rows.len() {
        let range = rows[i].range;
        if let Some((v6, end, j)) =
            covered.filter(|(v6, end, _)| *v6 == range.v6 && range.start <= *end)
        {
            if policy == Overlaps::Reject {
                let (a, b) = (&rows[j], &rows[i]);
                let (first, later) = if a.path == b.path && b.line < a.line {
                    (b, a)
                } else {
                    (a, b)
                };
                return Err(Error::Overlap {
                    path: later.path.clone(),
                    line: later.line,
                    network: later.text.clone(),
                    other_line: first.line,
                });
            }
            builder.summary.clipped += 1;
            if range.end <= end {
                rows[i].range.end = 0;
                rows[i].range.start = 1; // marks the row as fully covered: skipped below
                continue;
            }
            rows[i].range.start = end + 1;
            covered = Some((v6, range.end, i));
            continue;
        }
        covered = Some((range.v6, range.end, i));
    }
    for row in rows.iter().filter(|r| r.range.start <= r.range.end) {
        for net in row.range.to_cidrs() {
            builder.insert(net, &row.record).map_err(|e| match e {
                Error::InvalidNetwork { message, .. } => Error::row(&row.path, row.line, message),
                other => other,
            })?;
        }
    }
    Ok(())
}
