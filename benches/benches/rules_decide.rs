//! Deciding the popup for one page view against 100 rules (see `mikomi_benches::rules_case`
//! for the cases). The budget is 2 µs (median). The first-sight case's time includes emptying
//! the thread's cache of path masks before each decision.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use mikomi_benches::rules_case::decide_cases;

fn decide(c: &mut Criterion) {
    let mut group = c.benchmark_group("rules_decide");
    for case in decide_cases() {
        assert_eq!(case.set.rules.len(), 100);
        let request = case.request();
        let decision = case.decide(&request);
        assert_eq!(decision.popup.is_some(), case.popup, "{}", case.name);
        group.bench_function(BenchmarkId::from_parameter(case.name), |b| {
            b.iter(|| black_box(case.decide(black_box(&request))))
        });
    }
    group.finish();
}

criterion_group!(benches, decide);
criterion_main!(benches);
