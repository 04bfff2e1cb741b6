//! Against the machine's Redis (127.0.0.1:6379, started by `.ci/run`); every test has a key
//! prefix of its own, so tests run side by side and leave each other alone.

use super::*;
use crate::store::Store;
use crate::store::record::AdminOp;
use crate::store::test_support::{batch, key, model, urls};

/// A fresh deployment's prefix.
fn prefix() -> String {
    format!("test-{:016x}", rand::random::<u64>())
}

async fn open(prefix: &str, spool: &std::path::Path) -> RedisStore {
    open_with(prefix, spool, model()).await
}

async fn open_with(prefix: &str, spool: &std::path::Path, model: Model) -> RedisStore {
    RedisStore::open(RedisOptions {
        endpoint: Endpoint {
            urls: vec!["redis://127.0.0.1:6379".into()],
            cluster: false,
            connections: 2,
            timeout: Duration::from_secs(2),
        },
        key_prefix: prefix.to_string(),
        spool_dir: spool.to_path_buf(),
        model,
        snapshot_every: 1_000_000,
        metrics: StoreMetrics::default(),
    })
    .await
    .expect("open the redis store (is redis running on 127.0.0.1:6379?)")
}

async fn forget(prefix: &str) {
    let client = redis::Client::open("redis://127.0.0.1:6379").expect("client");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{{{prefix}}}*"))
        .query_async(&mut connection)
        .await
        .expect("keys");
    for key in keys {
        let _: () = redis::cmd("DEL")
            .arg(key)
            .query_async(&mut connection)
            .await
            .expect("del");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_apply_one_log_in_one_order() {
    let prefix = prefix();
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let a = open(&prefix, dir_a.path()).await;
    let b = open(&prefix, dir_b.path()).await;
    let mut seqs = Vec::new();
    for i in 0..10 {
        let node = if i % 2 == 0 { &a } else { &b };
        let recorded = node
            .record(batch(1, 1_000 + i, &format!("/{i}")))
            .await
            .expect("record");
        assert_eq!(
            recorded.visit.pageviews,
            i as u64 + 1,
            "each node saw the others' views"
        );
        seqs.push(recorded.seq);
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let expected: Vec<String> = (0..10).map(|i| format!("https://example.jp/{i}")).collect();
    for node in [&a, &b] {
        let visitor = node.visitor(&key(1)).await.expect("read").expect("known");
        assert_eq!(urls(&visitor), expected);
        assert_eq!(node.stats().last_seq, 10);
        assert_eq!(node.health(), Health::Ok);
    }
    forget(&prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_node_starts_from_the_snapshot_and_the_log_behind_it_is_trimmed() {
    let prefix = prefix();
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().expect("dir")).collect();
    let a = open(&prefix, dirs[0].path()).await;
    for visitor in 0..20u8 {
        a.record(batch(visitor, 1_000, "/first"))
            .await
            .expect("record");
    }
    a.compact().await.expect("snapshot and trim");
    let mut xlen = redis::Cmd::new();
    xlen.arg("XLEN").arg(format!("{{{prefix}}}:log"));
    let left: u64 = a.node.redis.query(&xlen).await.expect("xlen");
    assert_eq!(left, 0, "the log behind the snapshot is gone");
    a.record(batch(3, 2_000, "/after")).await.expect("record");

    let b = open(&prefix, dirs[1].path()).await;
    assert_eq!(b.stats().visitors, 20);
    assert_eq!(b.stats().last_seq, 21);
    let visitor = b.visitor(&key(3)).await.expect("read").expect("known");
    assert_eq!(
        urls(&visitor),
        ["https://example.jp/first", "https://example.jp/after"]
    );
    forget(&prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_redis_is_refused_at_start_with_its_address() {
    let dir = tempfile::tempdir().expect("dir");
    // Nothing listens on port 1.
    let opened = RedisStore::open(RedisOptions {
        endpoint: Endpoint {
            urls: vec!["redis://127.0.0.1:1".into()],
            cluster: false,
            connections: 1,
            timeout: Duration::from_millis(300),
        },
        key_prefix: prefix(),
        spool_dir: dir.path().to_path_buf(),
        model: model(),
        snapshot_every: 10,
        metrics: StoreMetrics::default(),
    })
    .await;
    let Err(error) = opened else {
        panic!("a store opened without redis");
    };
    assert!(error.to_string().contains("127.0.0.1:1"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_at_a_time_delivers_webhooks() {
    let prefix = prefix();
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let with_webhooks = Model {
        webhooks: true,
        ..model()
    };
    let a = open_with(&prefix, dir_a.path(), with_webhooks.clone()).await;
    let b = open_with(&prefix, dir_b.path(), with_webhooks).await;
    let mut converted = batch(1, 1_000, "/contact");
    converted.events.push(crate::collect::event::TimedEvent {
        client_ts: None,
        event: crate::collect::event::Event::Conversion {
            form: "contact".into(),
            url: "https://example.jp/contact".into(),
            fields: vec![("email".into(), "hanako@corp.example".into())],
        },
    });
    b.record(converted).await.expect("record");
    let first = a.outbox(10).await.expect("outbox");
    assert_eq!(
        first.len(),
        1,
        "the identified event, on the node that took the lease"
    );
    assert!(
        b.outbox(10).await.expect("outbox").is_empty(),
        "the other node waits"
    );
    // Delivered through either node, it leaves every node's outbox.
    b.admin(AdminOp::WebhookDelivered { event: first[0].id })
        .await
        .expect("delivered");
    assert!(a.outbox(10).await.expect("outbox").is_empty());
    forget(&prefix).await;
}
