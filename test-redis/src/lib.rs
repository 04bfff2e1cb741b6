//! Redis for tests, shared by the edge's own store tests and the end-to-end harness: real `redis-server` processes on free loopback ports, keeping their data in
//! a directory the test owns, stopped when dropped. A single server, or a three-primary cluster
//! made with `redis-cli --cluster create`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One `redis-server` process. Durable the way the edge needs: every write is in the
/// append-only file, synced, before Redis answers.
pub struct RedisServer {
    pub port: u16,
    dir: PathBuf,
    cluster: bool,
    /// A TLS port beside the plain one (which stays for the readiness check and `command`).
    tls: Option<Tls>,
    child: Mutex<Option<Child>>,
}

/// The PEM files a TLS server is started with.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

#[derive(Clone, Debug)]
struct Tls {
    port: u16,
    files: TlsFiles,
}

impl RedisServer {
    /// Starts a server keeping its data in `dir`.
    pub fn start(dir: &Path) -> RedisServer {
        RedisServer::start_in(dir, false)
    }

    /// Starts a server that also listens for TLS (`--tls-port`) with these files; clients need
    /// no certificate of their own.
    pub fn start_tls(dir: &Path, files: TlsFiles) -> RedisServer {
        RedisServer::start_with(dir, false, Some(files))
    }

    fn start_in(dir: &Path, cluster: bool) -> RedisServer {
        RedisServer::start_with(dir, cluster, None)
    }

    fn start_with(dir: &Path, cluster: bool, tls: Option<TlsFiles>) -> RedisServer {
        std::fs::create_dir_all(dir).expect("create the redis directory");
        for _ in 0..5 {
            let server = RedisServer {
                port: free_port(),
                dir: dir.to_path_buf(),
                cluster,
                tls: tls.clone().map(|files| Tls {
                    port: free_port(),
                    files,
                }),
                child: Mutex::new(None),
            };
            if server.launch() {
                return server;
            }
        }
        panic!("redis-server did not start in {}", dir.display());
    }

    /// Starts the process on this server's port and directory; false if it did not come up.
    fn launch(&self) -> bool {
        let mut command = Command::new("redis-server");
        command
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--logfile", "", "--protected-mode", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(tls) = &self.tls {
            command
                .args(["--tls-port", &tls.port.to_string()])
                .arg("--tls-cert-file")
                .arg(&tls.files.cert)
                .arg("--tls-key-file")
                .arg(&tls.files.key)
                .arg("--tls-ca-cert-file")
                .arg(&tls.files.ca)
                .args(["--tls-auth-clients", "no"]);
        }
        if self.cluster {
            command.args([
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                "2000",
            ]);
        }
        let child = command.spawn().expect(
            "run redis-server (`cargo xtask test` installs it: Debian package redis-server)",
        );
        *self.child.lock().expect("child lock") = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self
                .command(&["PING"])
                .is_some_and(|r| r.starts_with("+PONG"))
            {
                return true;
            }
            if let Some(child) = self.child.lock().expect("child lock").as_mut()
                && child.try_wait().ok().flatten().is_some()
            {
                return false; // exited: most likely the port was taken meanwhile
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop();
        false
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The `rediss://` URL of a TLS server, by the name its certificate carries.
    pub fn tls_url(&self) -> Option<String> {
        self.tls
            .as_ref()
            .map(|tls| format!("rediss://localhost:{}", tls.port))
    }

    /// Kills the process outright, as a crash or a lost machine would.
    pub fn stop(&self) {
        if let Some(mut child) = self.child.lock().expect("child lock").take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the process again on the same port and data.
    pub fn restart(&self) {
        assert!(
            self.launch(),
            "redis-server did not come back on port {}",
            self.port
        );
    }

    /// Sends one command in RESP and returns the raw reply, or `None` if nothing answered.
    pub fn command(&self, args: &[&str]) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        stream.write_all(request.as_bytes()).ok()?;
        let mut buffer = vec![0u8; 64 * 1024];
        let n = stream.read(&mut buffer).ok()?;
        (n > 0).then(|| String::from_utf8_lossy(&buffer[..n]).into_owned())
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Three primaries, no replicas: every slot covered, keys spread by hash slot.
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    pub fn start(dir: &Path) -> RedisCluster {
        let nodes: Vec<RedisServer> = (0..3)
            .map(|i| RedisServer::start_in(&dir.join(format!("node{i}")), true))
            .collect();
        let addresses: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let output = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("run redis-cli --cluster create");
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        for node in &nodes {
            loop {
                let info = node.command(&["CLUSTER", "INFO"]).unwrap_or_default();
                if info.contains("cluster_state:ok") {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "the cluster did not become ready: {info}"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        RedisCluster { nodes }
    }

    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }
}

/// A loopback port nobody listens on now, with its cluster bus port (+10000) in range.
fn free_port() -> u16 {
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let port = listener.local_addr().expect("local address").port();
        if port < 55_000 {
            return port;
        }
    }
}
