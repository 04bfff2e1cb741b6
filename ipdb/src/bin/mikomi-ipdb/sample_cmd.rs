//! `sample`: draw AS organisations for labelling, reproducibly.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use ipdb::cells::{from_text_cell, text_cell};
use ipdb::classify::profile::AsTable;
use ipdb::classify::sample::draw;

/// The repository's ASN data, used when no `--data` is given.
pub const DEFAULT_DATA: &[&str] = &[
    "ipdb/testdata/asn/asn-ipv4.csv.gz",
    "ipdb/testdata/asn/asn-ipv6.csv.gz",
];

/// True when run from the repository, where the default data lives.
pub fn default_data_present() -> bool {
    DEFAULT_DATA.iter().all(|p| Path::new(p).exists())
}

pub fn read_table(data: &[PathBuf]) -> anyhow::Result<AsTable> {
    let paths: Vec<&Path> = if data.is_empty() {
        DEFAULT_DATA.iter().map(Path::new).collect()
    } else {
        data.iter().map(PathBuf::as_path).collect()
    };
    Ok(AsTable::read(&paths)?)
}

/// The AS numbers in the first column of labelled or sampled CSV files.
fn asns_in(files: &[PathBuf]) -> anyhow::Result<HashSet<u32>> {
    let mut out = HashSet::new();
    for f in files {
        let mut reader = csv::Reader::from_path(f).with_context(|| f.display().to_string())?;
        for r in reader.records() {
            let r = r.with_context(|| f.display().to_string())?;
            if let Some(asn) = r.get(0).and_then(|a| a.trim().parse().ok()) {
                out.insert(asn);
            }
        }
    }
    Ok(out)
}

/// `unlisted`: the ASes at or above `min_weight` that the reviewed list does not hold.
pub fn unlisted(min_weight: u64, data: &[PathBuf]) -> anyhow::Result<()> {
    let table = read_table(data)?;
    let mut w = csv::Writer::from_writer(std::io::stdout().lock());
    w.write_record(["asn", "weight", "name"])?;
    for (asn, weight, name) in ipdb::classify::known::unlisted(&table, min_weight) {
        w.write_record([asn.to_string(), weight.to_string(), text_cell(&name)])?;
    }
    w.flush()?;
    Ok(())
}

pub struct Args {
    pub seed: u64,
    pub uniform: usize,
    pub weighted: usize,
    pub exclude: Vec<PathBuf>,
    pub data: Vec<PathBuf>,
    pub annotate: Option<PathBuf>,
}

/// The columns of a sample, drawn or annotated.
const HEADER: [&str; 7] = [
    "asn",
    "label",
    "organisation",
    "half",
    "ipv4",
    "ipv6_40s",
    "ranges",
];

pub fn run(args: &Args) -> anyhow::Result<()> {
    let table = read_table(&args.data)?;
    let out = std::io::stdout();
    let mut w = csv::Writer::from_writer(out.lock());
    if let Some(file) = &args.annotate {
        // Adds the profile columns to a labelled file; its rows and labels stay as they are.
        let mut reader =
            csv::Reader::from_path(file).with_context(|| file.display().to_string())?;
        w.write_record(HEADER)?;
        for r in reader.records() {
            let r = r.with_context(|| file.display().to_string())?;
            let line = r.position().map_or(0, |p| p.line());
            let field = r.get(0).unwrap_or("").trim();
            let asn: u32 = field
                .parse()
                .with_context(|| format!("{}:{line}: bad asn {field:?}", file.display()))?;
            let p = table.profile(asn).unwrap_or_default();
            w.write_record([
                r.get(0).unwrap_or(""),
                r.get(1).unwrap_or(""),
                &text_cell(from_text_cell(r.get(2).unwrap_or(""))),
                r.get(3).unwrap_or("uniform"),
                &p.ipv4.to_string(),
                &p.ipv6_40s.to_string(),
                &p.ranges.to_string(),
            ])?;
        }
    } else {
        let exclude = asns_in(&args.exclude)?;
        let rows = draw(&table, args.seed, args.uniform, args.weighted, &exclude);
        w.write_record(HEADER)?;
        for s in rows {
            w.write_record([
                s.asn.to_string(),
                String::new(),
                text_cell(&s.org),
                s.half.as_str().to_owned(),
                s.profile.ipv4.to_string(),
                s.profile.ipv6_40s.to_string(),
                s.profile.ranges.to_string(),
            ])?;
        }
    }
    w.flush()?;
    std::io::stdout().flush()?;
    Ok(())
}
