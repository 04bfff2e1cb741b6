//! Layered lookups over opened databases.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use maxminddb::Reader;
use serde::{Deserialize, Serialize};

use crate::classify::Confidence;
use crate::flat::{self, Flat, Hit};
use crate::schema::{AsnRecord, CompanyRecord, DomainRecord, EnterpriseRecord, IspRecord, Partial};
use crate::{Company, Error, NetworkKind, Schema, SizeBand};

/// One database in the resolver's order, as configured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerSpec {
    /// Name reported as the answer's `source`.
    pub name: String,
    /// The .mmdb file.
    pub path: PathBuf,
    /// The record layout; `None` detects it from the `database_type` metadata.
    pub schema: Option<Schema>,
}

impl LayerSpec {
    /// A layer whose schema is detected from the file.
    pub fn new(name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        LayerSpec {
            name: name.into(),
            path: path.into(),
            schema: None,
        }
    }
}

/// An opened, verified database.
pub struct Layer {
    name: String,
    path: PathBuf,
    schema: Schema,
    reader: Reader<Vec<u8>>,
    /// Networks with data, counted once at open: operators check it after an update.
    networks: u64,
    /// The networks copied for lookups that miss the cache less; `None` keeps the tree walk.
    flat: Option<Flat>,
}

impl std::fmt::Debug for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Layer")
            .field("name", &self.name)
            .field("path", &self.path)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl Layer {
    /// Reads, opens and fully verifies a file, then settles its schema.
    pub fn open(spec: &LayerSpec) -> Result<Layer, Error> {
        let bytes = std::fs::read(&spec.path).map_err(|e| Error::io(&spec.path, e))?;
        Layer::from_bytes(spec, bytes)
    }

    /// As [`Layer::open`], over bytes already in memory (`spec.path` only names them).
    pub fn from_bytes(spec: &LayerSpec, bytes: Vec<u8>) -> Result<Layer, Error> {
        let path = spec.path.clone();
        let reader = Reader::from_source(bytes).map_err(|source| Error::Open {
            path: path.clone(),
            source,
        })?;
        reader.verify().map_err(|e| Error::Verify {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let schema = match spec.schema {
            Some(s) => s,
            None => Schema::detect(&reader.metadata().database_type).ok_or_else(|| {
                Error::UnknownSchema {
                    path: path.clone(),
                    database_type: reader.metadata().database_type.clone(),
                }
            })?,
        };
        let (networks, flat) = index(&reader, schema);
        Ok(Layer {
            name: spec.name.clone(),
            path,
            schema,
            reader,
            networks,
            flat,
        })
    }

    /// The layer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The schema in use.
    pub fn schema(&self) -> Schema {
        self.schema
    }

    /// The file the layer was read from.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// When the file was built (`build_epoch`, seconds since the epoch).
    pub fn build_epoch(&self) -> u64 {
        self.reader.metadata().build_epoch
    }

    /// Networks with data in the file.
    pub fn networks(&self) -> u64 {
        self.networks
    }

    /// Whether lookups use the flat copy of the networks rather than the file's tree.
    pub fn is_flat(&self) -> bool {
        self.flat.is_some()
    }

    /// The underlying reader, for inspection tools.
    pub fn reader(&self) -> &Reader<Vec<u8>> {
        &self.reader
    }

    /// What this layer says about `ip`: `Ok(None)` when the address is not in it.
    fn lookup(
        &self,
        ip: IpAddr,
    ) -> Result<Option<(Partial<'_>, IpNet)>, maxminddb::MaxMindDbError> {
        match self.flat.as_ref().map(|f| f.lookup(ip)) {
            Some(Hit::Found(partial, net)) => return Ok(Some((partial, net))),
            Some(Hit::Absent) => return Ok(None),
            Some(Hit::AskTheTree) | None => {}
        }
        self.lookup_in_tree(ip)
    }

    /// [`Layer::lookup`] through the file's search tree.
    pub(crate) fn lookup_in_tree(
        &self,
        ip: IpAddr,
    ) -> Result<Option<(Partial<'_>, IpNet)>, maxminddb::MaxMindDbError> {
        let found = self.reader.lookup(ip)?;
        if !found.has_data() {
            return Ok(None);
        }
        let Some(partial) = self.decode_partial(&found)? else {
            return Ok(None);
        };
        let net = found.network()?;
        let net = IpNet::new(net.ip(), net.prefix())
            .map_err(|e| maxminddb::MaxMindDbError::invalid_database(e.to_string()))?;
        Ok(Some((partial, net)))
    }

    /// Decodes a found record with this layer's schema.
    pub(crate) fn decode_partial<'a>(
        &self,
        found: &maxminddb::LookupResult<'a, Vec<u8>>,
    ) -> Result<Option<Partial<'a>>, maxminddb::MaxMindDbError> {
        decode(self.schema, found)
    }
}

