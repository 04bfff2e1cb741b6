//! Shared by the ipdb benchmarks: the real ASN data, and deterministic inputs drawn from it.

// Each benchmark uses a different part of this module.
#![allow(dead_code)]

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

/// The two real ASN source files (IPv4, IPv6) the repository carries.
pub fn asn_sources() -> [PathBuf; 2] {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ipdb/testdata/asn");
    [dir.join("asn-ipv4.csv.gz"), dir.join("asn-ipv6.csv.gz")]
}

/// Every row's inclusive range as integers, with its family.
fn ranges(path: &Path, v6: bool) -> Vec<(u128, u128, bool)> {
    let mut text = String::new();
    let file = std::fs::File::open(path).expect("ASN source");
    flate2::read::MultiGzDecoder::new(file)
        .read_to_string(&mut text)
        .expect("gunzip");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| {
            let r = r.expect("row");
            let n = |s: &str| match s.parse::<IpAddr>().expect("addr") {
                IpAddr::V4(a) => u128::from(u32::from(a)),
                IpAddr::V6(a) => u128::from(a),
            };
            (n(&r[0]), n(&r[1]), v6)
        })
        .collect()
}

/// `n` addresses inside random rows (fixed seed): 80 % IPv4, 20 % IPv6, like the traffic
/// of a Japanese B2B site today. Every one is a hit.
pub fn hit_addresses(n: usize) -> Vec<IpAddr> {
    let [v4, v6] = asn_sources();
    let (v4, v6) = (ranges(&v4, false), ranges(&v6, true));
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|_| {
            let pool = if next() % 5 == 0 { &v6 } else { &v4 };
            let (start, end, is_v6) = pool[(next() % pool.len() as u64) as usize];
            let span = end - start;
            let off = if span == u128::MAX {
                0
            } else {
                u128::from(next()) % (span + 1)
            };
            let a = start + off;
            if is_v6 {
                IpAddr::V6(Ipv6Addr::from(a))
            } else {
                IpAddr::V4(Ipv4Addr::from(a as u32))
            }
        })
        .collect()
}

/// Builds the full ASN database into `dir`; returns its path and the build summary.
pub fn build_full_asn(dir: &Path) -> (PathBuf, ipdb::build::BuildSummary) {
    let out = dir.join("asn.mmdb");
    let [v4, v6] = asn_sources();
    let summary = ipdb::build::build_asn_csv(&[v4.as_path(), v6.as_path()], &out).expect("build");
    (out, summary)
}

/// `n` lookups over `distinct` addresses with Zipf-distributed popularity (s = 1), fixed seed:
/// a few offices and returning visitors make most of the traffic, as on a B2B site.
pub fn repeating_addresses(n: usize, distinct: usize) -> Vec<IpAddr> {
    let pool = hit_addresses(distinct);
    let weights: Vec<f64> = (1..=distinct).map(|rank| 1.0 / rank as f64).collect();
    let total: f64 = weights.iter().sum();
    let mut cdf = Vec::with_capacity(distinct);
    let mut acc = 0.0;
    for w in &weights {
        acc += w / total;
        cdf.push(acc);
    }
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let u = (x >> 11) as f64 / (1u64 << 53) as f64;
            let rank = cdf.partition_point(|c| *c < u).min(distinct - 1);
            pool[rank]
        })
        .collect()
}
