//! A small mutation fuzzer for the tests, on stable Rust: it takes valid inputs (the seeds: the
//! golden file's records, the demo configuration, real collect bodies), breaks them the ways
//! fuzzers do (bit flips, cut, grown, spliced, interesting tokens put in), and hands each result
//! to a parser, which may refuse it but must not panic, hang or exhaust memory. Each target runs
//! for a bounded time, `MIKOMI_FUZZ_MS` milliseconds (default 1000), with a random seed printed
//! at the start; `MIKOMI_FUZZ_SEED` repeats a run. A failing input is printed: make it a test.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Texts that parsers of JSON and TOML tend to mishandle.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b"\\u0000",
    b"\\ud800",
    b"1e999",
    b"-9223372036854775809",
    b"18446744073709551616",
    b"0.0000000000000000000000001",
    b"null",
    b"[]",
    b"{}",
    b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    b"\xff\xfe",
    b"\xe3\x81",
    b"=",
    b"\n[x]\n",
    b"\"\"\"",
    b"'''",
    b"\x00",
    b"-",
    b"9999999999999999999",
];

/// Runs `target` over mutations of `seeds` until the time budget is spent; returns how many
/// inputs it ran.
pub fn run(name: &str, seeds: &[Vec<u8>], mut target: impl FnMut(&[u8])) -> u64 {
    assert!(!seeds.is_empty(), "{name}: no seeds");
    let budget = std::env::var("MIKOMI_FUZZ_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(Duration::from_millis(1000), Duration::from_millis);
    let seed = std::env::var("MIKOMI_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    eprintln!("fuzz {name}: seed {seed} (MIKOMI_FUZZ_SEED repeats it), {budget:?}");
    let mut rng = StdRng::seed_from_u64(seed);
    let started = Instant::now();
    let mut runs = 0;
    for s in seeds {
        check(name, seed, s, &mut target);
    }
    while started.elapsed() < budget {
        let mut input = seeds[rng.random_range(0..seeds.len())].clone();
        for _ in 0..rng.random_range(1..=4) {
            mutate(&mut input, seeds, &mut rng);
        }
        check(name, seed, &input, &mut target);
        runs += 1;
    }
    eprintln!("fuzz {name}: {runs} inputs, none panicked");
    runs
}

/// Runs one input, naming it if the target panics.
fn check(name: &str, seed: u64, input: &[u8], target: &mut impl FnMut(&[u8])) {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| target(input)));
    if let Err(panic) = outcome {
        let what = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        panic!(
            "fuzz {name} (seed {seed}): the target panicked ({what}) on this input:\n{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

fn mutate(input: &mut Vec<u8>, seeds: &[Vec<u8>], rng: &mut StdRng) {
    let at = |rng: &mut StdRng, len: usize| rng.random_range(0..=len);
    match rng.random_range(0..8) {
        0 if !input.is_empty() => {
            let i = rng.random_range(0..input.len());
            input[i] ^= 1 << rng.random_range(0..8);
        }
        1 if !input.is_empty() => {
            let i = rng.random_range(0..input.len());
            input[i] = rng.random();
        }
        2 => {
            let i = at(rng, input.len());
            input.truncate(i);
        }
        3 if !input.is_empty() => {
            let from = rng.random_range(0..input.len());
            let to = (from + rng.random_range(1..=16)).min(input.len());
            input.drain(from..to);
        }
        4 => {
            let i = at(rng, input.len());
            let token = TOKENS[rng.random_range(0..TOKENS.len())];
            input.splice(i..i, token.iter().copied());
        }
        5 if !input.is_empty() => {
            // A piece of itself again: repeated fields, nested structures, longer lengths.
            let from = rng.random_range(0..input.len());
            let to = (from + rng.random_range(1..=64)).min(input.len());
            let piece: Vec<u8> = input[from..to].to_vec();
            let i = at(rng, input.len());
            input.splice(i..i, piece);
        }
        6 => {
            // The head of this input and the tail of another.
            let other = &seeds[rng.random_range(0..seeds.len())];
            let cut = at(rng, input.len());
            let from = at(rng, other.len());
            input.truncate(cut);
            input.extend_from_slice(&other[from..]);
        }
        _ => {
            // A number written over: lengths and counts far off.
            if input.len() >= 8 {
                let i = rng.random_range(0..input.len() - 7);
                let value: u64 = if rng.random() { u64::MAX } else { rng.random() };
                input[i..i + 8].copy_from_slice(&value.to_le_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_names_the_input() {
        let caught = std::panic::catch_unwind(|| {
            run("panics", &[b"abc".to_vec()], |input| {
                assert!(!input.starts_with(b"abc"), "found");
            })
        });
        let message = caught
            .err()
            .and_then(|p| p.downcast_ref::<String>().cloned())
            .expect("the run panicked");
        assert!(message.contains("\"abc\""), "{message}");
    }
}