/// Decodes a found record with `schema`.
fn decode<'a>(
    schema: Schema,
    found: &maxminddb::LookupResult<'a, Vec<u8>>,
) -> Result<Option<Partial<'a>>, maxminddb::MaxMindDbError> {
    Ok(match schema {
        Schema::Company => found.decode::<CompanyRecord<'_>>()?.map(Into::into),
        Schema::Asn => found.decode::<AsnRecord<'_>>()?.map(Into::into),
        Schema::Isp => found.decode::<IspRecord<'_>>()?.map(Into::into),
        Schema::Domain => found.decode::<DomainRecord<'_>>()?.map(Into::into),
        Schema::Enterprise => found.decode::<EnterpriseRecord<'_>>()?.map(Into::into),
    })
}

/// Counts a file's networks with data and, in the same pass, copies them with their records
/// decoded (see [`crate::flat`]). A record that does not decode keeps the tree walk, so that a
/// lookup meeting it reports the damage as before.
fn index(reader: &Reader<Vec<u8>>, schema: Schema) -> (u64, Option<Flat>) {
    let Ok(networks) = reader.networks(Default::default()) else {
        return (0, None);
    };
    let mut count = 0;
    let mut copy = flat::Builder::default();
    for found in networks {
        let Ok(found) = found else {
            copy.refuse();
            continue;
        };
        let Some(offset) = found.offset() else {
            continue;
        };
        count += 1;
        let record = match copy.wants_record(offset).then(|| decode(schema, &found)) {
            Some(Ok(Some(partial))) => Some(partial),
            Some(_) => {
                copy.refuse();
                continue;
            }
            None => None,
        };
        match found
            .network()
            .ok()
            .and_then(|n| IpNet::new(n.ip(), n.prefix()).ok())
        {
            Some(net) => copy.add(net, offset, record),
            None => copy.refuse(),
        }
    }
    (count, copy.finish())
}

/// An immutable, ordered set of opened layers.
#[derive(Debug)]
pub struct Resolver {
    layers: Vec<Layer>,
}

impl Resolver {
    /// Opens and verifies every layer; fails on the first that does not open.
    pub fn open(layers: &[LayerSpec]) -> Result<Resolver, Error> {
        if layers.is_empty() {
            return Err(Error::NoLayers);
        }
        let layers = layers.iter().map(Layer::open).collect::<Result<_, _>>()?;
        Ok(Resolver { layers })
    }

    /// A resolver over layers already opened.
    pub fn from_layers(layers: Vec<Layer>) -> Result<Resolver, Error> {
        if layers.is_empty() {
            return Err(Error::NoLayers);
        }
        Ok(Resolver { layers })
    }

    /// The layers in lookup order.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// Who is behind `ip`, or `None` when no layer knows (or a damaged record could not be
    /// read: a lookup on the request path must answer, so such a layer is skipped).
    pub fn lookup(&self, ip: IpAddr) -> Option<Company> {
        self.merge(ip, |_, _| {}).map(|(c, _)| c)
    }

    /// As [`Resolver::lookup`], with how far the answer's `network_kind` can be trusted: high
    /// for an operator's override, the reviewed list of known networks, a word naming the kind,
    /// our company rows and MaxMind's own judgement; low for weak evidence, no evidence, and
    /// ASN databases built before the confidence was recorded.
    pub fn lookup_with_confidence(&self, ip: IpAddr) -> Option<(Company, Confidence)> {
        self.merge(ip, |_, _| {})
    }

    /// As [`Resolver::lookup`], but a damaged record is an error naming the file.
    pub fn try_lookup(&self, ip: IpAddr) -> Result<Option<Company>, Error> {
        Ok(self.try_lookup_with_confidence(ip)?.map(|(c, _)| c))
    }

    /// As [`Resolver::lookup_with_confidence`], but a damaged record is an error naming the
    /// file.
    pub fn try_lookup_with_confidence(
        &self,
        ip: IpAddr,
    ) -> Result<Option<(Company, Confidence)>, Error> {
        let mut failure = None;
        let answer = self.merge(ip, |layer, e| {
            failure.get_or_insert_with(|| Error::Verify {
                path: layer.path.clone(),
                message: format!("lookup of {ip}: {e}"),
            });
        });
        match failure {
            Some(e) => Err(e),
            None => Ok(answer),
        }
    }

