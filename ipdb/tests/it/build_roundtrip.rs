//! Built files answer what their sources say, read back by the plain `maxminddb` reader and
//! through the resolver's layers.

use std::io::BufRead;
use std::net::IpAddr;

use ipdb::{Confidence, LayerSpec, NetworkKind, Resolver, SizeBand};
use ipnet::IpNet;

use crate::common::{Rng, company_db, test_data};

/// The first `n` rows of a real ASN file, as text, so the test stays fast.
fn head(name: &str, n: usize) -> String {
    let file = std::fs::File::open(test_data().join("asn").join(name)).expect("open");
    let reader = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(file));
    reader
        .lines()
        .take(n)
        .map(|l| l.expect("line") + "\n")
        .collect()
}

fn addr(v4: bool, n: u128) -> IpAddr {
    if v4 {
        IpAddr::from(std::net::Ipv4Addr::from(n as u32))
    } else {
        IpAddr::from(std::net::Ipv6Addr::from(n))
    }
}

#[test]
fn real_asn_rows_resolve_at_both_ends_and_inside() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v4 = dir.path().join("v4.csv");
    let v6 = dir.path().join("v6.csv");
    std::fs::write(&v4, head("asn-ipv4.csv.gz", 20_000)).expect("write");
    std::fs::write(&v6, head("asn-ipv6.csv.gz", 5_000)).expect("write");
    let out = dir.path().join("asn.mmdb");
    let summary = ipdb::build::build_asn_csv(&[v4.as_path(), v6.as_path()], &out).expect("build");
    assert_eq!(summary.rows, 25_000);
    assert!(summary.networks >= summary.rows);

    let reader = maxminddb::Reader::open_readfile(&out).expect("reader");
    reader.verify().expect("verify");
    let resolver = Resolver::open(&[LayerSpec::new("asn", &out)]).expect("open");
    let mut rng = Rng(7);
    let mut checked = 0;
    for (path, is_v4) in [(&v4, true), (&v6, false)] {
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_path(path)
            .expect("csv");
        for row in csv.records() {
            let row = row.expect("row");
            let parse = |i: usize| -> u128 {
                match row[i].parse::<IpAddr>().expect("addr") {
                    IpAddr::V4(a) => u32::from(a).into(),
                    IpAddr::V6(a) => a.into(),
                }
            };
            let (start, end) = (parse(0), parse(1));
            let asn: u32 = row[2].parse().expect("asn");
            let inside = start + (u128::from(rng.next()) % (end - start + 1));
            for n in [start, end, inside] {
                let ip = addr(is_v4, n);
                let got = resolver.lookup(ip).expect("found");
                assert_eq!(got.asn, Some(asn), "{ip}");
                assert_eq!(
                    got.as_org.as_deref(),
                    Some(row[3].trim()).filter(|o| !o.is_empty()),
                    "{ip}"
                );
                assert!(got.network.contains(&ip), "{ip} not in {}", got.network);
                // Unknown networks (no evidence either way) never name a company.
                if got.network_kind == NetworkKind::Unknown {
                    assert_eq!(got.name, None, "{ip}");
                }
                checked += 1;
            }
            // The address just past the range belongs to the next row or to nobody.
            if let Some(next) = end
                .checked_add(1)
                .filter(|n| !is_v4 || *n <= u128::from(u32::MAX))
            {
                let after = resolver.lookup(addr(is_v4, next)).and_then(|c| c.asn);
                if after == Some(asn) {
                    // Only allowed when the next row is adjacent with the same ASN.
                    let net = resolver.lookup(addr(is_v4, next)).map(|c| c.network);
                    assert!(net.is_some_and(|n: IpNet| !n.contains(&addr(is_v4, end))));
                }
            }
        }
    }
    assert_eq!(checked, 75_000);
}

