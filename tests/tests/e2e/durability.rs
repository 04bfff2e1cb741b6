//! Nothing acknowledged is lost: not on `kill -9` in the middle of a load, not on SIGTERM.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mikomi_tests::edge::page_view;
use mikomi_tests::{BROWSER_UA, Edge, EdgeConfig, ORIGIN};
use serde_json::Value;
use tokio::task::JoinHandle;

const VISITORS: usize = 16;
/// Requests per visitor at most: the load is still running when the process dies.
const PER_VISITOR: usize = 150;

struct Load {
    vids: Vec<String>,
    acked: Arc<AtomicUsize>,
    tasks: Vec<JoinHandle<Vec<String>>>,
}

/// One task per visitor, each sending page views one after another and keeping the URLs
/// whose requests were answered 200.
async fn start_load(edge: &Edge) -> Load {
    let mut vids = Vec::new();
    for i in 0..VISITORS {
        let response = edge
            .collect(&page_view(None, &format!("http://site.test/{i}/start")))
            .await;
        let body: Value = response.json().await.expect("JSON");
        vids.push(body["vid"].as_str().expect("vid").to_string());
    }
    let acked = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for (i, vid) in vids.iter().enumerate() {
        let url = edge.url("/v1/collect");
        let vid = vid.clone();
        let acked = Arc::clone(&acked);
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .user_agent(BROWSER_UA)
                .timeout(Duration::from_secs(5))
                .build()
                .expect("client");
            let mut mine = vec![format!("http://site.test/{i}/start")];
            for n in 0..PER_VISITOR {
                let page = format!("http://site.test/{i}/{n}");
                let sent = http
                    .post(&url)
                    .header("origin", ORIGIN)
                    .header("content-type", "application/json")
                    .body(page_view(Some(&vid), &page).to_string())
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status().as_u16() == 200 => {
                        mine.push(page);
                        acked.fetch_add(1, Ordering::SeqCst);
                    }
                    _ => break,
                }
            }
            mine
        }));
    }
    Load { vids, acked, tasks }
}

async fn wait_for(acked: &AtomicUsize, at_least: usize) {
    mikomi_tests::wait_for_count(acked, at_least, Duration::from_secs(60)).await;
}

async fn finish(load: Load) -> HashMap<String, Vec<String>> {
    let mut acked = HashMap::new();
    for (vid, task) in load.vids.into_iter().zip(load.tasks) {
        acked.insert(vid, task.await.expect("load task"));
    }
    acked
}

