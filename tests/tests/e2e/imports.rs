//! People lists through the real edge: a 10,000-row Shift_JIS seminar list with broken rows,
//! imported once and again; an imported attendee who later clicks a mailed link and is scored
//! for the seminar; and erasure of an imported person down to the bytes on disk.

use std::collections::BTreeSet;

use mikomi_tests::edge::{Edge, EdgeConfig};
use mikomi_tests::{API_KEY, SITE};
use reqwest::Method;
use serde_json::{Value, json};

/// Posts a file to the import endpoint; returns the status and the JSON answer.
async fn import(edge: &Edge, query: &str, file: Vec<u8>) -> (u16, Value) {
    let response = edge
        .http
        .post(edge.url(&format!("/api/v1/people/import{query}")))
        .bearer_auth(API_KEY)
        .header("content-type", "text/csv")
        .body(file)
        .send()
        .await
        .expect("import request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn shift_jis(text: &str) -> Vec<u8> {
    let (bytes, _, lossy) = encoding_rs::SHIFT_JIS.encode(text);
    assert!(!lossy, "every character has a Shift_JIS code");
    bytes.into_owned()
}

fn counts(report: &Value) -> [u64; 6] {
    [
        "rows",
        "created",
        "filled",
        "unchanged",
        "events_added",
        "proposed",
    ]
    .map(|k| {
        report[k]
            .as_u64()
            .unwrap_or_else(|| panic!("{k} in {report}"))
    })
}

/// The attendee list as Japanese Excel saves it, with every 500th row broken in one of four
/// ways; returns the file and the lines (header = 1) that must be refused.
fn attendee_list() -> (String, BTreeSet<u64>) {
    let mut text = String::from("メールアドレス,姓,名,会社名,部署,役職,種別,セミナー名,開催日\r\n");
    let mut bad = BTreeSet::new();
    for i in 0..10_000u64 {
        let line = i + 2;
        let (email, date) = match (i % 500 == 250, i / 500 % 4) {
            (false, _) => (format!("attendee{i}@example.co.jp"), "2026/11/10"),
            (true, 0) => ("名刺の裏に記載".to_string(), "2026/11/10"),
            (true, 1) => (String::new(), "2026/11/10"),
            (true, 2) => (format!("attendee{i}@example.co.jp"), "2026年13月40日"),
            (true, _) => (format!("attendee{i}@example.co.jp"), ""),
        };
        if i % 500 == 250 {
            bad.insert(line);
        }
        text.push_str(&format!(
            "{email},佐藤,花子{i},株式会社ノースウィンド,営業部,課長,セミナー,はじめての見込み客発掘,{date}\r\n"
        ));
    }
    (text, bad)
}

#[tokio::test]
async fn a_shift_jis_list_imports_its_good_rows_reports_each_bad_line_and_imports_once() {
    let config = EdgeConfig::default();
    let edge = Edge::start(&config);
    let (text, bad) = attendee_list();
    assert_eq!(bad.len(), 20);
    let file = shift_jis(&text);

    let (status, preview) = import(&edge, "?dry_run=true", file.clone()).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["dry_run"], true);
    assert_eq!(counts(&preview), [9_980, 9_980, 0, 0, 9_980, 0]);
    assert_eq!(preview["chunks"], 0, "a dry run writes nothing");

    let (status, report) = import(&edge, "", file.clone()).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        counts(&report),
        [9_980, 9_980, 0, 0, 9_980, 0],
        "the dry run wrote nothing: every person is still new"
    );
    assert_eq!(report["chunks"], 10, "chunks of at most 1,000 rows");
    let refused = report["refused"].as_array().expect("refused");
    let lines: BTreeSet<u64> = refused
        .iter()
        .map(|r| r["line"].as_u64().expect("line"))
        .collect();
    assert_eq!(lines, bad, "each bad line, by its number");
    let reasons: BTreeSet<&str> = refused
        .iter()
        .map(|r| r["reason"].as_str().expect("reason"))
        .collect();
    for expected in [
        "`名刺の裏に記載` is not an email address",
        "no email address",
        "`2026年13月40日` is not a date (2026-11-10, 2026/11/10 or 2026年11月10日)",
        "an event of kind `seminar` needs a date",
    ] {
        assert!(reasons.contains(expected), "{expected} in {reasons:?}");
    }

    let (status, again) = import(&edge, "", file.clone()).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        counts(&again),
        [9_980, 0, 0, 9_980, 0, 0],
        "nothing changes"
    );
    assert_eq!(again["refused"].as_array().map(Vec::len), Some(20));

    // After a crash, recovery replays the chunks into the same people: still nothing to do.
    let edge = edge.restart_after(Edge::kill_hard);
    let (_, after_restart) = import(&edge, "?dry_run=true", file).await;
    assert_eq!(counts(&after_restart), [9_980, 0, 0, 9_980, 0, 0]);
}