#[test]
fn layers_merge_company_first_then_asn() {
    let dir = tempfile::tempdir().expect("tempdir");
    let companies = company_db(
        dir.path(),
        "companies",
        "network,name,domain,industry,employees,country\n\
         1.0.0.0/25,見込み精機株式会社,mikomi-seiki.example,製造,1200,JP\n",
    );
    let asn_csv = dir.path().join("asn.csv");
    std::fs::write(
        &asn_csv,
        "1.0.0.0,1.0.0.255,64500,Example Broadband Telecom\n",
    )
    .expect("write");
    let asn = dir.path().join("asn.mmdb");
    ipdb::build::build_asn_csv(&[asn_csv.as_path()], &asn).expect("build");
    let resolver = Resolver::open(&[
        LayerSpec::new("companies", &companies),
        LayerSpec::new("asn", &asn),
    ])
    .expect("open");

    let hit = resolver
        .lookup("1.0.0.5".parse().expect("ip"))
        .expect("found");
    assert_eq!(hit.name.as_deref(), Some("見込み精機株式会社"));
    assert_eq!(hit.source, "companies");
    assert_eq!(hit.size_band, SizeBand::Enterprise);
    assert_eq!(hit.network_kind, NetworkKind::Business);
    assert_eq!(hit.network.to_string(), "1.0.0.0/25");
    assert_eq!(
        (hit.asn, hit.as_org.as_deref()),
        (Some(64500), Some("Example Broadband Telecom"))
    );

    // Outside the company's /25 only the carrier is known: no company name.
    let isp = resolver
        .lookup("1.0.0.200".parse().expect("ip"))
        .expect("found");
    assert_eq!(
        (isp.name, isp.source.as_str(), isp.network_kind),
        (None, "asn", NetworkKind::Isp)
    );

    // IPv4-mapped IPv6 is the same address.
    let mapped = resolver
        .lookup("::ffff:1.0.0.5".parse().expect("ip"))
        .expect("found");
    assert_eq!(mapped.name, hit.name);
    assert!(
        resolver
            .lookup("2001:db8::1".parse().expect("ip"))
            .is_none()
    );
}

