//! Several edge nodes as one service over Redis: two real `mikomi-edge` processes sharing a real
//! three-primary Redis Cluster, and a real `redis-server` killed and restarted under load.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mikomi_tests::edge::{Edge, EdgeConfig, demo_companies, page_view};
use mikomi_tests::redis::RedisCluster;
use mikomi_tests::{BROWSER_UA, ORIGIN, SITE, TestStore, wait_for_count};
use reqwest::Method;
use serde_json::{Value, json};

/// 127.0.1.0/24 in the demo company database.
const NORTHWIND_IP: &str = "127.0.1.77";

const BROCHURE: &str = r#"
[[rules]]
id = "brochure-repeat"
template = "brochure"
priority = 10
when = [
  { anonymous = true },
  { visits = { at_least = 3, within = "7d" } },
]
"#;

/// A node of a deployment on `cluster`.
fn node(cluster: &RedisCluster) -> EdgeConfig {
    EdgeConfig {
        trusted_proxies: vec!["127.0.0.0/8"],
        ipdb_layers: vec![("companies".into(), demo_companies())],
        session_timeout: Some("1s"),
        extra_toml: BROCHURE.into(),
        store: TestStore::Shared {
            urls: cluster.urls(),
            cluster: true,
        },
        ..EdgeConfig::default()
    }
}

/// A page view from the demo company's network; returns the visitor id and the popup.
async fn view(edge: &Edge, vid: Option<&str>, path: &str) -> (String, Value) {
    let body = json!({"site": SITE, "vid": vid, "events": [
        {"type": "pageview", "url": format!("http://site.test{path}"), "title": "ページ"}
    ]});
    let answer = edge.collect_from(NORTHWIND_IP, &body).await;
    let vid = answer["vid"].as_str().expect("vid").to_string();
    (vid, answer["popup"].clone())
}

/// Longer than the one-second session timeout: the next page view is a new visit.
async fn next_visit() {
    tokio::time::sleep(Duration::from_millis(1100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_cluster_behave_as_one_service() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cluster = RedisCluster::start(dir.path());
    let (config_a, config_b) = (node(&cluster), node(&cluster));
    let a = Edge::start(&config_a);
    let b = Edge::start(&config_b);

    // Two visitors whose visits alternate between the nodes: the third visit gets the brochure
    // on whichever node serves it.
    let (first, popup) = view(&a, None, "/").await;
    assert!(popup.is_null(), "first visit: {popup}");
    let (second, popup) = view(&b, None, "/").await;
    assert!(popup.is_null(), "first visit: {popup}");
    next_visit().await;
    let (_, popup) = view(&b, Some(&first), "/products").await;
    assert!(popup.is_null(), "second visit: {popup}");
    let (_, popup) = view(&a, Some(&second), "/products").await;
    assert!(popup.is_null(), "second visit: {popup}");
    next_visit().await;
    let (_, popup) = view(&a, Some(&first), "/pricing").await;
    assert_eq!(
        popup["rule"], "brochure-repeat",
        "third visit on node A: {popup}"
    );
    let (_, popup) = view(&b, Some(&second), "/pricing").await;
    assert_eq!(
        popup["rule"], "brochure-repeat",
        "third visit on node B: {popup}"
    );

    // A form converted on node B: node A sees the person, the sessions and the hot account.
    let conversion = json!({"site": SITE, "vid": first, "events": [
        {"type": "conversion", "form": "contact", "url": "http://site.test/contact",
         "fields": {"email": "taro@northwind.example", "name": "北風 太郎", "company": "Northwind"}}
    ]});
    b.collect_from(NORTHWIND_IP, &conversion).await;
    let sessions_a = a.all_sessions().await;
    assert_eq!(
        sessions_a.len(),
        3,
        "all three visits are identified: {sessions_a:?}"
    );
    for session in &sessions_a {
        assert_eq!(
            session["person"]["email"], "taro@northwind.example",
            "{session}"
        );
        assert_eq!(
            session["company"]["domain"], "northwind-analytics.example",
            "{session}"
        );
    }
    let (status, hot) = a.api(Method::GET, "/api/v1/accounts/hot", None).await;
    assert_eq!(status, 200, "{hot}");
    let accounts = hot["accounts"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        accounts.first().map(|x| &x["domain"]),
        Some(&json!("northwind-analytics.example")),
        "{hot}"
    );

    // One service: both nodes page the same feed, and count the same popups.
    assert_eq!(b.all_sessions().await, sessions_a);
    let (_, stats_a) = a.api(Method::GET, "/api/v1/rules/stats", None).await;
    let (_, stats_b) = b.api(Method::GET, "/api/v1/rules/stats", None).await;
    // (`reload` is each node's own: when it loaded its rules.)
    assert_eq!(stats_a["rules"], stats_b["rules"]);
    assert!(stats_a.to_string().contains("brochure-repeat"), "{stats_a}");
}

async fn health(edge: &Edge) -> Value {
    edge.health().await
}

/// A counter's value from `/metrics`.
async fn metric(edge: &Edge, name: &str) -> f64 {
    let text = edge.metrics().await;
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}_total ")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} is not in /metrics:\n{text}"))
}

