//! The console over real HTTP against a real edge: sign-in (wrong password, rate limit), the
//! session cookie's attributes, CSRF, roles, other users' sites, the CSV of what is on screen,
//! hostile names shown as text, and a stage set in the console reaching the API and webhooks.

use std::sync::Arc;
use std::time::Duration;

use mikomi_tests::SITE;
use mikomi_tests::console::{self, Console, PASSWORD, csrf_of};
use mikomi_tests::edge::{Edge, EdgeConfig, demo_companies};
use serde_json::Value;
use tokio::net::TcpListener;

use super::webhooks::{Received, SECRET, receiver, wait_until};

fn config(extra: &str) -> EdgeConfig {
    EdgeConfig {
        trusted_proxies: vec!["127.0.0.0/8"],
        ipdb_layers: vec![("demo-companies".into(), demo_companies())],
        session_timeout: Some("1s"),
        extra_toml: console::users_toml(SITE) + extra,
        ..EdgeConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_refuses_wrong_passwords_limits_guessing_and_sets_a_strict_cookie() {
    let config = config("\n[console]\nlogin_burst = 3\nlogin_every = \"1h\"\n");
    let edge = Edge::start(&config);
    let mut browser = Console::new(&edge);
    let (status, location, _) = browser.get("/console/sites/test/accounts").await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/console/login"),
        "signed out"
    );
    assert_eq!(browser.login("sales", "wrong password").await, 401);
    assert_eq!(browser.login("nobody", PASSWORD).await, 401, "unknown name");
    assert_eq!(browser.login("sales", PASSWORD).await, 303);
    let (status, _, page) = browser.get("/console/sites/test/accounts").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("今アクセスしている企業"));
    // The fourth attempt for one name within the hour is refused before the password check.
    assert_eq!(browser.login("sales", "wrong").await, 401);
    assert_eq!(browser.login("sales", PASSWORD).await, 429, "rate-limited");

    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .post(edge.url("/console/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("user=viewer&password={PASSWORD}"))
        .send()
        .await
        .expect("login");
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_string();
    for part in [
        "mk_console=",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/console/",
        "Max-Age=43200",
    ] {
        assert!(cookie.contains(part), "{cookie} lacks {part}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_need_the_token_viewers_cannot_change_and_other_sites_do_not_exist() {
    let config = config("");
    let edge = Edge::start(&config);
    let seeded = console::seed(&edge, Duration::from_millis(1_200)).await;
    let person_page = format!("/console/sites/test/people/{}", seeded.person);

    let mut viewer = Console::new(&edge);
    assert_eq!(viewer.login("viewer", PASSWORD).await, 303);
    let (status, _, page) = viewer.get(&person_page).await;
    assert_eq!(status, 200, "{page}");
    assert!(!page.contains("/stage\""), "no stage form for a viewer");
    let token = csrf_of(&page);
    let (status, _) = viewer
        .post(
            &format!("{person_page}/stage"),
            &[("_csrf", &token), ("stage", "sql")],
        )
        .await;
    assert_eq!(status, 403, "a viewer may not set stages");

    let mut sales = Console::new(&edge);
    assert_eq!(sales.login("sales", PASSWORD).await, 303);
    let (status, _) = sales
        .post(&format!("{person_page}/stage"), &[("stage", "sql")])
        .await;
    assert_eq!(status, 403, "no CSRF token");
    let (status, _) = sales
        .post(
            &format!("{person_page}/stage"),
            &[("_csrf", &token), ("stage", "sql")],
        )
        .await;
    assert_eq!(status, 403, "another session's token");
    let (_, _, page) = sales.get(&person_page).await;
    let (status, location) = sales
        .post(
            &format!("{person_page}/stage"),
            &[("_csrf", &csrf_of(&page)), ("stage", "sql")],
        )
        .await;
    assert_eq!((status, location.as_str()), (303, person_page.as_str()));
    let (status, person) = edge
        .api_get(&format!("/api/v1/people/{}", seeded.person))
        .await;
    assert_eq!(status, 200);
    assert_eq!(person["stage"], "sql", "{person:#}");

    for path in [
        "/console/sites/demo/accounts",
        "/console/sites/other/people/p1",
    ] {
        let (status, _, _) = sales.get(path).await;
        assert_eq!(status, 404, "{path}: not this user's site");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csv_holds_what_the_list_shows_and_hostile_names_stay_text() {
    let config = config("");
    let edge = Edge::start(&config);
    console::seed(&edge, Duration::from_millis(1_200)).await;
    let mut sales = Console::new(&edge);
    assert_eq!(sales.login("sales", PASSWORD).await, 303);

    let (_, _, page) = sales.get("/console/sites/test/accounts").await;
    let seiki = page.find("見込み精機株式会社").expect("見込み精機 listed");
    let northwind = page
        .find("Northwind Analytics Inc.")
        .expect("Northwind listed");
    let sakura = page
        .find("さくら坂デザイン合同会社")
        .expect("さくら坂 listed");
    assert!(seiki < northwind && northwind < sakura, "ranked by heat");
    assert!(
        !page.contains("デモ光ブロードバンド"),
        "an ISP is not a company"
    );

    let (_, _, narrowed) = sales
        .get("/console/sites/test/accounts?band=enterprise")
        .await;
    assert!(narrowed.contains("Northwind") && !narrowed.contains("見込み精機株式会社"));
    let (status, _, csv) = sales
        .get("/console/sites/test/accounts.csv?band=enterprise")
        .await;
    assert_eq!(status, 200);
    let rows: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().skip(1).collect();
    assert_eq!(
        rows.len(),
        narrowed.matches("<tr class=\"account").count(),
        "{csv}"
    );
    assert!(rows.iter().all(|r| r.contains("enterprise")), "{csv}");

    let (_, _, all) = sales.get("/console/sites/test/accounts?names=all").await;
    for page in [&page, &all] {
        assert!(!page.contains("<script>alert"), "a company name is text");
        assert!(!page.contains("<img src=x"), "markup in a name is text");
    }
    assert!(
        page.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "shown escaped: {page}"
    );
    let (_, _, leads) = sales.get("/console/sites/test/people").await;
    assert!(
        leads.contains("&#34;&#62;&#60;img src=x onerror=alert(1)&#62;"),
        "{leads}"
    );
    assert!(!leads.contains("<img src=x"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stage_set_in_the_console_reaches_the_webhooks() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let received = Arc::new(Received::default());
    let _server = receiver(listener, Arc::clone(&received));
    let mut config = config("");
    config.webhooks = vec![(format!("http://{address}/hook"), SECRET.to_string())];
    let edge = Edge::start(&config);
    let seeded = console::seed(&edge, Duration::from_millis(1_200)).await;
    let mut sales = Console::new(&edge);
    assert_eq!(sales.login("sales", PASSWORD).await, 303);
    let page_path = format!("/console/sites/test/people/{}", seeded.person);
    let (_, _, page) = sales.get(&page_path).await;
    let (status, _) = sales
        .post(
            &format!("{page_path}/stage"),
            &[("_csrf", &csrf_of(&page)), ("stage", "sql")],
        )
        .await;
    assert_eq!(status, 303);
    let stage_changes = || -> Vec<Value> {
        received
            .delivered
            .lock()
            .map(|d| {
                d.iter()
                    .filter_map(|(_, body)| serde_json::from_slice::<Value>(body).ok())
                    .filter(|v| v["type"] == "person.stage_changed")
                    .collect()
            })
            .unwrap_or_default()
    };
    wait_until("the stage change webhook", || !stage_changes().is_empty()).await;
    let event = &stage_changes()[0];
    assert_eq!(event["data"]["person"], seeded.person.as_str(), "{event:#}");
    assert_eq!(event["data"]["to"], "sql");
    assert!(
        ["lead", "mql"].contains(&event["data"]["from"].as_str().unwrap_or("")),
        "{event:#}"
    );
}
