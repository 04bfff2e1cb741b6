//! `mikomi-ipdb`: build, query and check the IP → company databases.
//!
//! `main` only parses arguments and dispatches; each command lives in its own module.

mod classify_cmd;
mod file_cmd;
mod lookup_cmd;
mod sample_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "mikomi-ipdb",
    version,
    about = "IP → company databases: build, look up, inspect, verify"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Source formats `build` reads.
#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// Our company CSV (header; `network` or `start`,`end`; name, domain, industry, employees, country).
    Company,
    /// ip-location-db ASN CSV (`start,end,asn,organisation`, no header; `.gz` accepted).
    Asn,
}

#[derive(Subcommand)]
enum Command {
    /// Compile CSV files into one .mmdb file.
    Build {
        /// Source format.
        #[arg(long, value_enum)]
        format: Format,
        /// Output .mmdb path (written atomically).
        #[arg(short, long)]
        output: PathBuf,
        /// Source CSV files.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Overrides file for `--format asn` (`network,kind[,name[,domain]]`, network an AS
        /// number or a CIDR): the first layer of the classification.
        #[arg(long)]
        overrides: Option<PathBuf>,
        /// For `--format asn`: call organisations with only weak evidence (a legal form on
        /// company-sized announcements) businesses, with low confidence.
        #[arg(long)]
        weak_business: bool,
    },
    /// Look addresses up through one or more layers; prints one JSON object per address.
    Lookup {
        /// A layer: `PATH`, `NAME=PATH` or `NAME=PATH:SCHEMA`; repeat in lookup order.
        #[arg(long = "db", required = true)]
        layers: Vec<String>,
        /// Addresses to look up.
        #[arg(required = true)]
        ips: Vec<String>,
    },
    /// Print a file's metadata and record counts as JSON.
    Inspect {
        /// The .mmdb file.
        file: PathBuf,
        /// Read records with this schema instead of detecting it.
        #[arg(long)]
        schema: Option<ipdb::Schema>,
    },
    /// Verify a file completely (structure and every record); exit status 1 if it fails.
    Verify {
        /// The .mmdb file.
        file: PathBuf,
        /// Read records with this schema instead of detecting it.
        #[arg(long)]
        schema: Option<ipdb::Schema>,
    },
    /// Classify an AS organisation name as the ASN build does, and say why.
    Classify {
        /// Autonomous system number, if known (the reviewed list and the overrides go by it).
        #[arg(long)]
        asn: Option<u32>,
        /// Overrides file (`network,kind[,name[,domain]]`), tried first.
        #[arg(long)]
        overrides: Option<PathBuf>,
        /// ASN CSV files to read the AS's announcements from; the repository's by default.
        #[arg(long)]
        data: Vec<PathBuf>,
        /// Weak evidence makes a business (as `build --weak-business`).
        #[arg(long)]
        weak_business: bool,
        /// Organisation name.
        org: String,
    },
    /// Draw AS organisations for labelling (CSV on stdout): a uniform half and an
    /// address-space-weighted half, reproducible from the seed.
    Sample {
        /// Seed of the generator; the same seed and data give the same rows.
        #[arg(long)]
        seed: u64,
        /// Organisations drawn uniformly.
        #[arg(long, default_value_t = 500)]
        uniform: usize,
        /// Organisations drawn weighted by announced address space.
        #[arg(long, default_value_t = 500)]
        weighted: usize,
        /// Never draw an AS listed in these CSV files (first column).
        #[arg(long)]
        exclude: Vec<PathBuf>,
        /// ASN CSV files; the repository's `ipdb/testdata/asn` by default.
        #[arg(long)]
        data: Vec<PathBuf>,
        /// Instead of drawing, add the profile columns to this labelled file.
        #[arg(long)]
        annotate: Option<PathBuf>,
    },
    /// Every AS announcing at least `--min-weight` of address space (IPv4 addresses plus IPv6
    /// /40s) that the reviewed list of known networks does not hold: `asn,weight,name` CSV on
    /// stdout, heaviest first. The candidates to review when the list is extended.
    Unlisted {
        /// Address space from which an AS is a candidate.
        #[arg(long, default_value_t = ipdb::classify::known::LISTED_WEIGHT)]
        min_weight: u64,
        /// ASN CSV files; the repository's `ipdb/testdata/asn` by default.
        #[arg(long)]
        data: Vec<PathBuf>,
    },
    /// Precision and recall of "business" on labelled samples, per half, with the confusion
    /// matrix.
    ClassifyEval {
        /// Sample CSV (`asn,label,organisation[,half,ipv4,ipv6_40s,ranges]`) instead of the
        /// bundled samples.
        #[arg(long)]
        sample: Option<PathBuf>,
        /// Which bundled samples: the development samples, the evaluation set, or both.
        #[arg(long, value_enum, default_value = "eval")]
        set: classify_cmd::Set,
        /// Overrides file, applied as in a build.
        #[arg(long)]
        overrides: Option<PathBuf>,
        /// Weak evidence makes a business (as `build --weak-business`).
        #[arg(long)]
        weak_business: bool,
        /// List every misclassified row.
        #[arg(long)]
        mistakes: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build {
            format,
            output,
            inputs,
            overrides,
            weak_business,
        } => file_cmd::build(
            format,
            &output,
            &inputs,
            overrides.as_deref(),
            weak_business,
        ),
        Command::Lookup { layers, ips } => lookup_cmd::run(&layers, &ips),
        Command::Inspect { file, schema } => file_cmd::inspect(&file, schema),
        Command::Verify { file, schema } => file_cmd::verify(&file, schema),
        Command::Classify {
            asn,
            overrides,
            data,
            weak_business,
            org,
        } => classify_cmd::explain(&org, asn, overrides.as_deref(), &data, weak_business),
        Command::Sample {
            seed,
            uniform,
            weighted,
            exclude,
            data,
            annotate,
        } => sample_cmd::run(&sample_cmd::Args {
            seed,
            uniform,
            weighted,
            exclude,
            data,
            annotate,
        }),
        Command::Unlisted { min_weight, data } => sample_cmd::unlisted(min_weight, &data),
        Command::ClassifyEval {
            sample,
            set,
            overrides,
            weak_business,
            mistakes,
        } => classify_cmd::eval(
            sample.as_deref(),
            set,
            overrides.as_deref(),
            weak_business,
            mistakes,
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mikomi-ipdb: {e}");
            ExitCode::FAILURE
        }
    }
}
