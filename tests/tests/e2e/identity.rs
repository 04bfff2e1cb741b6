//! Identity through the real edge: anonymous history stitched on conversion, a second device,
//! email-click tokens, hot accounts and the attack list, the sessions feed under concurrent
//! writes, and erasure down to the bytes on disk.

use std::time::Duration;

use mikomi_tests::SITE;
use mikomi_tests::edge::{Edge, EdgeConfig, demo_companies};
use reqwest::Method;
use serde_json::{Value, json};

/// 127.0.1.0/24 in the demo company database.
const NORTHWIND_IP: &str = "127.0.1.77";

fn config() -> EdgeConfig {
    EdgeConfig {
        trusted_proxies: vec!["127.0.0.0/8"],
        ipdb_layers: vec![("companies".into(), demo_companies())],
        session_timeout: Some("1s"),
        ..EdgeConfig::default()
    }
}

fn events(vid: Option<&str>, events: Value) -> Value {
    json!({"site": SITE, "vid": vid, "events": events})
}

fn page(path: &str) -> Value {
    json!({"type": "pageview", "url": format!("http://site.test{path}"), "title": "ページ"})
}

fn contact(email: &str, name: &str) -> Value {
    json!({"type": "conversion", "form": "contact", "url": "http://site.test/contact",
           "fields": {"email": email, "name": name, "company": "Northwind", "password": "never"}})
}

/// A new visit: past the configured one-second session timeout.
async fn later() {
    tokio::time::sleep(Duration::from_millis(1_100)).await;
}

async fn visit(edge: &Edge, vid: Option<&str>, body: Value) -> String {
    let answer = edge.collect_from(NORTHWIND_IP, &events(vid, body)).await;
    answer["vid"].as_str().expect("vid").to_string()
}

#[tokio::test]
async fn anonymous_history_becomes_the_persons_and_the_company_gets_hot() {
    let edge = Edge::start(&config());
    let vid = visit(&edge, None, json!([page("/")])).await;
    later().await;
    visit(&edge, Some(&vid), json!([page("/pricing")])).await;
    later().await;
    assert!(
        edge.all_sessions().await.is_empty(),
        "nothing is identified yet"
    );
    visit(
        &edge,
        Some(&vid),
        json!([
            page("/contact"),
            contact("Hanako@Northwind.example", "佐藤 花子")
        ]),
    )
    .await;

    let sessions = edge.all_sessions().await;
    assert_eq!(
        sessions.len(),
        3,
        "the two anonymous visits came along: {sessions:#?}"
    );
    for session in &sessions {
        assert_eq!(session["person"]["email"], "hanako@northwind.example");
        assert_eq!(session["person"]["name"], "佐藤 花子");
        assert_eq!(session["company"]["name"], "Northwind Analytics Inc.");
        assert_eq!(session["company"]["domain"], "northwind-analytics.example");
        assert!(session["cursor"].is_string() && session["started"].is_string());
    }
    let conversion = &sessions[2]["conversions"][0];
    assert_eq!(conversion["fields"]["company"], "Northwind");
    assert!(
        conversion["fields"].get("password").is_none(),
        "{conversion}"
    );
    let person_id = sessions[0]["person"]["id"]
        .as_str()
        .expect("id")
        .to_string();

    // A second device with the same email joins the same person.
    let phone = visit(
        &edge,
        None,
        json!([page("/product"), contact("hanako@northwind.example", "")]),
    )
    .await;
    assert_ne!(phone, vid);
    let (status, person) = edge
        .api(Method::GET, &format!("/api/v1/people/{person_id}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(person["visitors"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        person["sessions"].as_array().map(Vec::len),
        Some(4),
        "timeline across devices"
    );
    assert_eq!(person["name"], "佐藤 花子", "a blank name did not erase it");

    // Someone else from the same company, identified by an email-click token.
    let (status, minted) = edge
        .api(
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"email": "taro@northwind.example"})),
        )
        .await;
    assert_eq!(status, 201, "{minted}");
    let token = minted["token"].as_str().expect("token");
    let taro = visit(
        &edge,
        None,
        json!([page("/?mk_t=x"), {"type": "identify", "token": token}]),
    )
    .await;
    visit(
        &edge,
        Some(&taro),
        json!([{"type": "engagement", "url": "http://site.test/", "ms": 5000}]),
    )
    .await;
    // One character of the signature changed. Not the last ones: in base64 the final character
    // may carry unused bits, so changing it can leave the decoded bytes as they were.
    let at = token.len() - 6;
    let swapped = if &token[at..=at] == "A" { "B" } else { "A" };
    let forged = format!("{}{swapped}{}", &token[..at], &token[at + 1..]);
    let nobody = visit(
        &edge,
        None,
        json!([page("/"), {"type": "identify", "token": forged}]),
    )
    .await;
    visit(&edge, Some(&nobody), json!([page("/pricing")])).await;

    let (status, hot) = edge
        .api(Method::GET, "/api/v1/accounts/hot?window=7d", None)
        .await;
    assert_eq!(status, 200, "{hot}");
    let top = &hot["accounts"][0];
    assert_eq!(top["domain"], "northwind-analytics.example", "{hot:#}");
    assert_eq!(top["name"], "Northwind Analytics Inc.");
    assert_eq!(
        top["known_people"].as_array().map(Vec::len),
        Some(2),
        "{top}"
    );
    assert_eq!(top["visitors"], 4);
    assert_eq!(
        top["anonymous_visitors"], 1,
        "the forged token identified nobody"
    );

    let csv = edge
        .http
        .get(edge.url("/api/v1/accounts/hot?window=7d"))
        .bearer_auth(mikomi_tests::API_KEY)
        .header("accept", "text/csv")
        .send()
        .await
        .expect("csv");
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.expect("text");
    assert!(text.starts_with('\u{feff}'), "a BOM for spreadsheets");
    let mut lines = text.trim_start_matches('\u{feff}').lines();
    assert_eq!(
        lines.next(),
        Some(
            "rank,company,domain,industry,employees,size_band,country,heat,visits,pageviews,visitors,known_visitors,anonymous_visitors,known_people,key_pages,last_seen,status,owner"
        )
    );
    let first = lines.next().expect("a row");
    assert!(
        first.starts_with(
            "1,Northwind Analytics Inc.,northwind-analytics.example,Software,1800,enterprise,US,"
        ),
        "{first}"
    );
}

