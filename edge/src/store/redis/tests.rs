//! Against a real `redis-server` of each test's own, on a free loopback port, stopped when the
//! test ends: no test depends on a Redis the machine happens to run.

use mikomi_test_redis::RedisServer;

use super::*;
use crate::model::record::AdminOp;
use crate::store::Store;
use crate::store::test_support::{batch, key, model, urls};

/// A Redis server and the directory it keeps its data in, for one test.
struct TestRedis {
    server: RedisServer,
    _dir: tempfile::TempDir,
}

impl TestRedis {
    fn start() -> TestRedis {
        let dir = tempfile::tempdir().expect("a directory for redis");
        TestRedis {
            server: RedisServer::start(dir.path()),
            _dir: dir,
        }
    }
}

/// A fresh deployment's prefix.
fn prefix() -> String {
    format!("test-{:016x}", rand::random::<u64>())
}

async fn open(redis: &TestRedis, prefix: &str, spool: &std::path::Path) -> RedisStore {
    open_with(redis, prefix, spool, model()).await
}

async fn open_with(
    redis: &TestRedis,
    prefix: &str,
    spool: &std::path::Path,
    model: Model,
) -> RedisStore {
    RedisStore::open(RedisOptions {
        endpoint: Endpoint {
            urls: vec![redis.server.url()],
            cluster: false,
            connections: 2,
            timeout: Duration::from_secs(2),
            busy_timeout: Duration::from_secs(5),
            ca_pem: None,
        },
        key_prefix: prefix.to_string(),
        spool_dir: spool.to_path_buf(),
        model,
        snapshot_every: 1_000_000,
        metrics: StoreMetrics::default(),
    })
    .await
    .expect("open the redis store")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_apply_one_log_in_one_order() {
    let redis = TestRedis::start();
    let prefix = prefix();
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let a = open(&redis, &prefix, dir_a.path()).await;
    let b = open(&redis, &prefix, dir_b.path()).await;
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_node_starts_from_the_snapshot_and_the_log_behind_it_is_trimmed() {
    let redis = TestRedis::start();
    let prefix = prefix();
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().expect("dir")).collect();
    let a = open(&redis, &prefix, dirs[0].path()).await;
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

    let b = open(&redis, &prefix, dirs[1].path()).await;
    assert_eq!(b.stats().visitors, 20);
    assert_eq!(b.stats().last_seq, 21);
    let visitor = b.visitor(&key(3)).await.expect("read").expect("known");
    assert_eq!(
        urls(&visitor),
        ["https://example.jp/first", "https://example.jp/after"]
    );
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
            busy_timeout: Duration::from_secs(1),
            ca_pem: None,
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

/// A Redis that holds writes back but answers probes is busy, not gone: the record waits for it
/// and lands in the shared log, and nothing is spooled. A Redis that answers nothing at all is
/// unreachable after twice the timeout, and the record goes to the spool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_redis_is_waited_for_and_a_silent_one_is_not() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().expect("dir");
    let endpoint = Endpoint {
        urls: vec![redis.server.url()],
        cluster: false,
        connections: 2,
        timeout: Duration::from_millis(100),
        busy_timeout: Duration::from_secs(5),
        ca_pem: None,
    };
    let metrics = StoreMetrics::default();
    let store = RedisStore::open(RedisOptions {
        endpoint: endpoint.clone(),
        key_prefix: prefix(),
        spool_dir: dir.path().to_path_buf(),
        model: model(),
        snapshot_every: 1_000_000,
        metrics: metrics.clone(),
    })
    .await
    .expect("open");
    store.record(batch(1, 1_000, "/a")).await.expect("record");
    let control = Redis::connect(&endpoint, Default::default())
        .await
        .expect("connect");
    let pause = |ms: u64, what: &str| {
        let mut cmd = redis::Cmd::new();
        cmd.arg("CLIENT").arg("PAUSE").arg(ms).arg(what);
        cmd
    };

    // Writes (and scripts) wait for 700 ms; PING is still answered.
    let _: () = control.query(&pause(700, "WRITE")).await.expect("pause");
    let started = std::time::Instant::now();
    let recorded = store.record(batch(1, 2_000, "/b")).await.expect("record");
    let waited = started.elapsed();
    assert!(recorded.seq > 0, "the record is in the shared log");
    assert!(
        waited >= Duration::from_millis(500),
        "it waited: {waited:?}"
    );
    assert_eq!(metrics.spooled.get(), 0, "nothing was spooled");
    assert!(
        metrics.redis_slow_calls.get() >= 1,
        "the late call is counted"
    );
    assert_eq!(store.health(), Health::Ok);

    // Everything waits for 1.5 s, PING too: that is a Redis giving no sign of life.
    let _: () = control.query(&pause(1_500, "ALL")).await.expect("pause");
    let started = std::time::Instant::now();
    let recorded = store.record(batch(1, 3_000, "/c")).await.expect("record");
    let waited = started.elapsed();
    assert_eq!(recorded.seq, 0, "the record went to the spool");
    assert_eq!(metrics.spooled.get(), 1);
    assert!(
        waited < Duration::from_secs(1),
        "given up early: {waited:?}"
    );
    // The append sent before the node gave up is carried out when the pause ends, and the
    // spooled copy is then known to be in the log already: the view is there once.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let visitor = store.visitor(&key(1)).await.expect("read").expect("known");
        if store.health() == Health::Ok && urls(&visitor).len() == 3 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not healed: {:?}, {:?}",
            store.health(),
            urls(&visitor)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let visitor = store.visitor(&key(1)).await.expect("read").expect("known");
    assert_eq!(
        urls(&visitor),
        [
            "https://example.jp/a",
            "https://example.jp/b",
            "https://example.jp/c"
        ]
    );
    store.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_at_a_time_delivers_webhooks() {
    let redis = TestRedis::start();
    let prefix = prefix();
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let with_webhooks = Model {
        webhooks: true,
        ..model()
    };
    let a = open_with(&redis, &prefix, dir_a.path(), with_webhooks.clone()).await;
    let b = open_with(&redis, &prefix, dir_b.path(), with_webhooks).await;
    let mut converted = batch(1, 1_000, "/contact");
    converted.events.push(crate::event::TimedEvent {
        client_ts: None,
        event: crate::event::Event::Conversion {
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
}

/// Data written before the format was recorded (version 2) has a log position but no format
/// key: refused with both versions named, and left as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_of_another_format_is_refused_and_kept() {
    let redis = TestRedis::start();
    let prefix = prefix();
    let spool = tempfile::tempdir().expect("spool dir");
    let conn = Redis::connect(
        &Endpoint {
            urls: vec![redis.server.url()],
            cluster: false,
            connections: 1,
            timeout: Duration::from_secs(2),
            busy_timeout: Duration::from_secs(5),
            ca_pem: None,
        },
        StoreMetrics::default().redis_slow_calls,
    )
    .await
    .expect("connect");
    let keys = log::Keys::new(&prefix);
    let mut set = redis::Cmd::new();
    set.arg("SET").arg(&keys.seq).arg("41");
    let _: () = conn.query(&set).await.expect("set");
    let refused = RedisStore::open(RedisOptions {
        endpoint: Endpoint {
            urls: vec![redis.server.url()],
            cluster: false,
            connections: 2,
            timeout: Duration::from_secs(2),
            busy_timeout: Duration::from_secs(5),
            ca_pem: None,
        },
        key_prefix: prefix.clone(),
        spool_dir: spool.path().to_path_buf(),
        model: model(),
        snapshot_every: 1_000_000,
        metrics: StoreMetrics::default(),
    })
    .await
    .err()
    .expect("refused");
    let message = refused.to_string();
    assert!(
        matches!(refused, StoreError::OtherVersion { .. }) && message.contains("format 2"),
        "{message}"
    );
    assert!(
        message.contains(&format!("format {}", codec::FORMAT)),
        "{message}"
    );
    let mut get = redis::Cmd::new();
    get.arg("GET").arg(&keys.seq);
    let seq: Option<String> = conn.query(&get).await.expect("get");
    assert_eq!(seq.as_deref(), Some("41"), "nothing was changed");
    // A fresh prefix is stamped with this format on first open.
    let fresh = prefix + "-fresh";
    let store = open(&redis, &fresh, spool.path()).await;
    let mut get = redis::Cmd::new();
    get.arg("GET").arg(log::Keys::new(&fresh).format);
    let stamped: Option<String> = conn.query(&get).await.expect("get");
    assert_eq!(stamped, Some(codec::FORMAT.to_string()));
    store.close().await.expect("close");
}
