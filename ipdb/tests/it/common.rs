//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

/// The test data the repository carries (`ipdb/testdata`): the real ASN ranges and MaxMind's
/// test databases, each with its licence beside it.
pub fn test_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

/// A deterministic xorshift generator: reproducible "random" inputs without a dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Builds a company database from CSV text into `dir/name.mmdb`.
pub fn company_db(dir: &Path, name: &str, csv: &str) -> PathBuf {
    let src = dir.join(format!("{name}.csv"));
    let out = dir.join(format!("{name}.mmdb"));
    std::fs::write(&src, csv).expect("write csv");
    ipdb::build::build_company_csv(&[src.as_path()], &out).expect("build");
    out
}