#[tokio::test]
async fn the_api_refuses_without_a_key_and_bad_input_with_a_code() {
    let edge = Edge::start(&EdgeConfig::default());
    let plain = edge
        .http
        .get(edge.url("/api/v1/sessions"))
        .send()
        .await
        .expect("request");
    assert_eq!(plain.status().as_u16(), 401);
    let cases = [
        (
            Method::GET,
            "/api/v1/sessions?after=garbage",
            None,
            400,
            "invalid_cursor",
        ),
        (
            Method::GET,
            "/api/v1/sessions?limit=0",
            None,
            400,
            "invalid_limit",
        ),
        (
            Method::GET,
            "/api/v1/sessions?identified=false",
            None,
            400,
            "identified_only",
        ),
        (
            Method::GET,
            "/api/v1/sessions?site=other",
            None,
            403,
            "forbidden",
        ),
        (Method::GET, "/api/v1/people/p999", None, 404, "not_found"),
        (
            Method::GET,
            "/api/v1/people/nobody",
            None,
            400,
            "invalid_person_id",
        ),
        (
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"email": "not-an-email"})),
            400,
            "invalid_email",
        ),
        (
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"mail": "a@b.jp"})),
            400,
            "malformed_json",
        ),
        // An array where an object belongs: serde would read it by position.
        (
            Method::POST,
            "/api/v1/tokens",
            Some(json!(["a@b.jp"])),
            400,
            "malformed_json",
        ),
        (
            Method::GET,
            "/api/v1/accounts/hot?window=1y",
            None,
            400,
            "invalid_window",
        ),
    ];
    for (method, path, body, status, code) in cases {
        let (got, answer) = edge.api(method, path, body).await;
        assert_eq!(
            (got, answer["error"]["code"].as_str()),
            (status, Some(code)),
            "{path}: {answer}"
        );
    }
    let openapi = edge
        .http
        .get(edge.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("request");
    assert_eq!(openapi.status().as_u16(), 200);
    let doc: Value = openapi.json().await.expect("JSON");
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{doc}"
    );
    assert!(doc["paths"]["/api/v1/sessions"].is_object());
}

