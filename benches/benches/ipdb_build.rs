//! Builds the full real ASN data (IPv4 + IPv6, ~515k ranges) into one .mmdb: time and size.
//!
//! `cargo bench -p mikomi-benches --bench ipdb_build`

#![allow(clippy::unwrap_used)]

#[path = "ipdb_common/mod.rs"]
mod common;

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

fn build(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (_, summary) = common::build_full_asn(dir.path());
    println!(
        "full ASN build: {} rows → {} networks ({} IPv4), {} records, {} nodes, {}-bit records, \
         {} bytes ({:.1} MiB)",
        summary.rows,
        summary.networks,
        summary.networks_v4,
        summary.records,
        summary.nodes,
        summary.record_size,
        summary.file_size,
        summary.file_size as f64 / (1024.0 * 1024.0)
    );
    let mut group = c.benchmark_group("ipdb_build");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(60));
    group.bench_function("full_asn_gz_to_verified_mmdb", |b| {
        b.iter(|| common::build_full_asn(dir.path()))
    });
    group.finish();
}

criterion_group!(benches, build);
criterion_main!(benches);
