//! Typed lookup + decode on the real ASN database, against a bare `maxminddb` lookup decoded
//! to an untyped value, in the same run.
//!
//! `cargo bench -p mikomi-benches --bench ipdb_lookup`

#![allow(clippy::unwrap_used)]

#[path = "ipdb_common/mod.rs"]
mod common;

use std::hint::black_box;
use std::net::IpAddr;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipdb::{LayerSpec, Resolver, SharedResolver};

const INPUTS: usize = 65_536;
/// Distinct addresses behind the repeating workload.
const VISITORS: usize = 8_192;

struct Fixture {
    _dir: tempfile::TempDir,
    resolver: Resolver,
    reader: maxminddb::Reader<Vec<u8>>,
    shared: SharedResolver,
    ips: Vec<IpAddr>,
    repeating: Vec<IpAddr>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (path, summary) = common::build_full_asn(dir.path());
    eprintln!(
        "database: {} networks, {} bytes",
        summary.networks, summary.file_size
    );
    let resolver = Resolver::open(&[LayerSpec::new("asn", &path)]).unwrap();
    let reader = maxminddb::Reader::open_readfile(&path).unwrap();
    let specs = vec![LayerSpec::new("asn", &path)];
    let shared = SharedResolver::new(Resolver::open(&specs).unwrap(), specs);
    let ips = common::hit_addresses(INPUTS);
    let repeating = common::repeating_addresses(INPUTS, VISITORS);
    Fixture {
        _dir: dir,
        resolver,
        reader,
        shared,
        ips,
        repeating,
    }
}

fn typed(f: &Fixture, ip: IpAddr) -> Option<ipdb::Company> {
    f.resolver.lookup(ip)
}

fn bare_untyped(f: &Fixture, ip: IpAddr) -> Option<serde_json::Value> {
    f.reader
        .lookup(ip)
        .ok()?
        .decode::<serde_json::Value>()
        .ok()?
}

fn bare_borrowed(f: &Fixture, ip: IpAddr) -> Option<u32> {
    let r = f.reader.lookup(ip).ok()?;
    r.decode::<maxminddb::geoip2::Asn<'_>>()
        .ok()??
        .autonomous_system_number
}

/// The tree walk alone: where the record is, nothing decoded.
fn bare_walk(f: &Fixture, ip: IpAddr) -> Option<usize> {
    f.reader.lookup(ip).ok()?.offset()
}

/// One pass over `ips`, in nanoseconds per lookup.
fn per_lookup<T>(f: &Fixture, ips: &[IpAddr], op: impl Fn(&Fixture, IpAddr) -> Option<T>) -> f64 {
    let start = Instant::now();
    for ip in ips {
        black_box(op(f, black_box(*ip)));
    }
    start.elapsed().as_nanos() as f64 / ips.len() as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn lookups(c: &mut Criterion) {
    let f = fixture();
    // Every input must hit, or the figures would mix in cheap misses.
    assert!(f.ips.iter().all(|ip| typed(&f, *ip).is_some()));

    let mut group = c.benchmark_group("ipdb_lookup");
    group.throughput(Throughput::Elements(1));
    let mut cycle = |name: &str, op: &dyn Fn(&Fixture, IpAddr) -> bool| {
        let mut i = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) % INPUTS;
                op(&f, black_box(f.ips[i]))
            })
        });
    };
    cycle("typed_company", &|f, ip| typed(f, ip).is_some());
    cycle("bare_maxminddb_untyped", &|f, ip| {
        bare_untyped(f, ip).is_some()
    });
    cycle("bare_maxminddb_borrowed_asn", &|f, ip| {
        bare_borrowed(f, ip).is_some()
    });
    cycle("bare_maxminddb_tree_walk", &|f, ip| {
        bare_walk(f, ip).is_some()
    });
    group.finish();

    // The edge's path: the shared resolver with its cache, on repeating traffic.
    let mut group = c.benchmark_group("ipdb_lookup_repeating");
    group.throughput(Throughput::Elements(1));
    let mut i = 0;
    group.bench_function("shared_cached", |b| {
        b.iter(|| {
            i = (i + 1) % INPUTS;
            f.shared.lookup(black_box(f.repeating[i])).is_some()
        })
    });
    let mut i = 0;
    group.bench_function("uncached_typed", |b| {
        b.iter(|| {
            i = (i + 1) % INPUTS;
            f.resolver.lookup(black_box(f.repeating[i])).is_some()
        })
    });
    group.finish();

    // The ratio, measured here in one process over the same inputs, interleaved so that
    // frequency changes and neighbours' load hit both sides alike.
    let (mut t, mut u, mut b, mut cached) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..15 {
        t.push(per_lookup(&f, &f.ips, typed));
        u.push(per_lookup(&f, &f.ips, bare_untyped));
        b.push(per_lookup(&f, &f.ips, bare_borrowed));
        cached.push(per_lookup(&f, &f.repeating, |f, ip| f.shared.lookup(ip)));
    }
    let (t, u, b, cached) = (median(t), median(u), median(b), median(cached));
    println!(
        "ipdb_lookup medians over {INPUTS} hit addresses: typed {t:.0} ns, bare untyped {u:.0} ns \
         (typed/untyped {:.2}), bare borrowed ASN struct {b:.0} ns (typed/borrowed {:.2}); \
         shared resolver with cache on Zipf traffic over {VISITORS} addresses {cached:.0} ns",
        t / u,
        t / b
    );
}

criterion_group!(benches, lookups);
criterion_main!(benches);
