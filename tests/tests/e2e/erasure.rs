//! Erasure through the real edge, for what a person leaves outside their visitor list: a device
//! split off again, a click on their mail that identified nobody, a second address merged into
//! them. After the DELETE and a restart no byte of them is in any file, nor in Redis (when the
//! test store is Redis); a retried DELETE answers 204.

use mikomi_tests::SITE;
use mikomi_tests::edge::{Edge, EdgeConfig};
use reqwest::Method;
use serde_json::{Value, json};

const EMAIL: &str = "hanako.erase@secret-corp.example";
const SECOND_EMAIL: &str = "h.erase@secret-corp.example";
const NAME: &str = "消去 花子";
const PHONE: &str = "03-5550-1234";

fn form(email: &str) -> Value {
    json!({"type": "conversion", "form": "contact", "url": "http://site.test/contact",
           "fields": {"email": email, "name": NAME, "phone": PHONE}})
}

fn page(path: &str) -> Value {
    json!({"type": "pageview", "url": format!("http://site.test{path}")})
}

async fn visit(edge: &Edge, vid: Option<&str>, events: Value) -> String {
    let response = edge
        .collect(&json!({"site": SITE, "vid": vid, "events": events}))
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let answer: Value = response.json().await.expect("JSON");
    answer["vid"].as_str().expect("vid").to_string()
}

/// The visitor's id as the API shows it (hex of its random part).
async fn hex_of(edge: &Edge, vid: &str) -> String {
    let (status, visitor) = edge
        .api(Method::GET, &format!("/api/v1/visitors/{vid}"), None)
        .await;
    assert_eq!(status, 200, "{visitor}");
    visitor["id"].as_str().expect("hex id").to_string()
}

async fn person_id(edge: &Edge, email: &str) -> String {
    let sessions = edge.all_sessions().await;
    sessions
        .iter()
        .find(|s| s["person"]["email"] == email)
        .and_then(|s| s["person"]["id"].as_str())
        .unwrap_or_else(|| panic!("{email} is not in the feed"))
        .to_string()
}

/// Every form of the erased data a file or a Redis value could hold.
fn needles(vids: &[String], hexes: &[String]) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = vec![
        ("email".into(), EMAIL.into()),
        ("second email".into(), SECOND_EMAIL.into()),
        ("name".into(), NAME.into()),
        ("phone".into(), PHONE.into()),
    ];
    for vid in vids {
        out.push((format!("vid {vid}"), vid.clone().into_bytes()));
    }
    for hex in hexes {
        out.push((format!("hex id {hex}"), hex.clone().into_bytes()));
        let raw = (0..16)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex"))
            .collect();
        out.push((format!("raw id {hex}"), raw));
    }
    out
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn erasure_takes_split_devices_ignored_clicks_and_merged_addresses_down_to_the_bytes() {
    let config = EdgeConfig {
        session_timeout: Some("1s"),
        ..EdgeConfig::default()
    };
    let edge = Edge::start(&config);

    // Her first device converts; her second converts too, and is then split off again.
    let first = visit(&edge, None, json!([page("/"), form(EMAIL)])).await;
    let second = visit(&edge, None, json!([page("/pricing"), form(EMAIL)])).await;
    let hanako = person_id(&edge, EMAIL).await;
    let second_hex = hex_of(&edge, &second).await;
    let (status, split) = edge
        .api(
            Method::POST,
            &format!("/api/v1/people/{hanako}/split"),
            Some(json!({"visitor": second_hex})),
        )
        .await;
    assert_eq!(status, 200, "{split}");

    // A click on her mail on a device that shows no sign of a human: it identifies nobody.
    let (status, minted) = edge
        .api(
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"email": EMAIL})),
        )
        .await;
    assert_eq!(status, 201, "{minted}");
    let token = minted["token"].as_str().expect("token");
    let clicked = visit(
        &edge,
        None,
        json!([page("/?mk_t=x"), {"type": "identify", "token": token}]),
    )
    .await;

    // Her second address, a person of its own, merged into her.
    let fourth = visit(&edge, None, json!([page("/"), form(SECOND_EMAIL)])).await;
    let second_person = person_id(&edge, SECOND_EMAIL).await;
    let (status, merged) = edge
        .api(
            Method::POST,
            &format!("/api/v1/people/{hanako}/merge"),
            Some(json!({"from": second_person})),
        )
        .await;
    assert_eq!(status, 200, "{merged}");

    // Someone else, who must stay.
    let keeper = json!({"type": "conversion", "form": "contact", "url": "http://site.test/contact",
                        "fields": {"email": "keeper@other.example", "name": "残る 人"}});
    let keeper = visit(&edge, None, json!([page("/"), keeper])).await;

    let vids = vec![first, second, clicked, fourth];
    let mut hexes = Vec::new();
    for vid in &vids {
        hexes.push(hex_of(&edge, vid).await);
    }
    let edge = edge.restart_after(Edge::kill_hard); // the data is in the log now

    let (status, _) = edge
        .api(Method::DELETE, &format!("/api/v1/people/{hanako}"), None)
        .await;
    assert_eq!(status, 204);
    let edge = edge.restart_after(|e| {
        let status = e.terminate();
        assert!(status.success());
    });

    for vid in &vids {
        let (status, visitor) = edge
            .api(Method::GET, &format!("/api/v1/visitors/{vid}"), None)
            .await;
        assert_eq!(status, 404, "{vid} is still known: {visitor}");
    }
    for id in [&hanako, &second_person] {
        let (status, _) = edge
            .api(Method::GET, &format!("/api/v1/people/{id}"), None)
            .await;
        assert_eq!(status, 404);
    }
    let (status, _) = edge
        .api(Method::GET, &format!("/api/v1/visitors/{keeper}"), None)
        .await;
    assert_eq!(status, 200, "someone else's visitor went too");

    // A retry (the answer was lost, say) is done, not unknown; an id never seen is unknown.
    let (status, _) = edge
        .api(Method::DELETE, &format!("/api/v1/people/{hanako}"), None)
        .await;
    assert_eq!(status, 204, "a retried erasure");
    let (status, _) = edge
        .api(Method::DELETE, "/api/v1/people/p999999999", None)
        .await;
    assert_eq!(status, 404);

    let needles = needles(&vids, &hexes);
    for path in mikomi_tests::files_under(config.data_dir.path()) {
        let bytes = std::fs::read(&path).expect("read");
        for (what, needle) in &needles {
            assert!(
                !holds(&bytes, needle),
                "{} still holds the {what}",
                path.display()
            );
        }
    }
    if let Some(redis) = config.redis() {
        let contents = mikomi_tests::redis_contents::everything(&redis.url()).await;
        assert!(!contents.is_empty(), "the test reads what redis holds");
        for (key, bytes) in &contents {
            for (what, needle) in &needles {
                assert!(
                    !holds(bytes, needle),
                    "redis key {key} still holds the {what}"
                );
            }
        }
    }
}

