//! Opens arbitrary bytes as a database under every schema and looks addresses up in it.
//! Anything but a clean error or a clean answer (a panic, a hang, a crash) is a finding.
//!
//! `cargo +nightly fuzz run open_lookup -- -max_total_time=60` (or, on stable,
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run open_lookup ...`). `cargo test -p ipdb` runs the same
//! loop over deterministic mutations (`tests/it/bad_data.rs`).

#![no_main]

use std::net::IpAddr;
use std::path::PathBuf;

use ipdb::{Layer, LayerSpec, Resolver, Schema};
use libfuzzer_sys::fuzz_target;

const PROBES: &[&str] = &["0.0.0.0", "1.2.3.4", "127.0.0.1", "255.255.255.255", "::", "::ffff:1.2.3.4", "2001:db8::1"];

fuzz_target!(|data: &[u8]| {
    for schema in [None, Some(Schema::Company), Some(Schema::Enterprise), Some(Schema::Isp), Some(Schema::Domain), Some(Schema::Asn)] {
        let spec = LayerSpec { name: "fuzz".into(), path: PathBuf::from("fuzz.mmdb"), schema };
        let Ok(layer) = Layer::from_bytes(&spec, data.to_vec()) else { continue };
        let Ok(resolver) = Resolver::from_layers(vec![layer]) else { continue };
        for p in PROBES {
            if let Ok(ip) = p.parse::<IpAddr>() {
                let _ = resolver.lookup(ip);
                let _ = resolver.try_lookup(ip);
            }
        }
    }
});
