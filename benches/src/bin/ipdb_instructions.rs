//! Typed lookups (`Resolver::lookup` → `Company`) of addresses spread over the whole real ASN
//! database, a given number of times. Under callgrind this counts instructions per lookup,
//! which the noise of a shared machine does not move: `cargo xtask bench-ipdb` runs it twice
//! with different counts and divides the difference, so that opening the file cancels out.
//!
//! Usage: `ipdb-instructions build <file.mmdb>` (the full ASN database, as the criterion
//! benchmark builds it) and `ipdb-instructions lookup <file.mmdb> <count>`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use ipdb::{LayerSpec, Resolver};

/// Distinct addresses cycled through: far more networks than the CPU caches hold.
const ADDRESSES: usize = 16_384;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [mode, file] if mode == "build" => build(Path::new(file)),
        [mode, file, count] if mode == "lookup" => {
            let count: u64 = count.parse().context("the count must be a whole number")?;
            lookup(Path::new(file), count)
        }
        _ => bail!("usage: ipdb-instructions build <file.mmdb> | lookup <file.mmdb> <count>"),
    }
}

fn build(out: &Path) -> anyhow::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ipdb/testdata/asn");
    let inputs: [PathBuf; 2] = [dir.join("asn-ipv4.csv.gz"), dir.join("asn-ipv6.csv.gz")];
    let inputs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    let summary = ipdb::build::build_asn_csv(&inputs, out)?;
    println!(
        "{}: {} networks, {} bytes",
        out.display(),
        summary.networks,
        summary.file_size
    );
    Ok(())
}

/// Deterministic addresses that the database knows: four in five IPv4, as in the benchmark.
fn hits(resolver: &Resolver) -> Vec<IpAddr> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut found = Vec::with_capacity(ADDRESSES);
    while found.len() < ADDRESSES {
        let r = next();
        let ip = if r % 5 == 0 {
            // Inside 2000::/3, where the allocated IPv6 space is.
            let high = (0x2000u128 | u128::from(r >> 48) & 0x1fff) << 112;
            IpAddr::V6(Ipv6Addr::from(high | u128::from(next()) << 48))
        } else {
            IpAddr::V4(Ipv4Addr::from((r >> 32) as u32))
        };
        if resolver.lookup(ip).is_some() {
            found.push(ip);
        }
    }
    found
}

fn lookup(file: &Path, count: u64) -> anyhow::Result<()> {
    let resolver = Resolver::open(&[LayerSpec::new("asn", file)])?;
    let ips = hits(&resolver);
    let mut named = 0u64;
    for i in 0..count {
        let ip = ips[(i as usize) % ips.len()];
        let company = resolver.lookup(black_box(ip));
        named += u64::from(black_box(company).is_some_and(|c| c.name.is_some()));
    }
    println!("{count} lookups, {named} naming a company");
    Ok(())
}
