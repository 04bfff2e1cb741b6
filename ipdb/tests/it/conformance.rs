//! Every network in MaxMind's source JSON resolves, through our typed schemas, to what the
//! JSON says, in the test .mmdb built from it.

use std::net::IpAddr;

use ipdb::{LayerSpec, Resolver, Schema};
use ipnet::IpNet;
use serde_json::Value;

use crate::common::test_data;

/// An address inside `net` that no more specific network of the same file covers, so the
/// record we read must be this network's own.
fn probe(net: &IpNet, all: &[IpNet]) -> Option<IpAddr> {
    let inner: Vec<&IpNet> = all
        .iter()
        .filter(|m| m.prefix_len() > net.prefix_len() && net.contains(*m))
        .collect();
    [net.network(), net.broadcast()]
        .into_iter()
        .find(|ip| !inner.iter().any(|m| m.contains(ip)))
}

/// `::a.b.c.d/n` (n ≥ 96) is how the JSON writes IPv4 networks; look those up as IPv4, the
/// way the edge will.
fn as_v4(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) if v6.segments()[..6] == [0; 6] && !v6.is_unspecified() => {
            let o = v6.octets();
            IpAddr::from([o[12], o[13], o[14], o[15]])
        }
        other => other,
    }
}

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

fn n(v: &Value, path: &[&str]) -> Option<u32> {
    path.iter()
        .try_fold(v, |v, k| v.get(k))?
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
}

/// Runs one file; returns (checked, skipped).
fn check(stem: &str, schema: Schema) -> (usize, usize) {
    let data = test_data().join("maxmind-test-data");
    let json =
        std::fs::read_to_string(data.join(format!("source-data/{stem}.json"))).expect("json");
    let json: Vec<serde_json::Map<String, Value>> =
        serde_json::from_str(&json).expect("parse json");
    let spec = LayerSpec::new(stem, data.join(format!("test-data/{stem}.mmdb")));
    let resolver = Resolver::open(&[spec]).expect("open");
    assert_eq!(
        resolver.layers()[0].schema(),
        schema,
        "{stem}: detected schema"
    );

    let entries: Vec<(IpNet, &Value)> = json
        .iter()
        .flat_map(|m| m.iter())
        .map(|(k, v)| (k.parse::<IpNet>().expect("network"), v))
        .collect();
    let nets: Vec<IpNet> = entries.iter().map(|(n, _)| *n).collect();
    let (mut checked, mut skipped) = (0, 0);
    let mut failures = Vec::new();
    for (net, rec) in &entries {
        let Some(ip) = probe(net, &nets) else {
            skipped += 1;
            continue;
        };
        let ip = as_v4(ip);
        let got = resolver.try_lookup(ip).expect("lookup");
        let Some(got) = got else {
            failures.push(format!("{net} ({ip}): not found"));
            continue;
        };
        let traits = if schema == Schema::Enterprise {
            &rec["traits"]
        } else {
            *rec
        };
        let org = s(traits, &["organization"]).or(s(traits, &["isp"]));
        let org = if schema == Schema::Asn {
            s(traits, &["autonomous_system_organization"])
        } else {
            org
        };
        let want_name = org.filter(|_| {
            got.network_kind.is_business()
                || matches!(
                    got.network_kind,
                    ipdb::NetworkKind::Education | ipdb::NetworkKind::Government
                )
        });
        let want = (
            n(traits, &["autonomous_system_number"]),
            s(traits, &["autonomous_system_organization"]).or(s(traits, &["isp"])),
            s(traits, &["domain"]),
            want_name,
            s(rec, &["country", "iso_code"]),
        );
        let have = (
            got.asn,
            got.as_org.as_deref(),
            got.domain.as_deref(),
            got.name.as_deref(),
            got.country.as_deref(),
        );
        if want != have {
            failures.push(format!("{net} ({ip}): want {want:?}, have {have:?}"));
        }
        // The test files merge adjacent networks with equal data, so the matched network may
        // be wider than the JSON's; it must contain the address and nest with the JSON's.
        let json_net = match (as_v4(net.network()), net) {
            (IpAddr::V4(a), IpNet::V6(n)) => {
                IpNet::new(IpAddr::V4(a), n.prefix_len() - 96).expect("v4 net")
            }
            _ => *net,
        };
        if !got.network.contains(&ip)
            || !(got.network.contains(&json_net) || json_net.contains(&got.network))
        {
            failures.push(format!("{net} ({ip}): matched network {}", got.network));
        }
        checked += 1;
    }
    assert!(
        failures.is_empty(),
        "{stem}: {} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 0, "{stem}: nothing checked");
    eprintln!("{stem}: {checked} networks checked, {skipped} fully covered by more specific ones");
    (checked, skipped)
}

#[test]
fn isp() {
    check("GeoIP2-ISP-Test", Schema::Isp);
}

#[test]
fn enterprise() {
    check("GeoIP2-Enterprise-Test", Schema::Enterprise);
}

#[test]
fn domain() {
    check("GeoIP2-Domain-Test", Schema::Domain);
}

#[test]
fn asn() {
    check("GeoLite2-ASN-Test", Schema::Asn);
}