    /// Asks each layer in turn. The first layer with data answers (its name and network are
    /// the answer's); later layers only fill fields still missing, and are skipped once
    /// nothing is.
    fn merge(
        &self,
        ip: IpAddr,
        mut on_error: impl FnMut(&Layer, maxminddb::MaxMindDbError),
    ) -> Option<(Company, Confidence)> {
        // IPv4-mapped IPv6 (::ffff:a.b.c.d) is how dual-stack sockets report IPv4 clients;
        // the files keep IPv4 under ::/96, so look the plain IPv4 address up.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let mut answer: Option<Company> = None;
        let mut confidence = Confidence::Low;
        for layer in &self.layers {
            let (p, net) = match layer.lookup(ip) {
                Ok(Some(found)) => found,
                Ok(None) => continue,
                Err(e) => {
                    on_error(layer, e);
                    continue;
                }
            };
            match answer.as_mut() {
                None => {
                    answer = Some(start(layer, &p, net));
                    if p.kind.is_some() {
                        confidence = p.confidence;
                    }
                }
                Some(c) => {
                    if c.network_kind == NetworkKind::Unknown && p.kind.is_some() {
                        confidence = p.confidence;
                    }
                    fill(c, &p);
                }
            }
            if answer.as_ref().is_some_and(complete) {
                break;
            }
        }
        answer.map(|mut c| {
            c.size_band = SizeBand::from_employees(c.employees);
            c.network_kind_confidence = confidence;
            (c, confidence)
        })
    }
}

fn own(s: Option<&str>) -> Option<String> {
    s.map(str::to_owned)
}

fn start(layer: &Layer, p: &Partial<'_>, network: IpNet) -> Company {
    Company {
        name: own(p.name),
        domain: own(p.domain),
        industry: own(p.industry),
        employees: p.employees,
        size_band: SizeBand::Unknown,
        country: own(p.country),
        asn: p.asn,
        as_org: own(p.as_org),
        network_kind: p.kind.unwrap_or(NetworkKind::Unknown),
        network_kind_confidence: Confidence::Low,
        source: layer.name.clone(),
        network,
    }
}

fn fill(c: &mut Company, p: &Partial<'_>) {
    fn set(slot: &mut Option<String>, v: Option<&str>) {
        if slot.is_none() {
            *slot = own(v);
        }
    }
    if let (NetworkKind::Unknown, Some(kind)) = (c.network_kind, p.kind) {
        c.network_kind = kind;
    }
    // A later layer's name counts only if the network kind (possibly its own) names the visitor.
    if c.network_kind.names_the_visitor() {
        set(&mut c.name, p.name);
    }
    set(&mut c.domain, p.domain);
    set(&mut c.industry, p.industry);
    set(&mut c.country, p.country);
    set(&mut c.as_org, p.as_org);
    c.employees = c.employees.or(p.employees);
    c.asn = c.asn.or(p.asn);
}

/// Nothing a further layer could add that we would use: for a network that names the visitor,
/// the name and the domain too (accounts are kept by domain, so an ASN layer's business
/// without one must still ask a domain layer behind it).
fn complete(c: &Company) -> bool {
    c.asn.is_some()
        && c.network_kind != NetworkKind::Unknown
        && (!c.network_kind.names_the_visitor() || (c.name.is_some() && c.domain.is_some()))
}

/// The path each layer was opened from, for reload checks.
pub(crate) fn paths(specs: &[LayerSpec]) -> impl Iterator<Item = &Path> {
    specs.iter().map(|s| s.path.as_path())
}