const VISITORS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_of_redis_loses_nothing_and_fails_no_request() {
    let config = EdgeConfig {
        store: TestStore::Redis(Default::default()),
        ..EdgeConfig::default()
    };
    let redis = Arc::clone(config.redis().expect("a redis of its own"));
    let edge = Edge::start(&config);

    // Visitors send page views one after another until told to stop; every answer is counted.
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..VISITORS {
        let (url, stop) = (edge.url("/v1/collect"), Arc::clone(&stop));
        let (answered, failed) = (Arc::clone(&answered), Arc::clone(&failed));
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .user_agent(BROWSER_UA)
                .timeout(Duration::from_secs(5))
                .build()
                .expect("client");
            // A visit keeps 200 events: a visitor starts afresh (a new id) every 150 views.
            let mut visitors: Vec<(String, Vec<String>)> = Vec::new();
            let (mut vid, mut pages) = (None::<String>, Vec::new());
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let page = format!("http://site.test/{i}/{n}");
                n += 1;
                let sent = http
                    .post(&url)
                    .header("origin", ORIGIN)
                    .header("content-type", "application/json")
                    .body(page_view(vid.as_deref(), &page).to_string())
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status().as_u16() == 200 => {
                        let body: Value = response.json().await.expect("JSON");
                        vid = body["vid"].as_str().map(str::to_string);
                        pages.push(page);
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::SeqCst);
                    }
                }
                if pages.len() == 150
                    && let Some(done) = vid.take()
                {
                    visitors.push((done, std::mem::take(&mut pages)));
                }
            }
            if let Some(last) = vid {
                visitors.push((last, pages));
            }
            visitors
        }));
    }

    let wait_for = |at_least| wait_for_count(&answered, at_least, Duration::from_secs(30));
    wait_for(100).await;
    redis.stop();
    let before = answered.load(Ordering::SeqCst);
    wait_for(before + 100).await;
    let degraded = health(&edge).await;
    assert_eq!(
        degraded["store"]["health"]["status"], "degraded",
        "{degraded}"
    );
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = health(&edge).await;
        if now["store"]["health"]["status"] == "ok" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never healthy again: {now}\n{}",
            edge.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after = answered.load(Ordering::SeqCst);
    wait_for(after + 50).await;
    stop.store(true, Ordering::SeqCst);
    let mut acked: HashMap<String, Vec<String>> = HashMap::new();
    for task in tasks {
        acked.extend(task.await.expect("load task"));
    }
    assert_eq!(
        failed.load(Ordering::SeqCst),
        0,
        "collect failed during the outage"
    );

    let spooled = metric(&edge, "mikomi_store_spooled_records").await;
    let replayed = metric(&edge, "mikomi_store_replayed_records").await;
    assert!(
        spooled >= 100.0,
        "the outage was under load: {spooled} spooled"
    );
    // Records whose answer was lost when Redis died may have reached it: those are not sent
    // twice. Every page view being stored exactly once is checked below.
    assert!(
        replayed <= spooled && replayed >= spooled - 64.0,
        "{replayed} of {spooled} spooled records replayed"
    );

    // Every acknowledged page view is in Redis: a fresh process reads them back from it.
    let edge = edge.restart_after(Edge::kill_hard);
    let mut total = 0;
    for (vid, pages) in &acked {
        let stored = edge.stored_urls(vid).await;
        for page in pages {
            assert!(
                stored.contains(page),
                "acknowledged {page} of {vid} is missing"
            );
        }
        assert_eq!(
            stored.len(),
            pages.len(),
            "{vid}: nothing twice, nothing extra"
        );
        total += pages.len();
    }
    assert!(
        total >= 250,
        "the test checked real traffic ({total} acknowledged)"
    );
}