#[test]
fn company_file_has_our_schema_and_reads_in_the_plain_reader() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = company_db(
        dir.path(),
        "c",
        "start,end,name,employees,kind\n192.0.2.1,192.0.2.6,Small Co,100,\n192.0.2.7,192.0.2.7,Host,,hosting\n",
    );
    let reader = maxminddb::Reader::open_readfile(&db).expect("reader");
    assert_eq!(reader.metadata().database_type, "Mikomi-Company");
    let r = reader
        .lookup("192.0.2.3".parse().expect("ip"))
        .expect("lookup");
    let v: Option<serde_json::Value> = r.decode().expect("decode");
    assert_eq!(
        v,
        Some(serde_json::json!({"name": "Small Co", "employees": 100, "network_kind": "business"}))
    );
    // 192.0.2.1–6 is four networks: /32, /31, /31, /32.
    let nets: Vec<String> = ["192.0.2.1", "192.0.2.2", "192.0.2.4", "192.0.2.6"]
        .iter()
        .filter_map(|ip| {
            Some(
                reader
                    .lookup(ip.parse().ok()?)
                    .ok()?
                    .network()
                    .ok()?
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        nets,
        [
            "192.0.2.1/32",
            "192.0.2.2/31",
            "192.0.2.4/31",
            "192.0.2.6/32"
        ]
    );
    let inspection = ipdb::inspect(&db, None).expect("inspect");
    assert_eq!((inspection.networks, inspection.records), (5, 2));
    assert_eq!(inspection.kinds.get("hosting"), Some(&1));
}

#[test]
fn overrides_come_first_by_asn_and_by_network() {
    let dir = tempfile::tempdir().expect("tempdir");
    let asn_csv = dir.path().join("asn.csv");
    std::fs::write(
        &asn_csv,
        "1.0.0.0,1.0.0.255,3215,Orange S.A.\n1.0.1.0,1.0.1.255,64500,Example Holdings\n",
    )
    .expect("write");
    let overrides = dir.path().join("overrides.csv");
    std::fs::write(
        &overrides,
        "network,kind,name,domain\n# a company on a carrier's addresses\n\
         1.0.0.64/26,business,Example Trading K.K.,example.co.jp\nAS64500,isp\n",
    )
    .expect("write");
    let classifier = ipdb::classify::Classifier::new(
        ipdb::classify::Overrides::read(&overrides).expect("overrides"),
    );
    let out = dir.path().join("asn.mmdb");
    ipdb::build::build_asn_csv_with(&[asn_csv.as_path()], &out, &classifier).expect("build");
    let resolver = Resolver::open(&[LayerSpec::new("asn", &out)]).expect("open");
    let look = |ip: &str| {
        resolver
            .lookup_with_confidence(ip.parse().expect("ip"))
            .expect("found")
    };
    let (firm, confidence) = look("1.0.0.70");
    assert_eq!(
        (
            firm.name.as_deref(),
            firm.domain.as_deref(),
            firm.network_kind
        ),
        (
            Some("Example Trading K.K."),
            Some("example.co.jp"),
            NetworkKind::Business
        )
    );
    assert_eq!((firm.asn, confidence), (Some(3215), Confidence::High));
    assert_eq!(firm.network.to_string(), "1.0.0.64/26");
    for ip in ["1.0.0.63", "1.0.0.128"] {
        let (carrier, confidence) = look(ip);
        assert_eq!(
            (carrier.name, carrier.network_kind),
            (None, NetworkKind::Isp),
            "{ip}"
        );
        assert_eq!(confidence, Confidence::High);
    }
    let (overridden, confidence) = look("1.0.1.1");
    assert_eq!(
        (overridden.network_kind, confidence),
        (NetworkKind::Isp, Confidence::High)
    );

    // The serving resolver's cache keeps the confidence with the answer.
    let specs = vec![LayerSpec::new("asn", &out)];
    let shared = ipdb::SharedResolver::new(Resolver::open(&specs).expect("open"), specs);
    for _ in 0..2 {
        let got = shared.lookup_with_confidence("1.0.0.70".parse().expect("ip"));
        let got = got.map(|(c, k)| (c.network_kind, k));
        assert_eq!(got, Some((NetworkKind::Business, Confidence::High)));
    }

    std::fs::write(&overrides, "AS1,isp\n1.0.0.0/24,carrier\n").expect("write");
    let err = ipdb::classify::Overrides::read(&overrides).expect_err("bad kind");
    assert!(
        err.to_string().ends_with(
            ":2: unknown kind \"carrier\": expected business, isp, \
         mobile, hosting, education, government or unknown"
        ),
        "{err}"
    );
}

#[test]
fn databases_built_before_confidence_still_read() {
    // Yesterday's ASN build: a stored kind and no confidence field.
    let mut b = ipdb::build::Builder::new(ipdb::build::BuildOptions::new("Mikomi-ASN", "old"));
    let record = ipdb::build::Value::Map(vec![
        (
            "autonomous_system_number".into(),
            ipdb::build::Value::U32(64500),
        ),
        (
            "autonomous_system_organization".into(),
            ipdb::build::Value::String("Example Manufacturing".into()),
        ),
        (
            "network_kind".into(),
            ipdb::build::Value::String("business".into()),
        ),
    ]);
    b.insert("192.0.2.0/24".parse().expect("net"), &record)
        .expect("insert");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.mmdb");
    b.write(&path).expect("write");
    let resolver = Resolver::open(&[LayerSpec::new("asn", &path)]).expect("open");
    let (c, confidence) = resolver
        .lookup_with_confidence("192.0.2.1".parse().expect("ip"))
        .expect("found");
    assert_eq!(c.network_kind, NetworkKind::Business);
    assert_eq!(c.name.as_deref(), Some("Example Manufacturing"));
    assert_eq!(confidence, Confidence::Low);
}

/// An ASN layer that calls the network a company's own has no domain; a domain layer behind it
/// is still asked, so accounts (kept by domain) can count the company. The answer carries the
/// confidence of its network kind.
#[test]
fn a_business_from_the_asn_layer_gets_its_domain_from_a_later_layer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let asn_csv = dir.path().join("asn.csv");
    std::fs::write(
        &asn_csv,
        "1.0.0.0,1.0.0.255,64500,Sakura Precision Manufacturing Co\n",
    )
    .expect("write");
    let asn = dir.path().join("asn.mmdb");
    ipdb::build::build_asn_csv(&[asn_csv.as_path()], &asn).expect("build");
    let domains = company_db(
        dir.path(),
        "domains",
        "network,name,domain\n1.0.0.0/24,Sakura Precision,sakura-seimitsu.example\n",
    );
    let resolver = Resolver::open(&[
        LayerSpec::new("asn", &asn),
        LayerSpec::new("domains", &domains),
    ])
    .expect("open");
    let hit = resolver
        .lookup("1.0.0.9".parse().expect("ip"))
        .expect("found");
    assert_eq!(hit.network_kind, NetworkKind::Business);
    assert_eq!(
        hit.name.as_deref(),
        Some("Sakura Precision Manufacturing Co")
    );
    assert_eq!(hit.domain.as_deref(), Some("sakura-seimitsu.example"));
    assert_eq!(hit.source, "asn");
    assert_eq!(hit.network_kind_confidence, Confidence::High);
}
