//! Decides the page view of one rules benchmark case a given number of times. Under callgrind
//! this counts instructions per decision, which the noise of a shared machine does not move:
//! `cargo xtask bench-rules` runs it twice per case with different counts and divides the
//! difference, so that building the case cancels out.
//!
//! Usage: `rules-instructions <case> <count>`, the case as the benchmark names it.

use std::hint::black_box;

use anyhow::{Context, bail};
use mikomi_benches::rules_case::decide_cases;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [name, count] = args.as_slice() else {
        bail!("usage: rules-instructions <case> <count>");
    };
    let count: u64 = count.parse().context("the count must be a whole number")?;
    let cases = decide_cases();
    let Some(case) = cases.iter().find(|c| c.name == name.as_str()) else {
        let names: Vec<&str> = cases.iter().map(|c| c.name).collect();
        bail!("no case `{name}`; the cases are {}", names.join(", "));
    };
    let request = case.request();
    let mut shown = 0u64;
    for _ in 0..count {
        let decision = case.decide(black_box(&request));
        shown += u64::from(black_box(decision).popup.is_some());
    }
    println!("{name}: {count} decisions, {shown} with a popup");
    Ok(())
}