/// Collect keeps answering while 100 erasures run one after another, each rewriting the data
/// files: every page view is stored (200) and every erasure done (204). The latencies of
/// collect alone and during the erasures are printed (`--nocapture`), for the record; whether
/// a compaction holds collect up is decided by the store's own test, not by a clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collect_goes_on_while_a_hundred_erasures_run() {
    const PEOPLE: usize = 100;
    const FILLER: usize = 2_000;
    let config = EdgeConfig {
        // One test client creates them all: lift the per-address cap on new people.
        extra_toml: "[identity]\nmax_new_people_per_address = 1000\n".into(),
        ..EdgeConfig::default()
    };
    let edge = std::sync::Arc::new(Edge::start(&config));
    for n in 0..FILLER {
        visit(&edge, None, json!([page(&format!("/filler/{n}"))])).await;
    }
    for n in 0..PEOPLE {
        visit(
            &edge,
            None,
            json!([page("/"), form(&format!("erase.{n}@burst.example"))]),
        )
        .await;
    }
    let sessions = edge.all_sessions().await;
    let mut people: Vec<String> = sessions
        .iter()
        .filter(|s| {
            s["person"]["email"]
                .as_str()
                .is_some_and(|e| e.ends_with("@burst.example"))
        })
        .filter_map(|s| s["person"]["id"].as_str().map(str::to_string))
        .collect();
    people.sort();
    people.dedup();
    assert_eq!(people.len(), PEOPLE);

    let alone = collect_latencies(&edge, 400).await;
    let erasing = {
        let edge = std::sync::Arc::clone(&edge);
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            for id in people {
                let (status, answer) = edge
                    .api(Method::DELETE, &format!("/api/v1/people/{id}"), None)
                    .await;
                assert_eq!(status, 204, "{answer}");
            }
            started.elapsed()
        })
    };
    let mut during = Vec::new();
    while !erasing.is_finished() {
        during.extend(collect_latencies(&edge, 50).await);
    }
    let took = erasing.await.expect("erasures");
    assert!(!during.is_empty(), "collect ran during the erasures");
    println!(
        "collect alone: p50 {:.1} ms, p99 {:.1} ms ({} requests); during {PEOPLE} erasures ({:.1} s): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} requests)",
        quantile(&alone, 0.5),
        quantile(&alone, 0.99),
        alone.len(),
        took.as_secs_f64(),
        quantile(&during, 0.5),
        quantile(&during, 0.99),
        quantile(&during, 1.0),
        during.len()
    );
}

/// `count` page views from 8 concurrent visitors; each one's latency in ms.
async fn collect_latencies(edge: &std::sync::Arc<Edge>, count: usize) -> Vec<f64> {
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let edge = std::sync::Arc::clone(edge);
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            let mut vid: Option<String> = None;
            for n in (worker..count).step_by(8) {
                let started = std::time::Instant::now();
                let body =
                    json!({"site": SITE, "vid": vid, "events": [page(&format!("/load/{n}"))]});
                let response = edge.collect(&body).await;
                assert_eq!(response.status().as_u16(), 200);
                let answer: Value = response.json().await.expect("JSON");
                out.push(started.elapsed().as_secs_f64() * 1000.0);
                vid = answer["vid"].as_str().map(str::to_string);
            }
            out
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("load"));
    }
    all
}

fn quantile(samples: &[f64], q: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(at).copied().unwrap_or(0.0)
}