async fn assert_all_stored(edge: &Edge, acked: &HashMap<String, Vec<String>>) -> usize {
    let mut total = 0;
    for (vid, urls) in acked {
        let stored = edge.stored_urls(vid).await;
        for url in urls {
            assert!(
                stored.contains(url),
                "acknowledged {url} of {vid} is missing after restart"
            );
        }
        total += urls.len();
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_event_survives_kill_9_under_load() {
    // A small snapshot bound, so snapshots and log trimming happen during the load too.
    let config = EdgeConfig {
        snapshot_after_bytes: 32 * 1024,
        ..EdgeConfig::default()
    };
    let edge = Edge::start(&config);
    let load = start_load(&edge).await;
    wait_for(&load.acked, VISITORS * PER_VISITOR / 4).await;
    edge.kill_hard();
    let in_flight_when_killed = load.acked.load(Ordering::SeqCst);
    let acked = finish(load).await;
    assert!(
        in_flight_when_killed < VISITORS * PER_VISITOR,
        "the load must still be running at the kill"
    );

    let restarted = Edge::start(&config);
    let total = assert_all_stored(&restarted, &acked).await;
    assert!(
        total > VISITORS,
        "the test checked real traffic ({total} acknowledged)"
    );
    // Each backend says how it came back: from its own log, or from the shared one.
    let recovered = if config.store.is_redis() {
        "caught up with the shared log"
    } else {
        "store recovered"
    };
    assert!(restarted.log_shows(recovered).await, "{}", restarted.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_and_closes_cleanly() {
    let config = EdgeConfig::default();
    let edge = Edge::start(&config);
    let load = start_load(&edge).await;
    wait_for(&load.acked, VISITORS * PER_VISITOR / 4).await;
    let status = edge.terminate();
    assert!(status.success(), "exit status {status:?}");
    let acked = finish(load).await;
    let restarted = Edge::start(&config);
    assert_all_stored(&restarted, &acked).await;
    // A clean close leaves nothing behind to replay: no log tail after the snapshot (embedded),
    // no spooled records (redis).
    let nothing_left = if config.store.is_redis() {
        "spooled=0"
    } else {
        "replayed=0"
    };
    assert!(
        restarted.log_shows(nothing_left).await,
        "{}",
        restarted.log()
    );
}

const FIXTURE_SITE: &str = "fixture-site";
const FIXTURE_KEY: &str = "fixture-api-key-0123456789abcdef";

/// A data directory written by the build before the format carried its own schema (format 2,
/// committed in `tests/fixtures/store-format-2`: a snapshot, and a log segment behind it that a
/// `kill -9` left) is migrated at start: the visitor and the person answer as the old build
/// answered (the person keeps its id), the old files are kept aside unchanged, a restart does
/// not migrate again, and new people get ids above the old ones.
#[tokio::test]
async fn a_store_of_the_previous_format_is_migrated_and_its_files_kept() {
    let config = EdgeConfig {
        store: mikomi_tests::edge::TestStore::Embedded,
        extra_toml: format!(
            "[[sites]]\nkey = \"{FIXTURE_SITE}\"\norigins = [\"http://site.test\"]\nconsent = \"none\"\n\n\
             [[api_keys]]\nkey = \"{FIXTURE_KEY}\"\nsites = [\"{FIXTURE_SITE}\"]\n"
        ),
        ..EdgeConfig::default()
    };
    let fixtures = mikomi_tests::edge::workspace_root().join("tests/fixtures/store-format-2");
    let store = config.data_dir.path().join("store");
    std::fs::create_dir_all(&store).expect("store dir");
    let mut before = Vec::new();
    for entry in std::fs::read_dir(fixtures.join("store")).expect("the committed fixture") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("name").to_owned();
        std::fs::copy(&path, store.join(&name)).expect("copy");
        before.push((name, std::fs::read(&path).expect("read")));
    }
    assert_eq!(before.len(), 2, "a snapshot and a log segment");
    let answered: Value = serde_json::from_slice(
        &std::fs::read(fixtures.join("visitor-as-format-2-answered.json")).expect("answer"),
    )
    .expect("JSON");
    let hex = answered["id"].as_str().expect("hex id").to_string();

    let api = |edge: &Edge, path: String| {
        let request = edge
            .http
            .get(edge.url(&path))
            .bearer_auth(FIXTURE_KEY)
            .send();
        async move {
            let response = request.await.expect("API request");
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let edge = Edge::start(&config);
    assert!(
        edge.log_shows("migrated the store to format 3").await,
        "{}",
        edge.log()
    );
    let (status, mut visitor) = api(&edge, format!("/api/v1/visitors/{hex}")).await;
    assert_eq!(status, 200, "{visitor}");
    let mut expected = answered.clone();
    for answer in [&mut visitor, &mut expected] {
        answer.as_object_mut().expect("object").remove("vid");
    }
    assert_eq!(visitor, expected, "answers as the old build did");
    let person = answered["person"].as_str().expect("person");
    let (status, found) = api(&edge, format!("/api/v1/people/{person}")).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["email"], "hanako@northwind.example");
    assert_eq!(found["name"], "佐藤 花子");
    for (name, bytes) in &before {
        assert!(!store.join(name).exists(), "{name:?} moved aside");
        assert_eq!(
            &std::fs::read(store.join("format-2").join(name)).expect("kept"),
            bytes,
            "{name:?} kept unchanged"
        );
    }

    // A new person after the migration gets an id above every format 2 id.
    let body = serde_json::json!({"site": FIXTURE_SITE, "vid": null, "events": [
        {"type": "conversion", "form": "contact", "url": "http://site.test/contact",
         "fields": {"email": "new@corp.example"}}]});
    let response = edge.collect(&body).await;
    assert_eq!(response.status().as_u16(), 200);
    let vid: Value = response.json().await.expect("JSON");
    let vid = vid["vid"].as_str().expect("vid").to_string();
    let edge = edge.restart_after(|edge| {
        let status = edge.terminate();
        assert!(status.success(), "exit status {status:?}");
    });
    assert!(!edge.log().contains("migrating"), "{}", edge.log());
    let (status, again) = api(&edge, format!("/api/v1/people/{person}")).await;
    assert_eq!((status, &again["email"]), (200, &found["email"]));
    let (_, newcomer) = api(&edge, format!("/api/v1/visitors/{vid}")).await;
    let new_id: u64 = newcomer["person"]
        .as_str()
        .and_then(|p| p.strip_prefix('p'))
        .and_then(|n| n.parse().ok())
        .expect("a person id");
    // The fixture's log ends at position 5, so the first record after the migration is at 6:
    // its ids start at 6 × 4096, above every id format 2 made (at most 5 × 64 + 63).
    assert!(
        new_id >= 6 * 4096,
        "p{new_id} is a format 3 id after the migration"
    );
}
