//! Outgoing HTTPS: webhooks reach an `https://` receiver whose certificate comes from a private
//! CA the configuration names in `[outgoing] extra_roots`; without it the edge refuses the
//! receiver's certificate; and a redirect is never followed.

use std::time::Duration;

use mikomi_tests::SITE;
use mikomi_tests::edge::{Edge, EdgeConfig};
use mikomi_tests::receiver::{Behaviour, Receiver, TestCa};
use serde_json::{Value, json};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwYWJjZGVmZ2g=";

fn conversion(email: &str) -> Value {
    json!({"site": SITE, "events": [{"type": "conversion", "form": "contact",
        "url": "http://site.test/contact", "fields": {"email": email}}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_reaches_an_https_receiver_of_a_private_ca() {
    let ca = TestCa::new();
    let receiver = Receiver::https(&ca).await;
    let mut config = EdgeConfig {
        webhooks: vec![(receiver.url("/hook"), SECRET.to_string())],
        ..EdgeConfig::default()
    };
    let pem = ca.write_pem(config.data_dir.path());
    config.extra_toml = format!(
        "[outgoing]\nextra_roots = [{:?}]\n",
        pem.display().to_string()
    );
    let edge = Edge::start(&config);
    assert_eq!(
        edge.collect(&conversion("tls@corp.example"))
            .await
            .status()
            .as_u16(),
        200
    );
    receiver
        .wait_for("the webhook over TLS", Duration::from_secs(30), |seen| {
            seen.iter().any(|s| s.accepted)
        })
        .await;
    let delivered = receiver.accepted();
    let event = &delivered[0];
    assert_eq!(event.path, "/hook");
    standardwebhooks::Webhook::new(SECRET)
        .expect("secret")
        .verify(&event.body, &event.headers)
        .expect("the signature verifies");
    let body: Value = serde_json::from_slice(&event.body).expect("JSON");
    assert_eq!(body["type"], "person.identified");
    drop(edge);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_refused_and_a_redirect_is_not_followed() {
    let ca = TestCa::new();
    let untrusted = Receiver::https(&ca).await;
    let redirecting = Receiver::http().await;
    redirecting.set(Behaviour::Redirect);
    let config = EdgeConfig {
        webhooks: vec![
            (untrusted.url("/hook"), SECRET.to_string()),
            (redirecting.url("/hook"), SECRET.to_string()),
        ],
        ..EdgeConfig::default()
    };
    let edge = Edge::start(&config);
    assert_eq!(
        edge.collect(&conversion("nobody@corp.example"))
            .await
            .status()
            .as_u16(),
        200
    );
    redirecting
        .wait_for(
            "two attempts at the redirecting receiver",
            Duration::from_secs(30),
            |seen| seen.len() >= 2,
        )
        .await;
    assert!(
        redirecting.seen().iter().all(|s| s.path == "/hook"),
        "the redirect's target was never asked for"
    );
    assert!(
        untrusted.seen().is_empty(),
        "no request got past the TLS handshake without the CA"
    );
    let log = edge.log();
    assert!(
        log.contains("webhook delivery failed") && log.contains("certificate"),
        "the log names the certificate problem: {log}"
    );
    assert!(
        log.contains("answered 302"),
        "the redirect counts as a failure: {log}"
    );
    drop(edge);
}
