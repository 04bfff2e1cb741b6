//! Builds the demo company database (`target/demo/companies.mmdb`) from `demo/companies.csv`.
//!
//! The database is built rather than committed: the CSV is the source anyone can read and
//! change, and the builder is the same one operators use.

use std::path::Path;

use anyhow::Context;

/// Builds the demo database, unless it is already newer than its CSV.
pub fn build(root: &Path) -> anyhow::Result<()> {
    let csv = root.join("demo/companies.csv");
    let out_dir = root.join("target/demo");
    let out = out_dir.join("companies.mmdb");
    let source_time = std::fs::metadata(&csv)
        .and_then(|m| m.modified())
        .with_context(|| format!("{}", csv.display()))?;
    let built_time = std::fs::metadata(&out).and_then(|m| m.modified()).ok();
    if built_time.is_some_and(|t| t > source_time) {
        return Ok(());
    }
    std::fs::create_dir_all(&out_dir).with_context(|| format!("{}", out_dir.display()))?;
    let summary = ipdb::build::build_company_csv(&[csv.as_path()], &out)?;
    println!(
        "demo database: {} ({} rows, {} networks, {} bytes)",
        out.display(),
        summary.rows,
        summary.networks,
        summary.file_size
    );
    Ok(())
}
