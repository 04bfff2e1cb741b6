use std::path::Path;

use super::*;
use crate::event::{Event, TimedEvent};
use crate::model::Visitor;
use crate::store::Store;
use crate::store::test_support::{batch, key, model, urls};
use crate::visitor_id::VisitorId;

fn open(dir: &Path, snapshot_after_bytes: u64) -> EmbeddedStore {
    EmbeddedStore::open(EmbeddedOptions {
        dir: dir.to_path_buf(),
        model: model(),
        snapshot_after_bytes,
        metrics: StoreMetrics::default(),
    })
    .expect("open")
}

/// Opens a store that must refuse to open, and says why it did.
fn open_refused(dir: &Path) -> StoreError {
    match EmbeddedStore::open(EmbeddedOptions {
        dir: dir.to_path_buf(),
        model: model(),
        snapshot_after_bytes: u64::MAX,
        metrics: StoreMetrics::default(),
    }) {
        Ok(_) => panic!("{} opened", dir.display()),
        Err(e) => e,
    }
}

async fn all_visitors(store: &EmbeddedStore, ids: impl Iterator<Item = u8>) -> Vec<Visitor> {
    let mut out = Vec::new();
    for id in ids {
        if let Some(v) = store.visitor(&key(id)).await.expect("read") {
            out.push(v);
        }
    }
    out
}

#[tokio::test]
async fn recorded_batches_survive_a_restart_without_close() {
    let dir = tempfile::tempdir().expect("tempdir");
    let before = {
        let store = open(dir.path(), u64::MAX);
        for i in 0..20u8 {
            let recorded = store
                .record(batch(i % 4, i64::from(i) * 1000, &format!("/p{i}")))
                .await;
            assert_eq!(recorded.expect("record").seq, u64::from(i) + 1);
        }
        assert_eq!(store.stats().events, 20);
        all_visitors(&store, 0..4).await
        // Dropped without close: like a crash after the acknowledgements.
    };
    let store = open(dir.path(), u64::MAX);
    assert_eq!(all_visitors(&store, 0..4).await, before);
    assert_eq!(
        urls(&before[1]),
        vec![
            "https://example.jp/p1",
            "https://example.jp/p5",
            "https://example.jp/p9",
            "https://example.jp/p13",
            "https://example.jp/p17"
        ]
    );
    assert_eq!(store.stats().events, 20);
    let next = store
        .record(batch(0, 99_000, "/after"))
        .await
        .expect("record");
    assert_eq!(next.seq, 21, "sequence numbers continue after recovery");
}

#[tokio::test]
async fn a_torn_tail_is_cut_and_the_rest_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = open(dir.path(), u64::MAX);
        for i in 0..3u8 {
            store
                .record(batch(1, i64::from(i), &format!("/{i}")))
                .await
                .expect("record");
        }
    }
    let segment = files::list(dir.path())
        .expect("list")
        .segments
        .remove(0)
        .path;
    let mut bytes = fs_err(std::fs::read(&segment));
    bytes.extend_from_slice(&[0x20, 0, 0, 0, 1, 2]); // half a frame header: a crash mid-write
    std::fs::write(&segment, &bytes).expect("write");
    let store = open(dir.path(), u64::MAX);
    let visitor = store.visitor(&key(1)).await.expect("read").expect("known");
    assert_eq!(visitor.events, 3);
    assert_eq!(
        std::fs::read(&segment).expect("read").len(),
        bytes.len() - 6,
        "tail cut"
    );
    drop(store);
    let store = open(dir.path(), u64::MAX);
    assert_eq!(
        store.stats().events,
        3,
        "a cut segment reads clean on the next start"
    );
}

#[tokio::test]
async fn damage_before_the_last_segment_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = open(dir.path(), u64::MAX);
        store.record(batch(1, 0, "/a")).await.expect("record");
        store.record(batch(1, 1, "/b")).await.expect("record");
    }
    {
        let store = open(dir.path(), u64::MAX); // adds a second segment
        store.record(batch(1, 2, "/c")).await.expect("record");
    }
    let first = files::list(dir.path())
        .expect("list")
        .segments
        .remove(0)
        .path;
    let mut bytes = std::fs::read(&first).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&first, &bytes).expect("write");
    let err = open_refused(dir.path());
    assert!(err.to_string().contains("not the last"), "{err}");
}

