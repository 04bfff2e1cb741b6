//! `lookup`: layers from the command line, one JSON object per address.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use ipdb::{LayerSpec, Resolver, Schema};

/// Parses `PATH`, `NAME=PATH` or `NAME=PATH:SCHEMA`.
fn parse_layer(arg: &str) -> anyhow::Result<LayerSpec> {
    let (name, rest) = match arg.split_once('=') {
        Some((name, rest)) => (name.to_owned(), rest),
        None => (String::new(), arg),
    };
    let (path, schema) = match rest.rsplit_once(':') {
        Some((path, s)) if s.parse::<Schema>().is_ok() => (path, s.parse::<Schema>().ok()),
        _ => (rest, None),
    };
    if path.is_empty() {
        bail!("--db {arg:?}: no path");
    }
    let path = PathBuf::from(path);
    let name = if name.is_empty() {
        path.file_stem()
            .map_or_else(|| "db".into(), |s| s.to_string_lossy().into_owned())
    } else {
        name
    };
    Ok(LayerSpec { name, path, schema })
}

pub fn run(layers: &[String], ips: &[String]) -> anyhow::Result<()> {
    let specs = layers
        .iter()
        .map(|l| parse_layer(l))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let resolver = Resolver::open(&specs)?;
    for ip in ips {
        let addr: IpAddr = ip
            .parse()
            .with_context(|| format!("{ip:?} is not an IP address"))?;
        let found = resolver.try_lookup_with_confidence(addr)?;
        let (company, confidence) = match found {
            Some((c, k)) => (Some(c), Some(k)),
            None => (None, None),
        };
        let line = serde_json::json!({ "ip": addr, "company": company, "confidence": confidence });
        println!("{line}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_arguments() {
        let s = parse_layer("asn=/d/asn.mmdb:asn").ok();
        assert_eq!(
            s.map(|s| (s.name, s.path, s.schema)),
            Some(("asn".into(), "/d/asn.mmdb".into(), Some(Schema::Asn)))
        );
        let s = parse_layer("/d/c.mmdb").ok();
        assert_eq!(s.map(|s| (s.name, s.schema)), Some(("c".into(), None)));
        assert!(parse_layer("x=").is_err());
    }
}
