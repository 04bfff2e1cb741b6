//! Clients that send slowly on purpose, through real sockets.

use mikomi_tests::{Edge, EdgeConfig};

/// Opens a connection, sends a POST's headers announcing `length` bytes of body, then one byte
/// every `every`: a client dribbling its body.
fn dribble(
    edge: &Edge,
    path: &str,
    length: usize,
    every: std::time::Duration,
) -> std::thread::JoinHandle<(String, std::time::Duration)> {
    use std::io::{Read, Write};
    let address = edge.base.trim_start_matches("http://").to_string();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {address}\r\norigin: {}\r\ncontent-type: application/json\r\n\
         authorization: Bearer {}\r\ncontent-length: {length}\r\n\r\n",
        mikomi_tests::ORIGIN,
        mikomi_tests::API_KEY
    );
    std::thread::spawn(move || {
        let started = std::time::Instant::now();
        let mut stream = std::net::TcpStream::connect(&address).expect("connect");
        stream.write_all(head.as_bytes()).expect("headers");
        stream.set_read_timeout(Some(every)).expect("read timeout");
        let mut answer = Vec::new();
        for _ in 0..length {
            if stream.write_all(b" ").is_err() {
                break;
            }
            let mut buf = [0u8; 4096];
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => break,
            }
            if started.elapsed() > std::time::Duration::from_secs(30) {
                break;
            }
        }
        (
            String::from_utf8_lossy(&answer).into_owned(),
            started.elapsed(),
        )
    })
}

/// A client that sends its headers and then a byte every 200 ms holds its connection slot: with
/// every slot held, real visitors wait in the kernel's backlog. Bodies have a time and a minimum
/// rate: the dribblers get 408 and their connections are closed, and a real request gets through.
#[tokio::test]
async fn slow_bodies_are_cut_off_and_free_their_connection_slot() {
    let config = EdgeConfig {
        server_toml: "max_connections = 3\nbody_timeout = \"3s\"\nbody_min_rate = 100\n".into(),
        extra_toml: mikomi_tests::console::users_toml(mikomi_tests::SITE),
        ..EdgeConfig::default()
    };
    let edge = Edge::start(&config);
    let every = std::time::Duration::from_millis(200);
    let slow = [
        dribble(&edge, "/v1/collect", 1000, every),
        dribble(&edge, "/api/v1/tokens", 1000, every),
        // The console's sign-in form, which anyone can reach.
        dribble(&edge, "/console/login", 1000, every),
    ];
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // Every slot is held now; this request waits until one is freed.
    let started = std::time::Instant::now();
    let body = mikomi_tests::edge::page_view(None, "http://site.test/");
    let answer = tokio::time::timeout(std::time::Duration::from_secs(10), edge.collect(&body))
        .await
        .expect("a real request gets a slot within 10 s");
    assert_eq!(answer.status().as_u16(), 200);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    for dribbler in slow {
        let (answer, took) = dribbler.join().expect("the dribbling client");
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(
            answer.contains("body_timeout") || answer.contains("too slowly"),
            "{answer}"
        );
        assert!(
            answer.to_ascii_lowercase().contains("connection: close"),
            "{answer}"
        );
        // A second's grace plus a few bytes earned at 100 bytes per second: cut off in ~1 s.
        assert!(took < std::time::Duration::from_secs(3), "{took:?}");
    }
}