/// A log or snapshot written by another format version is refused by name and left in place:
/// yesterday's data is never removed as if it were a torn header.
#[tokio::test]
async fn files_of_another_format_version_are_refused_and_kept() {
    for (kind, older) in [("log", b"MKWAL001"), ("snapshot", b"MKSNAP01")] {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = open(dir.path(), u64::MAX);
            store.record(batch(1, 0, "/a")).await.expect("record");
            if kind == "snapshot" {
                store.close().await.expect("close with a snapshot");
            }
        }
        let listing = files::list(dir.path()).expect("list");
        let path = match kind {
            "log" => listing.segments.last().expect("a segment").path.clone(),
            _ => listing.snapshots.last().expect("a snapshot").path.clone(),
        };
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[..8].copy_from_slice(older);
        std::fs::write(&path, &bytes).expect("write");
        let err = open_refused(dir.path());
        let said = err.to_string();
        assert!(
            said.contains(&format!("{kind} format 0")) && said.contains("this build reads"),
            "{said}"
        );
        assert_eq!(std::fs::read(&path).expect("still there"), bytes);
    }
}

#[test]
fn headers_tell_our_format_another_version_and_foreign_files_apart() {
    use files::Header;
    assert_eq!(Header::of(b"MKWAL002", b"MKWAL002"), Header::Ours);
    assert_eq!(
        Header::of(b"MKWAL001", b"MKWAL002"),
        Header::OtherVersion {
            found: "001".into(),
            reads: "002".into()
        }
    );
    assert_eq!(Header::of(b"MKSNAP02", b"MKWAL002"), Header::Foreign);
    assert_eq!(
        Header::of(b"\0\0\0\0\0\0\0\0", b"MKWAL002"),
        Header::Foreign
    );
    assert_eq!(Header::of(b"MKWAL", b"MKWAL002"), Header::Foreign);
}

#[tokio::test]
async fn snapshots_trim_the_log_and_recover_the_same_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let before = {
        let store = open(dir.path(), 2_000);
        for i in 0..300u32 {
            let visitor = (i % 17) as u8;
            let at = i64::from(i) * 60_000;
            store
                .record(batch(visitor, at, &format!("/p{i}")))
                .await
                .expect("record");
        }
        settle(&store).await;
        let listing = files::list(dir.path()).expect("list");
        assert!(!listing.snapshots.is_empty(), "a snapshot was taken");
        assert!(
            listing.segments.len() <= 3,
            "old segments were removed: {:?}",
            listing.segments
        );
        all_visitors(&store, 0..17).await
    };
    let store = open(dir.path(), 2_000);
    assert_eq!(all_visitors(&store, 0..17).await, before);
    assert_eq!(store.stats().events, 300);
}

#[tokio::test]
async fn close_leaves_a_snapshot_and_no_log_to_replay() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path(), u64::MAX);
    for i in 0..10u8 {
        store.record(batch(i, 0, "/")).await.expect("record");
    }
    store.close().await.expect("close");
    let refused = store.record(batch(1, 0, "/late")).await;
    assert!(matches!(refused, Err(StoreError::Unavailable(_))));
    let listing = files::list(dir.path()).expect("list");
    assert_eq!(listing.snapshots.len(), 1);
    assert!(listing.segments.iter().all(|s| s.seq >= 11));
    let store = open(dir.path(), u64::MAX);
    assert_eq!(store.stats().visitors, 10);
}

/// Writers keep going while snapshots are taken; the state after restart equals the state
/// before, whatever the interleaving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzzy_snapshots_under_concurrent_writes_recover_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(open(dir.path(), 4_000));
    let mut tasks = Vec::new();
    for task in 0..8u8 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            for i in 0..100i64 {
                let visitor = task * 3 + (i % 3) as u8;
                store
                    .record(batch(visitor, i * 1000, &format!("/{task}/{i}")))
                    .await
                    .expect("record");
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    let before = all_visitors(&store, 0..24).await;
    assert_eq!(before.iter().map(|v| v.events).sum::<u64>(), 800);
    settle(&store).await;
    drop(store);
    let store = open(dir.path(), 4_000);
    assert_eq!(all_visitors(&store, 0..24).await, before);
}

