//! `classify` (one name, with the reason) and `classify-eval` (the figures on labelled samples).

use std::path::{Path, PathBuf};

use ipdb::classify::eval::{
    DEVELOPMENT_SAMPLES, EVALUATION_SAMPLE, Evaluation, KINDS, evaluate_halves,
};
use ipdb::classify::{Classifier, Overrides};

pub fn classifier(overrides: Option<&Path>, weak_business: bool) -> anyhow::Result<Classifier> {
    let overrides = match overrides {
        Some(p) => Overrides::read(p)?,
        None => Overrides::default(),
    };
    Ok(Classifier::new(overrides).with_weak_business(weak_business))
}

/// Explains one name's kind.
pub fn explain(
    org: &str,
    asn: Option<u32>,
    overrides: Option<&Path>,
    data: &[PathBuf],
    weak_business: bool,
) -> anyhow::Result<()> {
    let classifier = classifier(overrides, weak_business)?;
    // The announcements are evidence too; read them when the AS is given and data is at hand.
    let profile = match asn {
        Some(asn) if !data.is_empty() || crate::sample_cmd::default_data_present() => {
            crate::sample_cmd::read_table(data)?.profile(asn)
        }
        _ => None,
    };
    let v = classifier.verdict(asn, org, profile.as_ref());
    println!("kind: {}", v.kind.as_str());
    println!("confidence: {}", v.confidence.as_str());
    println!("because: {}", v.evidence);
    match profile {
        Some(p) => println!(
            "announcements: {} IPv4 addresses, {} IPv6 /40s, {} ranges",
            p.ipv4, p.ipv6_40s, p.ranges
        ),
        None => println!(
            "announcements: not known (give --asn, and --data if not run from the repository)"
        ),
    }
    Ok(())
}

/// Which bundled samples `classify-eval` measures.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Set {
    /// The development samples (the first evaluation set included).
    Dev,
    /// The evaluation set (the reported figures).
    Eval,
    /// Both.
    All,
}

pub fn eval(
    sample: Option<&Path>,
    set: Set,
    overrides: Option<&Path>,
    weak_business: bool,
    mistakes: bool,
) -> anyhow::Result<()> {
    let classifier = classifier(overrides, weak_business)?;
    let samples: Vec<(String, String)> = match sample {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            vec![(p.display().to_string(), text)]
        }
        None => {
            let mut v: Vec<(&str, &str)> = Vec::new();
            if matches!(set, Set::Dev | Set::All) {
                v.extend(DEVELOPMENT_SAMPLES.iter().copied());
            }
            if matches!(set, Set::Eval | Set::All) {
                v.push(EVALUATION_SAMPLE);
            }
            v.into_iter()
                .map(|(n, t)| (n.to_owned(), t.to_owned()))
                .collect()
        }
    };
    for (origin, text) in &samples {
        for (half, e) in evaluate_halves(&classifier, text, Path::new(origin))? {
            print(origin, &half, &e, mistakes);
        }
    }
    Ok(())
}

fn print(origin: &str, half: &str, e: &Evaluation, mistakes: bool) {
    println!("sample: {origin}, {half} half ({} organisations)", e.rows);
    println!(
        "  business: precision {:.3} ({}/{}), recall {:.3} ({}/{})",
        e.precision(),
        e.true_business,
        e.true_business + e.false_business,
        e.recall(),
        e.true_business,
        e.true_business + e.missed_business
    );
    println!(
        "  business answers by confidence: high {} right, {} wrong; low {} right, {} wrong",
        e.business_high.0, e.business_high.1, e.business_low.0, e.business_low.1
    );
    println!(
        "  business, high confidence only: precision {:.3} ({}/{}), recall {:.3} ({}/{})",
        e.precision_high(),
        e.business_high.0,
        e.business_high.0 + e.business_high.1,
        e.recall_high(),
        e.business_high.0,
        e.true_business + e.missed_business
    );
    println!(
        "  decided by the reviewed list of known networks: {} rows, {} of them right",
        e.listed.1, e.listed.0
    );
    println!(
        "  all kinds: accuracy {:.3} ({}/{})",
        e.accuracy(),
        e.correct,
        e.rows
    );
    print!(
        "  confusion (rows: label, columns: predicted)\n  {:>10}",
        ""
    );
    for k in KINDS {
        print!(" {:>10}", k.as_str());
    }
    println!();
    for (i, k) in KINDS.iter().enumerate() {
        print!("  {:>10}", k.as_str());
        for n in e.confusion[i] {
            print!(" {n:>10}");
        }
        println!();
    }
    if mistakes {
        for m in &e.mistakes {
            println!(
                "  AS{}\tlabel {}\tpredicted {} ({})\t{}\t[{}]",
                m.asn,
                m.label.as_str(),
                m.predicted.as_str(),
                m.confidence.as_str(),
                m.org,
                m.evidence
            );
        }
    }
}