async fn healthy(edge: &Edge) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = health(edge).await;
        if now["store"]["health"]["status"] == "ok" {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never healthy: {now}\n{}",
            edge.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A node spools a person's form while Redis is down and stops before it can replay it; the
/// person is erased through another node; when the first node starts again, its spool must not
/// carry the erased data back into the shared log, nor into anyone's state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_spooled_during_an_outage_does_not_bring_an_erased_person_back() {
    const EMAIL: &str = "spooled.erase@secret-corp.example";
    const PHONE: &str = "03-5550-9876";
    let dir = tempfile::tempdir().expect("tempdir");
    let redis = mikomi_tests::redis::RedisServer::start(&dir.path().join("redis"));
    let node = || EdgeConfig {
        store: TestStore::Shared {
            urls: vec![redis.url()],
            cluster: false,
        },
        ..EdgeConfig::default()
    };
    let (config_a, config_b) = (node(), node());
    let a = Edge::start(&config_a);
    let b = Edge::start(&config_b);
    let form = |vid: Option<&str>, phone: &str| {
        json!({"site": SITE, "vid": vid, "events": [
            {"type": "conversion", "form": "contact", "url": "http://site.test/contact",
             "fields": {"email": EMAIL, "name": "スプール 花子", "phone": phone}}]})
    };
    let answer: Value = a
        .collect(&form(None, "03-5550-0000"))
        .await
        .json()
        .await
        .expect("JSON");
    let vid = answer["vid"].as_str().expect("vid").to_string();
    let (status, visitor) = b
        .api(Method::GET, &format!("/api/v1/visitors/{vid}"), None)
        .await;
    assert_eq!(status, 200, "node B knows the visitor: {visitor}");
    let hex = visitor["id"].as_str().expect("hex").to_string();
    let person = visitor["person"].as_str().expect("identified").to_string();

    // Redis goes down; node B takes the same person's next form into its spool, then stops.
    redis.stop();
    let spooled = b.collect(&form(Some(&vid), PHONE)).await;
    assert_eq!(
        spooled.status().as_u16(),
        200,
        "collect goes on during an outage"
    );
    assert!(
        metric(&b, "mikomi_store_spooled_records").await >= 1.0,
        "the form went to the spool"
    );
    let _ = b.terminate(); // the spool stays on disk until the next start
    redis.restart();
    healthy(&a).await;

    // Node A had no traffic during the outage, so every connection it holds is one Redis
    // dropped. Its pings (one a second down each connection) find them broken and connect
    // again, so the first write after the restart succeeds: it used to find a broken
    // connection and answer 503.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (status, answer) = a
        .api(Method::DELETE, &format!("/api/v1/people/{person}"), None)
        .await;
    assert_eq!(status, 204, "{answer}\n{}", a.log());

    let b = Edge::start(&config_b);
    healthy(&b).await;
    assert!(
        b.log_shows("a spooled record of an erased visitor is dropped")
            .await,
        "{}",
        b.log()
    );
    for node in [&a, &b] {
        let (status, visitor) = node
            .api(Method::GET, &format!("/api/v1/visitors/{vid}"), None)
            .await;
        assert_eq!(status, 404, "the erased visitor is back: {visitor}");
        let (status, _) = node
            .api(Method::GET, &format!("/api/v1/people/{person}"), None)
            .await;
        assert_eq!(status, 404, "the erased person is back");
    }
    let raw: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex"))
        .collect();
    let needles: [(&str, &[u8]); 5] = [
        ("email", EMAIL.as_bytes()),
        ("spooled phone", PHONE.as_bytes()),
        ("vid", vid.as_bytes()),
        ("hex id", hex.as_bytes()),
        ("raw id", &raw),
    ];
    let holds = |bytes: &[u8], needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    for (key, bytes) in mikomi_tests::redis_contents::everything(&redis.url()).await {
        for (what, needle) in needles {
            assert!(
                !holds(&bytes, needle),
                "redis key {key} still holds the {what}"
            );
        }
    }
    let dirs = [
        config_a.data_dir.path(),
        config_b.data_dir.path(),
        &dir.path().join("redis"),
    ];
    for path in dirs.into_iter().flat_map(mikomi_tests::files_under) {
        let bytes = std::fs::read(&path).expect("read");
        for (what, needle) in needles {
            assert!(
                !holds(&bytes, needle),
                "{} still holds the {what}",
                path.display()
            );
        }
    }
    let (status, _) = b
        .api(Method::DELETE, &format!("/api/v1/people/{person}"), None)
        .await;
    assert_eq!(status, 204, "a retry on the other node is done too");
}
