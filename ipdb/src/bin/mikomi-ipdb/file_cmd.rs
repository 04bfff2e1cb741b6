//! `build`, `inspect` and `verify`.

use std::path::{Path, PathBuf};

use crate::Format;

pub fn build(
    format: Format,
    output: &Path,
    inputs: &[PathBuf],
    overrides: Option<&Path>,
    weak_business: bool,
) -> anyhow::Result<()> {
    let inputs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    let summary = match format {
        Format::Company if overrides.is_some() || weak_business => anyhow::bail!(
            "--overrides and --weak-business apply to --format asn; company rows say their own kind"
        ),
        Format::Company => ipdb::build::build_company_csv(&inputs, output)?,
        Format::Asn => {
            let classifier = crate::classify_cmd::classifier(overrides, weak_business)?;
            ipdb::build::build_asn_csv_with(&inputs, output, &classifier)?
        }
    };
    if summary.clipped > 0 {
        println!(
            "note: {} rows overlapped earlier rows and were clipped",
            summary.clipped
        );
    }
    println!(
        "built {}: {} rows → {} networks ({} IPv4, {} IPv6), {} records, {} nodes, \
         {}-bit records, {} bytes, {:.2} s",
        output.display(),
        summary.rows,
        summary.networks,
        summary.networks_v4,
        summary.networks - summary.networks_v4,
        summary.records,
        summary.nodes,
        summary.record_size,
        summary.file_size,
        summary.elapsed.as_secs_f64(),
    );
    Ok(())
}

pub fn inspect(file: &Path, schema: Option<ipdb::Schema>) -> anyhow::Result<()> {
    let inspection = ipdb::inspect(file, schema)?;
    println!("{}", serde_json::to_string_pretty(&inspection)?);
    Ok(())
}

pub fn verify(file: &Path, schema: Option<ipdb::Schema>) -> anyhow::Result<()> {
    let i = ipdb::inspect(file, schema)?;
    println!(
        "{}: ok ({}, schema {}, {} networks, {} records, lookups {})",
        file.display(),
        i.database_type,
        i.schema.as_str(),
        i.networks,
        i.records,
        if i.flat_lookups {
            "from a sorted copy in memory"
        } else {
            "walk the file's tree"
        }
    );
    Ok(())
}