#[tokio::test]
async fn a_file_that_cannot_be_read_or_is_too_large_is_refused_whole() {
    let config = EdgeConfig {
        extra_toml: "[imports]\nmax_bytes = 1024\n".into(),
        ..EdgeConfig::default()
    };
    let edge = Edge::start(&config);
    let (status, body) = import(&edge, "", b"name,company\nA,B\n".to_vec()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("no_email_column"))
    );
    let (status, body) = import(&edge, "", vec![b'a'; 2048]).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("file_too_large"))
    );
    let (status, body) = import(&edge, "?dry_run=maybe", b"email\n".to_vec()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_dry_run"))
    );
    let unauthorized = edge
        .http
        .post(edge.url("/api/v1/people/import"))
        .body("email\na@example.co.jp\n")
        .send()
        .await
        .expect("request");
    assert_eq!(unauthorized.status().as_u16(), 401);
}

/// Today's date (UTC) as `YYYY-MM-DD`: the civil date of the days since 1970 (Hinnant's
/// algorithm), so the seminar's points have not decayed by more than a day's worth.
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// A browser that looks around anonymously, then arrives from a mailed link for `email` and
/// reads on; returns the person's API answer.
async fn browse_then_click(edge: &Edge, email: &str) -> Value {
    let page = |path: &str| json!({"type": "pageview", "url": format!("http://site.test{path}"), "title": "ページ"});
    let first: Value = edge
        .collect(&json!({"site": SITE, "vid": null, "events": [page("/"), page("/pricing")]}))
        .await
        .json()
        .await
        .expect("JSON");
    let vid = first["vid"].as_str().expect("vid").to_string();
    let (status, minted) = edge
        .api(
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"email": email})),
        )
        .await;
    assert_eq!(status, 201, "{minted}");
    let token = minted["token"].as_str().expect("token");
    let click = edge
        .collect(&json!({"site": SITE, "vid": vid, "events": [
            page("/seminar-followup?mk_t=x"), {"type": "identify", "token": token}
        ]}))
        .await;
    assert_eq!(click.status().as_u16(), 200);
    // A click identifies once a person shows: another page view in the same visit.
    let next = edge
        .collect(&json!({"site": SITE, "vid": vid, "events": [page("/seminar-followup/agenda")]}))
        .await;
    assert_eq!(next.status().as_u16(), 200);
    let sessions = edge.all_sessions().await;
    let id = sessions
        .iter()
        .find(|s| s["person"]["email"] == email)
        .and_then(|s| s["person"]["id"].as_str())
        .unwrap_or_else(|| panic!("{email} is identified: {sessions:#?}"))
        .to_string();
    let (status, person) = edge
        .api(Method::GET, &format!("/api/v1/people/{id}"), None)
        .await;
    assert_eq!(status, 200, "{person}");
    person
}

#[tokio::test]
async fn an_imported_attendee_who_clicks_a_mailed_link_joins_with_their_visits_and_seminar_points()
{
    let edge = Edge::start(&EdgeConfig::default());
    let file = format!(
        "email,last_name,first_name,company,event_kind,event_name,event_date\n\
         hanako@northwind.example,佐藤,花子,ノースウィンド,seminar,はじめての見込み客発掘,{}\n",
        today()
    );
    let (status, report) = import(&edge, "", file.into_bytes()).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["created"], 1);

    let attendee = browse_then_click(&edge, "hanako@northwind.example").await;
    // Someone who did exactly the same on the site, but was never at the seminar.
    let stranger = browse_then_click(&edge, "taro@northwind.example").await;

    assert_eq!(attendee["name"], "佐藤 花子", "the imported attributes");
    assert_eq!(attendee["company"], "ノースウィンド");
    assert_eq!(attendee["visitors"].as_array().map(Vec::len), Some(1));
    let pages: Vec<&str> = attendee["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .flat_map(|s| s["events"].as_array().into_iter().flatten())
        .filter_map(|p| p["url"].as_str())
        .collect();
    assert!(
        pages.iter().any(|u| u.ends_with("/pricing")),
        "the anonymous visit before the click came along: {attendee:#}"
    );
    assert_eq!(
        attendee["offline_events"],
        json!([{"kind": "seminar", "name": "はじめての見込み客発掘", "date": today()}])
    );
    let seminar =
        attendee["score"].as_f64().expect("score") - stranger["score"].as_f64().expect("score");
    // 20 points (the default `[scoring.offline] seminar`) on today's date, decayed by at most
    // a day with the 14-day half-life: 20 × 0.5^(1/14) ≈ 19.0.
    assert!(
        (18.9..=20.05).contains(&seminar),
        "the seminar's points are in the score: {attendee:#} against {stranger:#}"
    );
}

