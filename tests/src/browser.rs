//! A real headless Chromium, driven over WebDriver: `chromedriver` on a free loopback port,
//! Chromium with a fresh profile directory, and a `fantoccini` client. Dropping the handle ends
//! the WebDriver session (which closes Chromium) and stops `chromedriver`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

/// The Debian packages' binaries.
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// Window size and extra switches for one browser.
#[derive(Debug, Clone)]
pub struct BrowserOptions {
    /// Viewport width in CSS pixels.
    pub width: u32,
    /// Viewport height.
    pub height: u32,
    /// Extra Chromium switches.
    pub args: Vec<String>,
    /// Emulate a phone screen of this many CSS pixels (width, height): desktop Chromium will not
    /// make a window narrower than 500 pixels.
    pub phone: Option<(u32, u32)>,
}

impl Default for BrowserOptions {
    fn default() -> Self {
        BrowserOptions {
            width: 1280,
            height: 900,
            args: Vec::new(),
            phone: None,
        }
    }
}

/// One Chromium with its chromedriver.
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    driver: Child,
    port: u16,
    session: Option<String>,
    /// The profile directory, removed after the browser is gone.
    _profile: tempfile::TempDir,
}

/// Whether this machine has Chromium and chromedriver.
pub fn available() -> bool {
    PathBuf::from(CHROMEDRIVER).is_file() && PathBuf::from(CHROMIUM).is_file()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session.
    pub async fn start_with(options: BrowserOptions) -> Browser {
        assert!(
            available(),
            "{CHROMIUM} and {CHROMEDRIVER} are needed (Debian packages chromium, chromium-driver)"
        );
        let profile = tempfile::tempdir().expect("a profile directory");
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.push(format!(
            "--window-size={},{}",
            options.width, options.height
        ));
        args.extend(options.args);
        let mut chrome = json!({"binary": CHROMIUM, "args": args});
        if let Some((width, height)) = options.phone {
            chrome["mobileEmulation"] = json!({
                "deviceMetrics": {"width": width, "height": height, "pixelRatio": 2.0, "touch": true},
            });
        }
        let caps = json!({"browserName": "chrome", "goog:chromeOptions": chrome});
        let caps = match caps {
            Value::Object(map) => map,
            _ => unreachable!("a JSON object literal"),
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a WebDriver session with headless Chromium");
        let session = client.session_id().await.ok().flatten();
        Browser {
            client,
            driver,
            port,
            session,
            _profile: profile,
        }
    }

    /// Opens a URL and waits for its `load` event (WebDriver's default page-load strategy).
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    /// Runs a script in the page and returns its result.
    pub async fn eval(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Polls `script` until it returns something truthy, and returns that; panics after
    /// `timeout` with `what` in the message.
    pub async fn wait_for(&self, what: &str, timeout: Duration, script: &str) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.eval(script).await;
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::String(s) => !s.is_empty(),
                Value::Number(n) => n.as_f64() != Some(0.0),
                _ => true,
            };
            if truthy {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // End the session (chromedriver closes Chromium), then stop chromedriver. Blocking
        // HTTP is fine here: it is one request to a local process.
        if let Some(id) = &self.session
            && let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port))
        {
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let request = format!(
                "DELETE /session/{id} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
                self.port
            );
            if s.write_all(request.as_bytes()).is_ok() {
                let _ = s.read_to_end(&mut Vec::new());
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
