//! Alerts on the real edge: visits from a demo company cross an account rule, and exactly one
//! Slack message and one Teams message arrive at local HTTPS receivers (a test CA as an extra
//! root), in the documented shapes; a second burst inside the cooldown, and a restart, send
//! nothing more; a dead channel does not hold back the others, and its dead letter is listed
//! and retried on request.

use std::time::Duration;

use mikomi_tests::alerting::{
    DEMO_DOMAIN, DEMO_IP, DEMO_NAME, check_adaptive_card, check_block_kit, company_db, visit,
};
use mikomi_tests::edge::{Edge, EdgeConfig};
use mikomi_tests::receiver::{Behaviour, Receiver, TestCa};
use serde_json::{Value, json};

const CONSOLE: &str = "https://mikomi.example.co.jp/console";

struct Setup {
    config: EdgeConfig,
    slack: Receiver,
    teams: Receiver,
}

async fn setup(extra: &str) -> Setup {
    let ca = TestCa::new();
    let slack = Receiver::https(&ca).await;
    let teams = Receiver::https(&ca).await;
    let mut config = EdgeConfig {
        trusted_proxies: vec!["127.0.0.0/8"],
        ..EdgeConfig::default()
    };
    let db = company_db(config.data_dir.path());
    config.ipdb_layers = vec![("companies".into(), db)];
    let pem = ca.write_pem(config.data_dir.path());
    config.extra_toml = format!(
        r#"[outgoing]
extra_roots = [{pem:?}]

[alerting]
console_url = "{CONSOLE}"
max_attempts = 3

[[alerting.channels]]
name = "sales-slack"
kind = "slack"
url = "{slack}"

[[alerting.channels]]
name = "sales-teams"
kind = "teams"
url = "{teams}"

[[alerts]]
name = "hot-target"
site = "test"
to = ["sales-slack", "sales-teams"]
cooldown = "1d"
[alerts.account]
heat_at_least = 10
key_pages_at_least = 2
employee_band = ["large"]
{extra}{users}"#,
        users = mikomi_tests::console::users_toml("test"),
        pem = pem.display().to_string(),
        slack = slack.url("/services/T000/B000/XXXX"),
        teams = teams.url("/workflows/sales/triggers/manual/paths/invoke"),
    );
    Setup {
        config,
        slack,
        teams,
    }
}

/// Two people from the demo company look at pricing and product pages; the first one says who
/// they are.
async fn burst(edge: &Edge, named: bool) {
    let conversion = json!({"type": "conversion", "form": "contact", "url": "http://site.test/contact",
        "fields": {"email": "yamada@toyota-demo.example", "name": "山田 太郎"}});
    let first = visit(
        edge,
        DEMO_IP,
        None,
        "/pricing",
        if named { vec![conversion] } else { vec![] },
    )
    .await;
    visit(edge, DEMO_IP, Some(&first), "/product/robot-arm", vec![]).await;
    let second = visit(edge, DEMO_IP, None, "/pricing", vec![]).await;
    visit(edge, DEMO_IP, Some(&second), "/product/conveyor", vec![]).await;
}

fn bodies(receiver: &Receiver) -> Vec<Value> {
    receiver
        .accepted()
        .iter()
        .map(|s| serde_json::from_slice(&s.body).expect("a JSON message"))
        .collect()
}