/// Waits for a background snapshot to finish, so a simulated crash does not race it.
async fn settle(store: &EmbeddedStore) {
    while store.shared.snapshot_running.load(Ordering::Acquire) {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

fn fs_err<T>(result: std::io::Result<T>) -> T {
    result.expect("file system")
}

/// The same with identity in play: conversions create and join people while snapshots are
/// taken; after a restart, people (and who owns which session) are exactly as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzzy_snapshots_keep_people_and_joins_exact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(open(dir.path(), 3_000));
    let mut tasks = Vec::new();
    for task in 0..6u8 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            for i in 0..60i64 {
                let visitor = task * 4 + (i % 4) as u8;
                let mut b = batch(visitor, i * 1000, &format!("/{task}/{i}"));
                if i % 5 == 0 {
                    // Twelve addresses shared across tasks: joins, second devices, shared devices.
                    let email = format!("p{}@corp.example", (i / 5 + i64::from(task)) % 12);
                    b.events.push(TimedEvent {
                        client_ts: None,
                        event: Event::Conversion {
                            form: "contact".into(),
                            url: "https://example.jp/contact".into(),
                            fields: vec![("email".into(), email)],
                        },
                    });
                }
                store.record(b).await.expect("record");
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    let people = |store: &EmbeddedStore| {
        let mut all: Vec<_> = store
            .shared
            .state
            .persons
            .iter()
            .map(|p| p.clone())
            .collect();
        all.sort_by_key(|p| p.id);
        all
    };
    let before = (all_visitors(&store, 0..24).await, people(&store));
    assert!(before.1.len() >= 10, "people were made: {}", before.1.len());
    settle(&store).await;
    drop(store);
    let store = open(dir.path(), 3_000);
    assert_eq!((all_visitors(&store, 0..24).await, people(&store)), before);
}

/// A conversion replayed from the log after a snapshot finds its person by email, as it did
/// live: the email index is rebuilt before the log is replayed, not after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_conversion_joins_the_person_the_snapshot_holds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let convert = |visitor: u8, at_ms: i64| {
        let mut b = batch(visitor, at_ms, "/contact");
        b.events.push(TimedEvent {
            client_ts: None,
            event: Event::Conversion {
                form: "contact".into(),
                url: "https://example.jp/contact".into(),
                fields: vec![("email".into(), "hanako@corp.example".into())],
            },
        });
        b
    };
    let store = open(dir.path(), 64 * 1024 * 1024);
    store.record(convert(1, 1_000)).await.expect("record");
    store.compact().await.expect("snapshot");
    // In the log after the snapshot: a second device of the same person.
    store.record(convert(2, 2_000)).await.expect("record");
    drop(store); // a crash: no final snapshot

    let store = open(dir.path(), 64 * 1024 * 1024);
    let people: Vec<_> = store
        .shared
        .state
        .persons
        .iter()
        .map(|p| p.clone())
        .collect();
    assert_eq!(people.len(), 1, "{people:?}");
    let mut devices = people[0].visitors.clone();
    devices.sort();
    assert_eq!(devices, [VisitorId([1; 16]), VisitorId([2; 16])]);
}

/// The format 2 data directory the shipped build wrote (a snapshot, and a log segment behind
/// it), copied into `dir`.
fn format_2_store(dir: &Path) -> Vec<std::path::PathBuf> {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/store-format-2/store");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&fixture).expect("the committed fixture") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("name").to_owned();
        std::fs::copy(&path, dir.join(&name)).expect("copy");
        names.push(name.into());
    }
    names
}

/// The fixture's converted visitor and its person, as the shipped build left them.
async fn holds_the_format_2_person(store: &EmbeddedStore) {
    let person = store
        .person(crate::model::person::PersonId(48))
        .await
        .expect("read")
        .expect("p48 kept its id");
    assert_eq!(person.email, "hanako@northwind.example");
    assert_eq!(person.visitors.len(), 1);
}