#[tokio::test]
async fn erasing_an_imported_person_leaves_their_address_nowhere_on_disk() {
    let config = EdgeConfig::default();
    let edge = Edge::start(&config);
    let email = "erase.me@imported-corp.example";
    let file = format!(
        "email,name,event_kind,event_name,event_date\n{email},消す 人,exhibition,展示会,2026-11-10\n"
    );
    let (status, _) = import(&edge, "", file.into_bytes()).await;
    assert_eq!(status, 200);
    // Find the person through an email click, the only way an import's person gets a session.
    let person = browse_then_click(&edge, email).await;
    let id = person["id"].as_str().expect("id").to_string();
    let edge = edge.restart_after(Edge::kill_hard); // the chunk is in the log now

    let (status, _) = edge
        .api(Method::DELETE, &format!("/api/v1/people/{id}"), None)
        .await;
    assert_eq!(status, 204);
    let edge = edge.restart_after(|e| assert!(e.terminate().success()));
    let (status, _) = edge
        .api(Method::GET, &format!("/api/v1/people/{id}"), None)
        .await;
    assert_eq!(status, 404);
    for path in mikomi_tests::files_under(config.data_dir.path()) {
        let bytes = std::fs::read(&path).expect("read");
        assert!(
            !bytes.windows(email.len()).any(|w| w == email.as_bytes()),
            "{} still holds the address",
            path.display()
        );
    }
}

/// The console's upload: viewers may not, an editor previews (nothing is written) and imports
/// the demo file, and the person page shows the seminar in the timeline, in both languages.
#[tokio::test]
async fn an_editor_previews_and_imports_a_list_in_the_console_and_the_timeline_shows_it() {
    use mikomi_tests::console::{self, Console, PASSWORD, csrf_of};
    let config = EdgeConfig {
        extra_toml: console::users_toml(SITE),
        ..EdgeConfig::default()
    };
    let edge = Edge::start(&config);
    let demo = mikomi_tests::edge::workspace_root().join("demo/imports/seminar-attendees-utf8.csv");
    let file = std::fs::read(demo).expect("the demo file");
    let path = "/console/sites/test/people/import";

    let mut viewer = Console::new(&edge);
    assert_eq!(viewer.login("viewer", PASSWORD).await, 303);
    let (status, _, page) = viewer.get(path).await;
    assert_eq!(status, 200);
    assert!(page.contains("インポートは編集者のみ"), "{page}");
    let (_, _, leads) = viewer.get("/console/sites/test/people").await;
    let token = csrf_of(&leads);
    let (status, _) = viewer
        .post_file(
            path,
            &[("_csrf", &token), ("action", "import")],
            "file",
            "a.csv",
            &file,
        )
        .await;
    assert_eq!(status, 403, "a viewer cannot import");

    let mut sales = Console::new(&edge);
    assert_eq!(sales.login("sales", PASSWORD).await, 303);
    let (status, _, page) = sales.get(path).await;
    assert_eq!(status, 200);
    let token = csrf_of(&page);
    let (status, _) = sales
        .post_file(
            path,
            &[("_csrf", "forged"), ("action", "import")],
            "file",
            "a.csv",
            &file,
        )
        .await;
    assert_eq!(status, 403, "no import without the form's token");

    let (status, preview) = sales
        .post_file(
            path,
            &[("_csrf", &token), ("action", "preview")],
            "file",
            "a.csv",
            &file,
        )
        .await;
    assert_eq!(status, 200, "{preview}");
    assert!(
        preview.contains("<th>新しい人物</th><td class=\"num\">5</td>"),
        "{preview}"
    );
    let (_, _, leads) = sales.get("/console/sites/test/people").await;
    assert!(
        !leads.contains("hanako.sato@northwind.example"),
        "a preview writes nothing"
    );

    let (status, done) = sales
        .post_file(
            path,
            &[("_csrf", &token), ("action", "import")],
            "file",
            "a.csv",
            &file,
        )
        .await;
    assert_eq!(status, 200, "{done}");
    assert!(done.contains("インポートしました"), "{done}");
    let (_, _, leads) = sales.get("/console/sites/test/people").await;
    let marker = "href=\"/console/sites/test/people/p";
    let at = leads
        .find("hanako.sato@northwind.example")
        .and_then(|end| leads[..end].rfind(marker))
        .expect("the imported person is listed");
    let link: String = leads[at + "href=\"".len()..]
        .chars()
        .take_while(|c| *c != '"')
        .collect();
    let (status, _, person) = sales.get(&link).await;
    assert_eq!(status, 200);
    assert!(person.contains("オフラインの接点"), "{person}");
    assert!(
        person.contains("セミナー「はじめての見込み客発掘」"),
        "{person}"
    );
    assert!(person.contains("2026/11/10"), "{person}");
    let (_, _, english) = sales.get(&format!("{link}?lang=en")).await;
    assert!(
        english.contains("Seminar「はじめての見込み客発掘」"),
        "{english}"
    );
    assert!(
        english.contains("Offline events"),
        "the score line: {english}"
    );
}