/// One task converts visitors and keeps adding page views to them; another pages the feed
/// the whole time. Cursors only grow, and the last version of every session is seen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_the_feed_during_writes_misses_and_repeats_nothing() {
    let edge = std::sync::Arc::new(Edge::start(&EdgeConfig::default()));
    let writer = {
        let edge = std::sync::Arc::clone(&edge);
        tokio::spawn(async move {
            let mut vids = Vec::new();
            for i in 0..40 {
                let email = format!("p{}@corp.example", i % 10);
                let answer = edge
                    .collect(&events(
                        None,
                        json!([page(&format!("/a{i}")), contact(&email, "")]),
                    ))
                    .await;
                let body: Value = answer.json().await.expect("JSON");
                vids.push(body["vid"].as_str().expect("vid").to_string());
                for vid in vids.iter().rev().take(3) {
                    edge.collect(&events(Some(vid), json!([page(&format!("/b{i}"))])))
                        .await;
                }
            }
        })
    };
    let parse = |c: &str| -> (u64, u64) {
        let (a, b) = c.split_once('.').expect("cursor shape");
        (a.parse().expect("seq"), b.parse().expect("session"))
    };
    let mut seen: Vec<(u64, u64)> = Vec::new();
    let mut cursor = String::new();
    let mut writer = Some(writer);
    loop {
        let (status, page) = edge
            .api(
                Method::GET,
                &format!("/api/v1/sessions?limit=7&after={cursor}"),
                None,
            )
            .await;
        assert_eq!(status, 200);
        for session in page["sessions"].as_array().cloned().unwrap_or_default() {
            seen.push(parse(session["cursor"].as_str().expect("cursor")));
        }
        if let Some(next) = page["next_cursor"].as_str() {
            cursor = next.to_string();
        }
        if page["sessions"].as_array().is_some_and(Vec::is_empty) {
            match writer.take() {
                Some(w) if !w.is_finished() => writer = Some(w),
                Some(w) => {
                    w.await.expect("writer");
                }
                None => break,
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "cursors only grow, so nothing repeats"
    );
    // The final version of every identified session is the last thing seen of it.
    let finals = edge.all_sessions().await;
    assert_eq!(finals.len(), 40);
    for session in finals {
        let key = parse(session["cursor"].as_str().expect("cursor"));
        assert!(
            seen.contains(&key),
            "the latest update of session {} was missed",
            key.1
        );
    }
    let mut sessions: Vec<u64> = seen.iter().map(|k| k.1).collect();
    sessions.sort_unstable();
    sessions.dedup();
    assert_eq!(sessions.len(), 40);
}

#[tokio::test]
async fn erasure_leaves_no_trace_in_answers_or_on_disk() {
    let config = EdgeConfig {
        session_timeout: Some("1s"),
        ..EdgeConfig::default()
    };
    let edge = Edge::start(&config);
    let email = "erase.me@secret-corp.example";
    let answer = edge
        .collect(&events(None, json!([page("/"), contact(email, "消す 人")])))
        .await;
    let body: Value = answer.json().await.expect("JSON");
    let vid = body["vid"].as_str().expect("vid").to_string();
    later().await; // someone else on the same device, on another visit: a shared device
    let other = edge
        .collect(&events(
            Some(&vid),
            json!([contact("keeper@other.example", "")]),
        ))
        .await;
    assert_eq!(other.status().as_u16(), 200);
    let (_, visitor) = edge
        .api(Method::GET, &format!("/api/v1/visitors/{vid}"), None)
        .await;
    let hex = visitor["id"].as_str().expect("hex id").to_string();
    let (_, person) = edge.api(Method::GET, "/api/v1/sessions", None).await;
    let person_id = person["sessions"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["person"]["email"] == email))
        .and_then(|s| s["person"]["id"].as_str())
        .expect("the person")
        .to_string();
    let edge = edge.restart_after(Edge::kill_hard); // the data is in the log now

    let (status, _) = edge
        .api(Method::DELETE, &format!("/api/v1/people/{person_id}"), None)
        .await;
    assert_eq!(status, 204);
    let edge = edge.restart_after(|e| {
        let status = e.terminate();
        assert!(status.success());
    });
    let (status, _) = edge
        .api(Method::GET, &format!("/api/v1/people/{person_id}"), None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = edge
        .api(Method::GET, &format!("/api/v1/visitors/{vid}"), None)
        .await;
    assert_eq!(status, 404);
    let (_, feed) = edge.api(Method::GET, "/api/v1/sessions", None).await;
    let (_, keeper) = edge.api(Method::GET, "/api/v1/accounts/hot", None).await;
    for answer in [feed.to_string(), keeper.to_string()] {
        assert!(
            !answer.contains(email) && !answer.contains(&vid) && !answer.contains(&hex),
            "{answer}"
        );
    }
    let raw: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex"))
        .collect();
    for entry in mikomi_tests::files_under(config.data_dir.path()) {
        let bytes = std::fs::read(&entry).expect("read");
        for (what, needle) in [
            ("email", email.as_bytes()),
            ("vid", vid.as_bytes()),
            ("hex id", hex.as_bytes()),
            ("raw id", &raw),
        ] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{} still holds the {what}",
                entry.display()
            );
        }
    }
}

