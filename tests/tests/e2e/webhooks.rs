//! Webhooks against a real local receiver that fails at first and is down across an edge
//! restart: the event still arrives, once, with a signature the Standard Webhooks library
//! verifies.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{HeaderMap, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use mikomi_tests::SITE;
use mikomi_tests::edge::{Edge, EdgeConfig};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub(crate) const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwYWJjZGVmZ2g=";

#[derive(Default)]
pub(crate) struct Received {
    /// Every attempt: (webhook-id, answered with success).
    pub(crate) attempts: Mutex<Vec<(String, bool)>>,
    /// Successful deliveries: headers and body.
    pub(crate) delivered: Mutex<Vec<(HeaderMap, Bytes)>>,
    pub(crate) fail_first: AtomicU32,
}

pub(crate) fn receiver(listener: TcpListener, received: Arc<Received>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let received = Arc::clone(&received);
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                    let received = Arc::clone(&received);
                    async move {
                        let headers = request.headers().clone();
                        let body = request
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let id = headers
                            .get("webhook-id")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string();
                        let fail = received
                            .fail_first
                            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                            .is_ok();
                        if let Ok(mut attempts) = received.attempts.lock() {
                            attempts.push((id, !fail));
                        }
                        if !fail && let Ok(mut delivered) = received.delivered.lock() {
                            delivered.push((headers, body));
                        }
                        let mut response = Response::new(Empty::<Bytes>::new());
                        *response.status_mut() = if fail {
                            StatusCode::INTERNAL_SERVER_ERROR
                        } else {
                            StatusCode::NO_CONTENT
                        };
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

pub(crate) async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(40);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_survives_failures_and_a_restart_and_arrives_once_verified() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let received = Arc::new(Received {
        fail_first: AtomicU32::new(3),
        ..Received::default()
    });
    let server = receiver(listener, Arc::clone(&received));

    let config = EdgeConfig {
        webhooks: vec![(format!("http://{address}/hook"), SECRET.to_string())],
        ..EdgeConfig::default()
    };
    let edge = Edge::start(&config);
    let conversion = json!({"site": SITE, "events": [{"type": "conversion", "form": "contact",
        "url": "http://site.test/contact", "fields": {"email": "hook@corp.example"}}]});
    assert_eq!(edge.collect(&conversion).await.status().as_u16(), 200);

    let failures = || {
        received
            .attempts
            .lock()
            .map(|a| a.iter().filter(|(_, ok)| !ok).count())
            .unwrap_or(0)
    };
    wait_until("three failed attempts", || failures() >= 3).await;
    server.abort(); // the receiver goes down...
    let _ = server.await;
    let edge = edge.restart_after(Edge::kill_hard); // ...and the edge restarts meanwhile
    tokio::time::sleep(Duration::from_millis(700)).await;
    let listener = TcpListener::bind(address)
        .await
        .expect("rebind the receiver's port");
    let server = receiver(listener, Arc::clone(&received));

    let delivered = || received.delivered.lock().map(|d| d.len()).unwrap_or(0);
    wait_until("the delivery", || delivered() >= 1).await;
    tokio::time::sleep(Duration::from_secs(2)).await; // room for a duplicate to show up
    let deliveries = received
        .delivered
        .lock()
        .map(|d| d.clone())
        .unwrap_or_default();
    assert_eq!(deliveries.len(), 1, "delivered once");
    let (headers, body) = &deliveries[0];
    standardwebhooks::Webhook::new(SECRET)
        .expect("secret")
        .verify(body, headers)
        .expect("the signature verifies");
    let event: Value = serde_json::from_slice(body).expect("JSON body");
    assert_eq!(event["type"], "person.identified");
    assert_eq!(event["data"]["email"], "hook@corp.example");
    let id = headers["webhook-id"].to_str().expect("id").to_string();
    let attempts = received
        .attempts
        .lock()
        .map(|a| a.clone())
        .unwrap_or_default();
    assert!(
        attempts.iter().all(|(a, _)| *a == id),
        "every retry carried the same id: {attempts:?}"
    );
    assert!(attempts.len() >= 4);
    drop(edge);
    server.abort();
}