async fn post_accounts(edge: &Edge, query: &str, file: Vec<u8>) -> (u16, Value) {
    let response = edge
        .http
        .post(edge.url(&format!("/api/v1/accounts/import{query}")))
        .bearer_auth(API_KEY)
        .body(file)
        .send()
        .await
        .expect("import request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The CRM's company list: a customer with its owner, known on the site only by the email
/// domain of a person who converted; the hot list marks it, names the owner, fills the
/// employee band, and keeps doing so after a crash and after a clean restart.
#[tokio::test]
async fn a_customer_from_the_accounts_list_is_marked_with_its_owner_in_the_hot_list() {
    use mikomi_tests::console::{self, Console, PASSWORD};
    let config = EdgeConfig {
        extra_toml: console::users_toml(SITE),
        ..EdgeConfig::default()
    };
    let edge = Edge::start(&config);
    let list = shift_jis(
        "ドメイン,会社名,業種,従業員数,国,区分,担当者メール\r\n\
         www.northwind.example,ノースウィンド株式会社,製造業,\"1,200\",JP,顧客,Suzuki@Ours.example\r\n\
         southwind.example,サウスウィンド株式会社,小売業,80,JP,見込み,tanaka@ours.example\r\n\
         not a domain,X,,,,顧客,\r\n",
    );
    let (status, preview) = post_accounts(&edge, "?dry_run=true", list.clone()).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(
        (preview["created"].as_u64(), preview["chunks"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(preview["refused"][0]["line"], 4);
    let (status, report) = post_accounts(&edge, "", list.clone()).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["created"], 2);
    let (_, again) = post_accounts(&edge, "", list).await;
    assert_eq!(
        (again["created"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(2))
    );

    let contact = json!({"site": SITE, "vid": null, "events": [
        {"type": "pageview", "url": "http://site.test/pricing", "title": "料金"},
        {"type": "conversion", "form": "contact", "url": "http://site.test/contact",
         "fields": {"email": "hanako@northwind.example", "name": "佐藤 花子"}}]});
    let answer: Value = edge.collect(&contact).await.json().await.expect("JSON");
    // The account by email domain counts from the person's next page view on.
    let next = json!({"site": SITE, "vid": answer["vid"], "events": [
        {"type": "pageview", "url": "http://site.test/product", "title": "製品"}]});
    assert_eq!(edge.collect(&next).await.status().as_u16(), 200);

    let check = |hot: &Value| {
        let row = hot["accounts"]
            .as_array()
            .and_then(|a| a.iter().find(|r| r["domain"] == "northwind.example"))
            .unwrap_or_else(|| panic!("northwind on the hot list: {hot:#}"))
            .clone();
        assert_eq!(row["status"], "customer", "{row:#}");
        assert_eq!(row["owner"], "suzuki@ours.example");
        assert_eq!(row["size_band"], "enterprise", "employees from the list");
        assert_eq!(row["industry"], "製造業");
    };
    let (status, hot) = edge
        .api(Method::GET, "/api/v1/accounts/hot?window=7d", None)
        .await;
    assert_eq!(status, 200, "{hot}");
    check(&hot);

    let (_, new_business) = edge
        .api(
            Method::GET,
            "/api/v1/accounts/hot?window=7d&customers=hide",
            None,
        )
        .await;
    assert_eq!(
        new_business["accounts"],
        json!([]),
        "customers hidden: {new_business}"
    );

    let mut sales = Console::new(&edge);
    assert_eq!(sales.login("sales", PASSWORD).await, 303);
    let (_, _, page) = sales.get("/console/sites/test/accounts").await;
    assert!(
        page.contains("既存顧客") && page.contains("suzuki@ours.example"),
        "{page}"
    );
    let (_, _, hidden) = sales
        .get("/console/sites/test/accounts?customers=hide")
        .await;
    assert!(
        !hidden.contains("northwind.example"),
        "customers hidden: {hidden}"
    );

    let edge = edge.restart_after(Edge::kill_hard); // from the log
    check(
        &edge
            .api(Method::GET, "/api/v1/accounts/hot?window=7d", None)
            .await
            .1,
    );
    let edge = edge.restart_after(|e| assert!(e.terminate().success())); // from the snapshot
    check(
        &edge
            .api(Method::GET, "/api/v1/accounts/hot?window=7d", None)
            .await
            .1,
    );
}