async fn settle() {
    tokio::time::sleep(Duration::from_secs(2)).await; // room for a duplicate to show up
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_company_sends_one_slack_and_one_teams_message_once_per_cooldown_and_restart() {
    let setup = setup("").await;
    let edge = Edge::start(&setup.config);
    burst(&edge, true).await;
    let within = Duration::from_secs(30);
    setup
        .slack
        .wait_for("the Slack message", within, |s| {
            s.iter().any(|s| s.accepted)
        })
        .await;
    setup
        .teams
        .wait_for("the Teams message", within, |s| {
            s.iter().any(|s| s.accepted)
        })
        .await;
    settle().await;
    assert_eq!(setup.slack.seen().len(), 1, "exactly one Slack message");
    assert_eq!(setup.teams.seen().len(), 1, "exactly one Teams message");

    let slack = &bodies(&setup.slack)[0];
    check_block_kit(slack).unwrap_or_else(|e| panic!("Block Kit: {e}: {slack}"));
    let text = slack.to_string();
    for expected in [
        DEMO_NAME,
        "大手（1,200名）",
        "製造業",
        "/pricing",
        "/product/robot-arm",
        "山田 太郎",
    ] {
        assert!(text.contains(expected), "Slack names {expected}: {text}");
    }
    let account_url = format!("{CONSOLE}/sites/test/accounts/{DEMO_DOMAIN}");
    let button = slack["blocks"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["type"] == "actions"))
        .map(|b| b["elements"][0]["url"].clone());
    assert_eq!(button, Some(Value::from(account_url.clone())));
    assert!(
        text.contains(&format!("{CONSOLE}/sites/test/people/p")),
        "a link to the person: {text}"
    );
    // The links lead to the console's company and person pages.
    let person_link = text
        .split(&format!("{CONSOLE}/sites/test/people/"))
        .nth(1)
        .and_then(|rest| rest.split('|').next())
        .map(|id| format!("{CONSOLE}/sites/test/people/{id}"))
        .expect("a person link");
    let mut console = mikomi_tests::console::Console::new(&edge);
    assert_eq!(
        console
            .login("sales", mikomi_tests::console::PASSWORD)
            .await,
        303
    );
    for (link, shows) in [(&account_url, DEMO_NAME), (&person_link, "山田 太郎")] {
        let path = format!(
            "/console{}",
            link.strip_prefix(CONSOLE).expect("a console link")
        );
        let (status, _, page) = console.get(&path).await;
        assert_eq!(status, 200, "{path}");
        assert!(page.contains(shows), "{path} shows {shows}");
    }
    assert_eq!(
        setup.slack.seen()[0].headers["content-type"],
        "application/json; charset=utf-8"
    );

    let teams = &bodies(&setup.teams)[0];
    check_adaptive_card(teams).unwrap_or_else(|e| panic!("Adaptive Card: {e}: {teams}"));
    let card = &teams["attachments"][0]["content"];
    assert!(
        card["body"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains(DEMO_NAME)),
        "{card}"
    );
    assert_eq!(card["actions"][0]["url"], Value::from(account_url));
    assert!(teams.to_string().contains("大手（1,200名）"));

    // A second burst inside the cooldown: nothing.
    burst(&edge, false).await;
    settle().await;
    assert_eq!(
        setup.slack.seen().len(),
        1,
        "the cooldown holds the second burst back"
    );
    assert_eq!(setup.teams.seen().len(), 1);

    // A hard restart: the log is replayed, nothing is sent again, the cooldown still holds.
    let edge = edge.restart_after(Edge::kill_hard);
    settle().await;
    burst(&edge, false).await;
    settle().await;
    assert_eq!(setup.slack.seen().len(), 1, "a restart re-sends nothing");
    assert_eq!(setup.teams.seen().len(), 1);
    let metrics = edge.metrics().await;
    assert!(metrics.contains("mikomi_alerts_suppressed "), "{metrics}");
    drop(edge);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_channel_does_not_hold_back_the_others_and_its_dead_letter_is_retried() {
    let setup = setup("").await;
    setup.teams.set(Behaviour::Fail);
    let edge = Edge::start(&setup.config);
    burst(&edge, false).await;
    let within = Duration::from_secs(30);
    setup
        .slack
        .wait_for("the Slack message", within, |s| {
            s.iter().any(|s| s.accepted)
        })
        .await;
    // Teams fails three times (max_attempts) and is given up on.
    let dead = async {
        for _ in 0..300 {
            let (status, body) = edge.api_get("/api/v1/alerts/dead-letters").await;
            assert_eq!(status, 200, "{body}");
            if body["dead_letters"]
                .as_array()
                .is_some_and(|d| !d.is_empty())
            {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no dead letter within 30 s");
    }
    .await;
    let letter = &dead["dead_letters"][0];
    assert_eq!(letter["destination"], "sales-teams", "{dead}");
    assert_eq!(letter["type"], "account.hot");
    assert_eq!(letter["attempts"], 3);
    assert!(
        letter["reason"].as_str().is_some_and(|r| r.contains("500")),
        "{dead}"
    );
    assert_eq!(setup.teams.seen().len(), 3);
    let metrics = edge.metrics().await;
    assert!(metrics.contains("mikomi_alert_dead_letters 1"), "{metrics}");

    // The channel comes back; the dead letter is retried on request and arrives.
    setup.teams.set(Behaviour::Accept);
    let path = format!(
        "/api/v1/alerts/dead-letters/{}/sales-teams/retry",
        letter["alert"]
    );
    let (status, body) = edge.api_post(&path, &json!({})).await;
    assert_eq!(status, 202, "{body}");
    setup
        .teams
        .wait_for("the retried Teams message", within, |s| {
            s.iter().any(|s| s.accepted)
        })
        .await;
    let (_, after) = edge.api_get("/api/v1/alerts/dead-letters").await;
    assert_eq!(after["dead_letters"], json!([]), "{after}");
    let (status, _) = edge.api_post(&path, &json!({})).await;
    assert_eq!(status, 404, "a dead letter is retried once");
    assert_eq!(setup.slack.seen().len(), 1, "Slack got its message once");
    drop(edge);
}

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwYWJjZGVmZ2g=";

/// The `webhooks` channel sends the alert as a Standard Webhooks event of its own type to the
/// `[[webhooks]]` endpoints that want it, signed like every other event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_reaches_the_webhook_endpoints_as_an_account_hot_event() {
    let hooks = Receiver::http().await;
    let mut setup = setup(
        r#"
[[alerts]]
name = "back-again"
site = "test"
to = ["crm"]
lang = "en"
[alerts.person]
returned = true
"#,
    )
    .await;
    setup.config.session_timeout = Some("1s");
    setup.config.webhooks = vec![(hooks.url("/hook"), SECRET.to_string())];
    setup.config.extra_toml = setup.config.extra_toml.replace(
        "to = [\"sales-slack\", \"sales-teams\"]",
        "to = [\"sales-slack\", \"crm\"]",
    );
    setup.config.extra_toml = setup.config.extra_toml.replacen(
        "[[alerts]]",
        "[[alerting.channels]]\nname = \"crm\"\nkind = \"webhooks\"\n\n[[alerts]]",
        1,
    );
    let edge = Edge::start(&setup.config);
    burst(&edge, true).await;
    let within = Duration::from_secs(30);
    let is_alert = |s: &mikomi_tests::receiver::Seen| {
        s.accepted
            && serde_json::from_slice::<Value>(&s.body).is_ok_and(|b| b["type"] == "account.hot")
    };
    hooks
        .wait_for("the account.hot event", within, |s| s.iter().any(is_alert))
        .await;
    let event = hooks.accepted().into_iter().find(is_alert).expect("seen");
    standardwebhooks::Webhook::new(SECRET)
        .expect("secret")
        .verify(&event.body, &event.headers)
        .expect("the signature verifies");
    assert!(
        event.headers["webhook-id"]
            .to_str()
            .is_ok_and(|id| id.starts_with("alt_"))
    );
    let body: Value = serde_json::from_slice(&event.body).expect("JSON");
    assert_eq!(body["data"]["company"]["domain"], DEMO_DOMAIN);
    assert_eq!(body["data"]["rule"], "hot-target");
    assert_eq!(
        body["data"]["account_url"],
        format!("{CONSOLE}/sites/test/accounts/{DEMO_DOMAIN}")
    );

    // A known person comes back after their visit ended: a person.returned event.
    let conversion = json!({"type": "conversion", "form": "contact", "url": "http://site.test/contact",
        "fields": {"email": "sato@toyota-demo.example"}});
    let sato = visit(&edge, DEMO_IP, None, "/contact", vec![conversion]).await;
    tokio::time::sleep(Duration::from_millis(1500)).await; // past the 1 s session timeout
    visit(&edge, DEMO_IP, Some(&sato), "/pricing", vec![]).await;
    let returned = |s: &mikomi_tests::receiver::Seen| {
        s.accepted
            && serde_json::from_slice::<Value>(&s.body)
                .is_ok_and(|b| b["type"] == "person.returned")
    };
    hooks
        .wait_for("the person.returned event", within, |s| {
            s.iter().any(returned)
        })
        .await;
    let back = hooks.accepted().into_iter().find(returned).expect("seen");
    let body: Value = serde_json::from_slice(&back.body).expect("JSON");
    assert_eq!(body["data"]["rule"], "back-again");
    assert!(
        body["data"]["person"]
            .as_str()
            .is_some_and(|p| p.starts_with('p')),
        "{body}"
    );
    assert_eq!(hooks.accepted().iter().filter(|s| returned(s)).count(), 1);
    assert!(
        body["data"]["person_url"]
            .as_str()
            .is_some_and(|u| u.starts_with(&format!("{CONSOLE}/sites/test/people/p"))),
        "{body}"
    );
    drop(edge);
}
