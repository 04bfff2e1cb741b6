//! Alert email against a real SMTP server process on loopback (this crate's `smtp-sink`, which
//! requires TLS and authentication): the mail arrives with its Japanese subject, a plain-text
//! and an HTML part and the console links; a server that refuses the first attempt gets a
//! retry; STARTTLS and implicit TLS both work.

use std::time::Duration;

use mikomi_tests::alerting::{DEMO_DOMAIN, DEMO_IP, DEMO_NAME, company_db, visit};
use mikomi_tests::edge::{Edge, EdgeConfig};
use mikomi_tests::receiver::TestCa;
use mikomi_tests::smtp::{self, SmtpSink};

const CONSOLE: &str = "https://mikomi.example.co.jp/console";

fn config(ca: &TestCa, sink: &SmtpSink, tls: &str) -> EdgeConfig {
    config_sending_to(ca, sink, tls, "sales-mail")
}

fn config_sending_to(ca: &TestCa, sink: &SmtpSink, tls: &str, channel: &str) -> EdgeConfig {
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

[alerting.smtp]
host = "127.0.0.1"
port = {port}
tls = "{tls}"
username = "{user}"
password = "{password}"
from = "Mikomi <alerts@mikomi.example.co.jp>"

[[alerting.channels]]
name = "sales-mail"
kind = "email"
to = ["sales@example.co.jp", "営業部 <eigyo@example.co.jp>"]

[[alerting.channels]]
name = "owner"
kind = "account_owner"
to = ["inside-sales@example.co.jp"]

[[alerts]]
name = "hot-target"
site = "test"
to = ["{channel}"]
[alerts.account]
heat_at_least = 10
employee_band = ["large"]
"#,
        pem = pem.display().to_string(),
        port = sink.port,
        user = smtp::USER,
        password = smtp::PASSWORD,
    );
    config
}

/// An alert sent to the company's owner: the CRM's accounts list names who owns it, and the
/// mail goes to that salesperson only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_reaches_the_owner_the_accounts_list_names() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().expect("dir");
    let sink = SmtpSink::start(dir.path(), &ca, false, 0);
    let config = config_sending_to(&ca, &sink, "starttls", "owner");
    let edge = Edge::start(&config);
    let list = format!("domain,status,owner\n{DEMO_DOMAIN},customer,suzuki@ours.example\n");
    let response = edge
        .http
        .post(edge.url("/api/v1/accounts/import"))
        .bearer_auth(mikomi_tests::API_KEY)
        .header("content-type", "text/csv; charset=utf-8")
        .body(list)
        .send()
        .await
        .expect("import");
    assert_eq!(
        response.status().as_u16(),
        200,
        "{:?}",
        response.text().await
    );
    burst(&edge).await;
    let messages = sink.wait_for_messages(1, Duration::from_secs(30)).await;
    let to = smtp::header(&messages[0], "To").unwrap_or_default();
    assert!(to.contains("suzuki@ours.example"), "{to}");
    assert!(
        !to.contains("inside-sales@"),
        "the owner, not the fallback: {to}"
    );
    assert!(smtp::header(&messages[0], "Subject").is_some_and(|s| s.contains(DEMO_NAME)));
    drop(edge);
}

async fn burst(edge: &Edge) {
    let first = visit(edge, DEMO_IP, None, "/pricing", vec![]).await;
    visit(edge, DEMO_IP, Some(&first), "/product/robot-arm", vec![]).await;
    visit(edge, DEMO_IP, None, "/pricing", vec![]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mail_arrives_in_japanese_with_both_parts_after_a_refused_first_attempt() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().expect("dir");
    let sink = SmtpSink::start(dir.path(), &ca, false, 1);
    let config = config(&ca, &sink, "starttls");
    let edge = Edge::start(&config);
    burst(&edge).await;
    let messages = sink.wait_for_messages(1, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(sink.rejections(), 1, "the first attempt was refused");
    assert_eq!(sink.messages().len(), 1, "and the retry delivered it once");
    let mail = &messages[0];
    assert_eq!(
        smtp::header(mail, "Subject").as_deref(),
        Some(format!("[Mikomi] 🔥 {DEMO_NAME} の関心が高まっています").as_str()),
        "{mail}"
    );
    let to = smtp::header(mail, "To").unwrap_or_default();
    assert!(
        to.contains("sales@example.co.jp") && to.contains("営業部"),
        "{to}"
    );
    assert!(mail.contains("multipart/alternative"), "{mail}");
    let plain = smtp::part(mail, "text/plain").expect("a plain-text part");
    let html = smtp::part(mail, "text/html").expect("an HTML part");
    let link = format!("{CONSOLE}/sites/test/accounts/{DEMO_DOMAIN}");
    assert!(
        plain.contains(DEMO_NAME) && plain.contains("大手（1,200名）"),
        "{plain}"
    );
    assert!(plain.contains(&link), "{plain}");
    assert!(plain.contains("/product/robot-arm"));
    assert!(html.contains(&format!("<a href=\"{link}\">")), "{html}");
    assert!(html.contains("製造業"), "{html}");
    drop(edge);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_tls_delivers_too() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().expect("dir");
    let sink = SmtpSink::start(dir.path(), &ca, true, 0);
    let config = config(&ca, &sink, "implicit");
    let edge = Edge::start(&config);
    burst(&edge).await;
    let messages = sink.wait_for_messages(1, Duration::from_secs(30)).await;
    assert!(smtp::header(&messages[0], "Subject").is_some_and(|s| s.contains(DEMO_NAME)));
    drop(edge);
}