#[tokio::test]
async fn backends_change_stage_split_wrong_joins_and_merge_people() {
    let edge = Edge::start(&EdgeConfig::default());
    let first = visit_plain(
        &edge,
        None,
        json!([page("/"), contact("a@corp.example", "A")]),
    )
    .await;
    let second = visit_plain(
        &edge,
        None,
        json!([page("/x"), contact("b@corp.example", "B")]),
    )
    .await;
    let (_, feed) = edge.api(Method::GET, "/api/v1/sessions", None).await;
    let id_of = |email: &str| {
        feed["sessions"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["person"]["email"] == email))
            .and_then(|s| s["person"]["id"].as_str())
            .expect("person in the feed")
            .to_string()
    };
    let (a, b) = (id_of("a@corp.example"), id_of("b@corp.example"));

    let patch = json!({"stage": "sql", "attributes": {"title": "部長", "department": ""}});
    let (status, person) = edge
        .api(Method::PATCH, &format!("/api/v1/people/{a}"), Some(patch))
        .await;
    assert_eq!(status, 200, "{person}");
    assert_eq!(
        (person["stage"].as_str(), person["title"].as_str()),
        (Some("sql"), Some("部長"))
    );
    let (status, refused) = edge
        .api(
            Method::PATCH,
            &format!("/api/v1/people/{a}"),
            Some(json!({"stage": "hot"})),
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (400, Some("invalid_stage"))
    );

    // Undo the join of A's only device: its session leaves the identified feed.
    let device = person["visitors"][0].as_str().expect("device").to_string();
    let (status, _) = edge
        .api(
            Method::POST,
            &format!("/api/v1/people/{a}/split"),
            Some(json!({"visitor": device})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, visitor) = edge
        .api(Method::GET, &format!("/api/v1/visitors/{first}"), None)
        .await;
    assert!(visitor["person"].is_null(), "{visitor}");
    let (_, audit) = edge
        .api(Method::GET, &format!("/api/v1/people/{a}/audit"), None)
        .await;
    let kinds: Vec<&str> = audit["audit"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["event"]["type"].as_str())
        .collect();
    assert_eq!(
        kinds,
        vec!["joined", "conversion_scored", "stage_changed", "split"]
    );

    // B turns out to be A: B's device and history move to A, and B's id still answers.
    let (status, merged) = edge
        .api(
            Method::POST,
            &format!("/api/v1/people/{a}/merge"),
            Some(json!({"from": b})),
        )
        .await;
    assert_eq!(status, 200, "{merged}");
    assert_eq!(merged["sessions"].as_array().map(Vec::len), Some(1));
    let (_, via_old) = edge
        .api(Method::GET, &format!("/api/v1/people/{b}"), None)
        .await;
    assert_eq!(via_old["id"], a.as_str());
    let (_, visitor) = edge
        .api(Method::GET, &format!("/api/v1/visitors/{second}"), None)
        .await;
    assert_eq!(visitor["person"], a.as_str());
}

async fn visit_plain(edge: &Edge, vid: Option<&str>, body: Value) -> String {
    let response = edge.collect(&events(vid, body)).await;
    let answer: Value = response.json().await.expect("JSON");
    answer["vid"].as_str().expect("vid").to_string()
}
