//! The demo's company CSV builds, and answers the addresses the demo uses.

use std::path::Path;

use ipdb::{LayerSpec, NetworkKind, Resolver, SizeBand};

#[test]
fn demo_csv_covers_the_demo_ranges_with_every_size_band() {
    let csv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo/companies.csv");
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("companies.mmdb");
    ipdb::build::build_company_csv(&[csv.as_path()], &db).expect("build");
    let resolver = Resolver::open(&[LayerSpec::new("demo", &db)]).expect("open");

    // The demo visitor browses from 127.0.0.1 and must meet a business.
    let visitor = resolver
        .lookup("127.0.0.1".parse().expect("ip"))
        .expect("127.0.0.1");
    assert!(visitor.network_kind.is_business(), "{visitor:?}");
    assert!(visitor.name.is_some());

    let probes = [
        "127.0.0.1",
        "127.0.1.1",
        "127.0.2.1",
        "127.0.3.1",
        "127.0.4.1",
        "127.0.5.1",
        "127.0.6.1",
        "127.0.9.1",
        "127.1.0.1",
        "127.2.0.1",
        "127.255.255.254",
        "192.0.2.1",
        "192.0.2.200",
        "198.51.100.7",
        "203.0.113.9",
        "203.0.113.200",
        "2001:db8::1",
        "2001:db8:ffff::1",
    ];
    let mut bands = std::collections::HashSet::new();
    let mut kinds = std::collections::HashSet::new();
    let mut names = std::collections::HashSet::new();
    for ip in probes {
        let c = resolver
            .lookup(ip.parse().expect("ip"))
            .unwrap_or_else(|| panic!("{ip} not covered"));
        bands.insert(c.size_band);
        kinds.insert(c.network_kind);
        names.extend(c.name);
    }
    for band in [
        SizeBand::Small,
        SizeBand::Mid,
        SizeBand::Enterprise,
        SizeBand::Unknown,
    ] {
        assert!(bands.contains(&band), "no {band:?} company");
    }
    for kind in [
        NetworkKind::Business,
        NetworkKind::Isp,
        NetworkKind::Hosting,
        NetworkKind::Mobile,
    ] {
        assert!(kinds.contains(&kind), "no {kind:?} network");
    }
    assert!(names.len() >= 8, "only {} companies", names.len());
    assert!(names.iter().any(|n| !n.is_ascii()) && names.iter().any(|n| n.is_ascii()));
}
