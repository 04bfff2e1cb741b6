//! Measures the classifier against a labelled sample (`asn,label,organisation` CSV).
//!
//! The figure that matters is precision for "business": every false business is a carrier or
//! cloud shown to sales as a prospect. Recall says how many real companies we hide.

use std::path::Path;

use super::classify;
use crate::{Error, NetworkKind};

/// The samples shipped with the crate, so the command needs no arguments: the development
/// sample (the rules were revised once after reading its mistakes, so its figures flatter
/// them) and a held-out sample labelled after the rules were frozen.
pub const BUNDLED_SAMPLES: &[(&str, &str)] = &[
    (
        "ipdb/testdata/network-kinds.csv",
        include_str!("../../testdata/network-kinds.csv"),
    ),
    (
        "ipdb/testdata/network-kinds-holdout.csv",
        include_str!("../../testdata/network-kinds-holdout.csv"),
    ),
];

/// Counts over one sample.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Evaluation {
    /// Rows in the sample.
    pub rows: usize,
    /// Rows whose predicted kind equals the label.
    pub correct: usize,
    /// Labelled business and predicted business.
    pub true_business: usize,
    /// Predicted business but labelled otherwise.
    pub false_business: usize,
    /// Labelled business but predicted otherwise.
    pub missed_business: usize,
    /// Every wrong row: (asn, label, predicted, organisation), for inspection.
    pub mistakes: Vec<(u32, NetworkKind, NetworkKind, String)>,
}

impl Evaluation {
    /// Of the answers called business, the share that are.
    pub fn precision(&self) -> f64 {
        ratio(self.true_business, self.true_business + self.false_business)
    }

    /// Of the businesses, the share called business.
    pub fn recall(&self) -> f64 {
        ratio(
            self.true_business,
            self.true_business + self.missed_business,
        )
    }

    /// Share of rows whose kind was exactly right.
    pub fn accuracy(&self) -> f64 {
        ratio(self.correct, self.rows)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Evaluates the classifier on a sample read from `text`; `origin` names it in errors.
pub fn evaluate(text: &str, origin: &Path) -> Result<Evaluation, Error> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let mut eval = Evaluation::default();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            Error::row(origin, line, e.to_string())
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let (Some(asn), Some(label), Some(org)) = (record.get(0), record.get(1), record.get(2))
        else {
            return Err(Error::row(origin, line, "expected asn,label,organisation"));
        };
        let asn: u32 = asn
            .trim()
            .parse()
            .map_err(|_| Error::row(origin, line, format!("bad asn {asn:?}")))?;
        let label = NetworkKind::parse(label)
            .ok_or_else(|| Error::row(origin, line, format!("unknown label {label:?}")))?;
        let predicted = classify(Some(asn), org);
        eval.rows += 1;
        if predicted == label {
            eval.correct += 1;
        } else {
            eval.mistakes.push((asn, label, predicted, org.to_owned()));
        }
        match (label.is_business(), predicted.is_business()) {
            (true, true) => eval.true_business += 1,
            (false, true) => eval.false_business += 1,
            (true, false) => eval.missed_business += 1,
            (false, false) => {}
        }
    }
    Ok(eval)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_the_definitions() {
        let sample = "asn,label,organisation\n\
                      1,business,Example Manufacturing\n\
                      2,isp,Example Trading\n\
                      3,business,Example Telecom\n\
                      4,isp,Example Telecom Two\n";
        let eval = evaluate(sample, Path::new("t.csv")).unwrap_or_default();
        assert_eq!(eval.rows, 4);
        assert_eq!(eval.true_business, 1);
        assert_eq!(eval.false_business, 1);
        assert_eq!(eval.missed_business, 1);
        assert_eq!(eval.correct, 2);
        assert!((eval.precision() - 0.5).abs() < 1e-9);
        assert!((eval.recall() - 0.5).abs() < 1e-9);
    }

    #[test]
    fn bad_rows_name_their_line() {
        let sample = "asn,label,organisation\n1,business,A\nx,isp,B\n";
        let err = evaluate(sample, Path::new("t.csv"))
            .err()
            .map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("t.csv:3: bad asn \"x\""));
    }

    #[test]
    fn bundled_samples_are_large_and_well_formed() {
        let mut rows = 0;
        for (name, text) in BUNDLED_SAMPLES {
            let eval = evaluate(text, Path::new(name));
            assert!(eval.is_ok(), "{name}: {eval:?}");
            let eval = eval.unwrap_or_default();
            rows += eval.rows;
            // Floors, not the figures (the README states those): a rule change that
            // calls every carrier a business, or no company one, fails here.
            assert!(
                eval.precision() >= 0.5,
                "{name}: precision {}",
                eval.precision()
            );
            assert!(eval.recall() >= 0.85, "{name}: recall {}", eval.recall());
        }
        assert!(rows >= 400, "samples have {rows} rows");
    }
}