/// A crash after the format 2 files were moved aside and before the format 3 snapshot was
/// written: the next start finishes the migration from `format-2/`.
#[tokio::test]
async fn an_interrupted_migration_is_finished_at_the_next_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kept = dir.path().join("format-2");
    std::fs::create_dir_all(&kept).expect("mkdir");
    for name in format_2_store(dir.path()) {
        std::fs::rename(dir.path().join(&name), kept.join(&name)).expect("move");
    }
    let store = open(dir.path(), u64::MAX);
    holds_the_format_2_person(&store).await;
    store.close().await.expect("close");
    let store = open(dir.path(), u64::MAX);
    holds_the_format_2_person(&store).await;
    assert_eq!(std::fs::read_dir(&kept).expect("kept").count(), 2);
}

/// A second format 2 store put where one was migrated before is refused, not mixed in: the
/// kept files of the first stay as they are.
#[tokio::test]
async fn format_2_files_beside_an_earlier_migration_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    format_2_store(dir.path());
    let store = open(dir.path(), u64::MAX);
    holds_the_format_2_person(&store).await;
    store.close().await.expect("close");
    let names = format_2_store(dir.path());
    let said = open_refused(dir.path()).to_string();
    assert!(said.contains("earlier migration"), "{said}");
    for name in names {
        assert!(
            dir.path().join(&name).exists(),
            "{name:?} left where it was"
        );
    }
}

/// A crash between moving the format 2 files: some are in `format-2/`, the rest where they
/// were. The next start moves the rest and migrates them all.
#[tokio::test]
async fn a_migration_interrupted_between_moves_is_finished() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kept = dir.path().join("format-2");
    std::fs::create_dir_all(&kept).expect("mkdir");
    let names = format_2_store(dir.path());
    let snapshot = names
        .iter()
        .find(|n| n.to_string_lossy().starts_with("snapshot-"))
        .expect("a snapshot");
    std::fs::rename(dir.path().join(snapshot), kept.join(snapshot)).expect("move one");
    let store = open(dir.path(), u64::MAX);
    holds_the_format_2_person(&store).await;
    assert_eq!(
        std::fs::read_dir(&kept).expect("kept").count(),
        2,
        "both kept"
    );
    store.close().await.expect("close");
}

/// A crash while a snapshot was written leaves `snapshot-*.tmp`: it may hold data erased since
/// (it is never read), so start-up removes it.
#[tokio::test]
async fn a_snapshot_a_crash_cut_short_is_removed_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = open(dir.path(), u64::MAX);
        store.record(batch(1, 0, "/a")).await.expect("record");
    }
    let tmp = dir.path().join(format!("snapshot-{:020}.tmp", 7));
    std::fs::write(&tmp, b"MKSNAP03half of a state").expect("write");
    let store = open(dir.path(), u64::MAX);
    assert!(!tmp.exists(), "the unfinished snapshot is still there");
    assert!(store.visitor(&key(1)).await.expect("read").is_some());
}

/// An erasure's compaction writes its snapshot beside the writer: a batch sent while it runs is
/// stored and answered before the snapshot is done, not after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_are_stored_while_an_erasure_compacts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = std::sync::Arc::new(open(dir.path(), u64::MAX));
    store.record(batch(1, 0, "/a")).await.expect("record");
    // A state whose snapshot takes a while to write.
    for n in 0..60_000u32 {
        let mut id = [0u8; 16];
        id[..4].copy_from_slice(&n.to_le_bytes());
        id[15] = 0xee;
        let mut visitor = Visitor::new("demo".into(), VisitorId(id), 0);
        visitor.apply(1, &batch(0, 0, "/filler"), &model().sessions);
        store
            .shared
            .state
            .load(crate::engine::image::Entry::Visitor(visitor));
    }
    let compacting = {
        let store = std::sync::Arc::clone(&store);
        tokio::spawn(async move { store.compact().await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    store.record(batch(2, 1, "/b")).await.expect("record");
    assert!(
        !compacting.is_finished(),
        "the batch was held up until the snapshot was written"
    );
    compacting.await.expect("join").expect("compaction");
    let files = files::list(dir.path()).expect("list");
    assert_eq!(files.snapshots.len(), 1);
    assert!(
        files
            .segments
            .iter()
            .all(|s| s.seq >= files.snapshots[0].seq),
        "no segment older than the compaction is left"
    );
}