#[cfg(test)]
mod tests {
    use std::io::BufRead;
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    fn testdata() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
    }

    /// xorshift, fixed seed: the same addresses every run.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn v6(&mut self) -> u128 {
            (u128::from(self.next()) << 64) | u128::from(self.next())
        }
    }

    /// The first `n` rows of one of the repository's real ASN files.
    fn asn_rows(name: &str, n: usize, into: &Path) {
        let file = std::fs::File::open(testdata().join("asn").join(name)).expect("open");
        let lines = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(file)).lines();
        let text: String = lines.take(n).map(|l| l.expect("line") + "\n").collect();
        std::fs::write(into, text).expect("write");
    }

    /// Addresses that probe a layer everywhere it could differ: both ends of every network
    /// and the addresses either side, addresses inside, and random addresses of both families
    /// (most of them in no network), including IPv6 ranges a file may alias onto its IPv4 tree.
    fn probes(layer: &Layer, rng: &mut Rng) -> Vec<IpAddr> {
        let mut ips = Vec::new();
        let networks = layer
            .reader()
            .networks(Default::default())
            .expect("networks");
        for found in networks {
            let net = found.expect("network").network().expect("network");
            let net = IpNet::new(net.ip(), net.prefix()).expect("network");
            let (v4, a, b) = match net {
                IpNet::V4(n) => (
                    true,
                    u128::from(u32::from(n.network())),
                    u128::from(u32::from(n.broadcast())),
                ),
                IpNet::V6(n) => (false, u128::from(n.network()), u128::from(n.broadcast())),
            };
            let last = if v4 { u128::from(u32::MAX) } else { u128::MAX };
            let inside = a + rng.v6() % (b - a).saturating_add(1).max(1);
            let after = b.checked_add(1).filter(|x| *x <= last);
            for x in [Some(a), Some(b), Some(inside), a.checked_sub(1), after]
                .into_iter()
                .flatten()
            {
                ips.push(match u32::try_from(x) {
                    Ok(x) if v4 => IpAddr::V4(Ipv4Addr::from(x)),
                    _ => IpAddr::V6(Ipv6Addr::from(x)),
                });
            }
        }
        for _ in 0..2_000 {
            ips.push(IpAddr::V4(Ipv4Addr::from(rng.next() as u32)));
            ips.push(IpAddr::V6(Ipv6Addr::from(rng.v6())));
            // Global unicast, 6to4 and Teredo.
            for top in [0x2000_u128 | (rng.next() as u128 & 0x1fff), 0x2002, 0x2001] {
                let rest = rng.v6() >> 16;
                let rest = if top == 0x2001 { rest >> 16 } else { rest };
                ips.push(IpAddr::V6(Ipv6Addr::from((top << 112) | rest)));
            }
        }
        ips
    }

    /// The flat copy answers every probe exactly as the file's tree does.
    fn agrees_with_the_tree(layer: &Layer) -> usize {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let ips = probes(layer, &mut rng);
        let show = |r: Result<Option<(Partial<'_>, IpNet)>, maxminddb::MaxMindDbError>| {
            r.map_err(|e| e.to_string())
                .map(|o| o.map(|(p, net)| format!("{p:?} {net}")))
        };
        for ip in &ips {
            assert_eq!(
                show(layer.lookup(*ip)),
                show(layer.lookup_in_tree(*ip)),
                "{} at {ip}",
                layer.path().display()
            );
        }
        ips.len()
    }

    #[test]
    fn the_flat_copy_answers_as_the_tree_on_real_asn_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (v4, v6) = (dir.path().join("v4.csv"), dir.path().join("v6.csv"));
        asn_rows("asn-ipv4.csv.gz", 20_000, &v4);
        asn_rows("asn-ipv6.csv.gz", 5_000, &v6);
        let out = dir.path().join("asn.mmdb");
        crate::build::build_asn_csv(&[v4.as_path(), v6.as_path()], &out).expect("build");
        let layer = Layer::open(&LayerSpec::new("asn", &out)).expect("open");
        assert!(layer.is_flat());
        assert_eq!(
            layer.flat.as_ref().map(Flat::networks),
            Some(layer.networks() as usize)
        );
        assert!(agrees_with_the_tree(&layer) > 100_000);
    }

    #[test]
    fn the_flat_copy_answers_as_the_tree_on_maxminds_test_files() {
        let dir = testdata().join("maxmind-test-data/test-data");
        let files = [
            ("GeoLite2-ASN-Test", None),
            ("GeoIP2-ISP-Test", None),
            ("GeoIP2-Enterprise-Test", None),
            ("GeoIP2-Domain-Test", None),
            // Other layouts read through a schema, for their trees: IPv4-only files (IPv6
            // lookups are an error either way), mixed files with their aliases, and a file
            // with no IPv4 subtree.
            ("MaxMind-DB-test-ipv4-24", Some(Schema::Domain)),
            ("MaxMind-DB-test-ipv4-32", Some(Schema::Domain)),
            ("MaxMind-DB-test-ipv6-28", Some(Schema::Domain)),
            ("MaxMind-DB-test-mixed-24", Some(Schema::Domain)),
            ("MaxMind-DB-test-mixed-32", Some(Schema::Domain)),
            ("MaxMind-DB-no-ipv4-search-tree", Some(Schema::Domain)),
        ];
        let mut flat = 0;
        for (stem, schema) in files {
            let spec = LayerSpec {
                schema,
                ..LayerSpec::new(stem, dir.join(format!("{stem}.mmdb")))
            };
            let layer = Layer::open(&spec).expect("open");
            flat += usize::from(layer.is_flat());
            agrees_with_the_tree(&layer);
        }
        assert!(flat >= 8, "only {flat} files were copied");
    }
}
