//! What is in a database file: metadata, counts, and a record-by-record schema check.
//!
//! The reader's own `verify` proves the file is well-formed; it cannot prove the records fit
//! the schema we will read them with (a City file configured as a company layer verifies fine
//! and then answers nothing). `inspect` decodes every distinct record with the layer's schema.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::Serialize;

use crate::{Error, Layer, LayerSpec, Schema};

/// The result of inspecting one file.
#[derive(Clone, Debug, Serialize)]
pub struct Inspection {
    /// `database_type` metadata.
    pub database_type: String,
    /// Schema used to read the records.
    pub schema: Schema,
    /// English description, if any.
    pub description: Option<String>,
    /// `build_epoch` metadata (seconds since the epoch).
    pub build_epoch: u64,
    /// `ip_version` metadata.
    pub ip_version: u16,
    /// `record_size` metadata.
    pub record_size: u16,
    /// `node_count` metadata.
    pub node_count: u32,
    /// Networks with data.
    pub networks: u64,
    /// Of which IPv4.
    pub networks_v4: u64,
    /// Distinct records.
    pub records: u64,
    /// Records per network kind, as the resolver would classify them.
    pub kinds: BTreeMap<String, u64>,
    /// Whether lookups read a sorted copy of the networks in memory (`false`: they walk the
    /// file's tree, as for a file too large to copy).
    pub flat_lookups: bool,
}

/// Opens, verifies and walks every network of `path`.
pub fn inspect(path: &Path, schema: Option<Schema>) -> Result<Inspection, Error> {
    let spec = LayerSpec {
        name: "inspect".into(),
        path: path.to_owned(),
        schema,
    };
    let layer = Layer::open(&spec)?;
    let reader = layer.reader();
    let meta = reader.metadata();
    let fail = |message: String| Error::Verify {
        path: path.to_owned(),
        message,
    };
    let mut out = Inspection {
        database_type: meta.database_type.clone(),
        schema: layer.schema(),
        description: meta.description.get("en").cloned(),
        build_epoch: meta.build_epoch,
        ip_version: meta.ip_version,
        record_size: meta.record_size,
        node_count: meta.node_count,
        networks: 0,
        networks_v4: 0,
        records: 0,
        kinds: BTreeMap::new(),
        flat_lookups: layer.is_flat(),
    };
    let mut seen = HashSet::new();
    let iter = reader
        .networks(Default::default())
        .map_err(|e| fail(e.to_string()))?;
    for item in iter {
        let found = item.map_err(|e| fail(e.to_string()))?;
        let net = found.network().map_err(|e| fail(e.to_string()))?;
        out.networks += 1;
        if net.is_ipv4() {
            out.networks_v4 += 1;
        }
        let Some(offset) = found.offset() else {
            continue;
        };
        if !seen.insert(offset) {
            continue;
        }
        out.records += 1;
        let kind = layer
            .decode_partial(&found)
            .map_err(|e| fail(format!("record for {net}: {e}")))?
            .and_then(|p| p.kind)
            .map_or("none", |k| k.as_str());
        *out.kinds.entry(kind.to_owned()).or_default() += 1;
    }
    Ok(out)
}
