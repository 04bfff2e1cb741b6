//! Hot reload: atomic swaps under load, refusal of bad files, change detection.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use ipdb::{LayerSpec, Resolver, SharedResolver};

use crate::common::company_db;

const ALPHA: &str = "network,name,employees\n10.0.0.0/8,Alpha,50\n";
const BETA: &str = "network,name,employees\n10.0.0.0/9,Beta,900\n10.128.0.0/9,Beta,900\n";

fn serving(dir: &std::path::Path) -> (SharedResolver, std::path::PathBuf, Vec<u8>, Vec<u8>) {
    let alpha = std::fs::read(company_db(dir, "alpha", ALPHA)).expect("alpha");
    let beta = std::fs::read(company_db(dir, "beta", BETA)).expect("beta");
    let live = dir.join("live.mmdb");
    std::fs::write(&live, &alpha).expect("write");
    let specs = vec![LayerSpec::new("companies", &live)];
    let resolver = Resolver::open(&specs).expect("open");
    (SharedResolver::new(resolver, specs), live, alpha, beta)
}

#[test]
fn four_readers_see_no_error_across_100_swaps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (shared, live, alpha, beta) = serving(dir.path());
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicUsize::new(0));
    let lookups = Arc::new(AtomicUsize::new(0));
    let seen_beta = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..4u8)
        .map(|t| {
            let (shared, stop, errors, lookups, seen_beta) = (
                shared.clone(),
                stop.clone(),
                errors.clone(),
                lookups.clone(),
                seen_beta.clone(),
            );
            std::thread::spawn(move || {
                let ip = IpAddr::from([10, t * 60, 1, 2]);
                while !stop.load(Ordering::Relaxed) {
                    match shared.lookup(ip).map(|c| (c.name, c.size_band)) {
                        Some((Some(n), ipdb::SizeBand::Small)) if n == "Alpha" => {}
                        Some((Some(n), ipdb::SizeBand::Enterprise)) if n == "Beta" => {
                            seen_beta.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    lookups.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let tmp = dir.path().join("next.mmdb");
    for i in 0..100 {
        // Replace the file the way operators should: write beside it, rename over it.
        std::fs::write(&tmp, if i % 2 == 0 { &beta } else { &alpha }).expect("write");
        std::fs::rename(&tmp, &live).expect("rename");
        shared.reload().expect("reload");
        std::thread::yield_now();
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().expect("reader thread");
    }
    assert_eq!(errors.load(Ordering::Relaxed), 0);
    assert!(lookups.load(Ordering::Relaxed) > 100, "readers barely ran");
    assert!(
        seen_beta.load(Ordering::Relaxed) > 0,
        "no reader ever saw a swapped file"
    );
    // 100 swaps starting from alpha end on alpha.
    assert_eq!(
        shared
            .lookup(IpAddr::from([10, 0, 0, 1]))
            .and_then(|c| c.name)
            .as_deref(),
        Some("Alpha")
    );
}

#[test]
fn a_bad_file_is_refused_and_the_old_one_keeps_serving() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (shared, live, alpha, _) = serving(dir.path());
    std::fs::write(&live, &alpha[..alpha.len() / 2]).expect("truncate");
    let err = shared
        .reload()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.starts_with(&live.display().to_string()), "{err}");
    assert_eq!(
        shared
            .lookup(IpAddr::from([10, 0, 0, 1]))
            .and_then(|c| c.name)
            .as_deref(),
        Some("Alpha")
    );
    // Polling reports the broken file each time until it is fixed, and keeps serving.
    assert!(shared.reload_if_changed().is_err());
    assert!(shared.reload_if_changed().is_err());
    assert_eq!(
        shared
            .lookup(IpAddr::from([10, 0, 0, 1]))
            .and_then(|c| c.name)
            .as_deref(),
        Some("Alpha")
    );
}

#[test]
fn reload_if_changed_swaps_only_on_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (shared, live, _, beta) = serving(dir.path());
    assert!(!shared.reload_if_changed().expect("poll"));
    // Cached before the swap; must not be served after it.
    assert_eq!(
        shared
            .lookup(IpAddr::from([10, 0, 0, 1]))
            .and_then(|c| c.name)
            .as_deref(),
        Some("Alpha")
    );
    let before = shared.current();
    std::fs::write(&live, &beta).expect("write");
    assert!(shared.reload_if_changed().expect("poll"));
    assert!(!Arc::ptr_eq(&before, &shared.current()));
    assert_eq!(
        shared
            .lookup(IpAddr::from([10, 0, 0, 1]))
            .and_then(|c| c.name)
            .as_deref(),
        Some("Beta")
    );
    assert!(!shared.reload_if_changed().expect("poll"));
}
