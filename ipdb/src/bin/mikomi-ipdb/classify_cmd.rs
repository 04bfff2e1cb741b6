//! `classify-eval`: the classifier's figures on labelled samples.

use std::path::Path;

use ipdb::classify::eval::{BUNDLED_SAMPLES, evaluate};

pub fn eval(sample: Option<&Path>, mistakes: bool) -> anyhow::Result<()> {
    let samples: Vec<(String, String)> = match sample {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            vec![(p.display().to_string(), text)]
        }
        None => BUNDLED_SAMPLES
            .iter()
            .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
            .collect(),
    };
    for (origin, text) in &samples {
        let e = evaluate(text, Path::new(origin))?;
        println!("sample: {origin} ({} organisations)", e.rows);
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
            "  all kinds: accuracy {:.3} ({}/{})",
            e.accuracy(),
            e.correct,
            e.rows
        );
        if mistakes {
            for (asn, label, predicted, org) in &e.mistakes {
                println!(
                    "  AS{asn}\tlabel {}\tpredicted {}\t{org}",
                    label.as_str(),
                    predicted.as_str()
                );
            }
        }
    }
    Ok(())
}
