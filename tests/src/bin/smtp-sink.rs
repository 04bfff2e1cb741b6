//! A small SMTP server for the tests, run as its own process: it speaks enough ESMTP for a real
//! client (EHLO, STARTTLS or implicit TLS, AUTH PLAIN and LOGIN, MAIL, RCPT, DATA, RSET, NOOP,
//! QUIT), requires TLS and authentication before it takes mail, and writes every message it
//! accepts to `<dir>/<n>.eml`. `--reject-first N` answers the first N `MAIL FROM` with a
//! temporary failure (451), as a busy server does, and records each as `<dir>/rejected-<n>`.
//!
//! Prints `smtp-sink listening on ADDR` once it accepts connections.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

struct Options {
    listen: String,
    dir: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    implicit: bool,
    user: String,
    password: String,
    reject_first: u32,
}

fn options() -> Options {
    let mut args = std::env::args().skip(1);
    let mut options = Options {
        listen: "127.0.0.1:0".into(),
        dir: PathBuf::from("."),
        cert: PathBuf::new(),
        key: PathBuf::new(),
        implicit: false,
        user: String::new(),
        password: String::new(),
        reject_first: 0,
    };
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| panic!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--listen" => options.listen = value(),
            "--dir" => options.dir = PathBuf::from(value()),
            "--cert" => options.cert = PathBuf::from(value()),
            "--key" => options.key = PathBuf::from(value()),
            "--user" => options.user = value(),
            "--password" => options.password = value(),
            "--reject-first" => options.reject_first = value().parse().expect("a number"),
            "--implicit" => options.implicit = true,
            other => panic!("unknown flag {other}"),
        }
    }
    options
}

fn acceptor(options: &Options) -> TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    let chain = rustls::pki_types::CertificateDer::pem_file_iter(&options.cert)
        .expect("read --cert")
        .collect::<Result<Vec<_>, _>>()
        .expect("PEM certificates");
    let key = rustls::pki_types::PrivateKeyDer::from_pem_file(&options.key).expect("read --key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("the server certificate");
    TlsAcceptor::from(Arc::new(config))
}

struct Shared {
    options: Options,
    tls: TlsAcceptor,
    rejections_left: AtomicU32,
    counter: AtomicU32,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let options = options();
    std::fs::create_dir_all(&options.dir).expect("create --dir");
    let listener = TcpListener::bind(&options.listen).await.expect("bind");
    let shared = Arc::new(Shared {
        tls: acceptor(&options),
        rejections_left: AtomicU32::new(options.reject_first),
        counter: AtomicU32::new(0),
        options,
    });
    println!(
        "smtp-sink listening on {}",
        listener.local_addr().expect("address")
    );
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let io: Box<dyn Io> = if shared.options.implicit {
                match shared.tls.accept(stream).await {
                    Ok(tls) => Box::new(tls),
                    Err(e) => return eprintln!("TLS: {e}"),
                }
            } else {
                Box::new(stream)
            };
            if let Err(e) = session(&shared, io, shared.options.implicit).await {
                eprintln!("session: {e}");
            }
        });
    }
}

async fn session(shared: &Shared, io: Box<dyn Io>, mut secure: bool) -> std::io::Result<()> {
    let mut stream = BufReader::new(io);
    stream.write_all(b"220 smtp-sink ESMTP\r\n").await?;
    let mut authenticated = false;
    let mut rcpt = 0;
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_string();
        let upper = command.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            let mut r = String::from("250-smtp-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n");
            if !secure {
                r.push_str("250-STARTTLS\r\n");
            } else {
                r.push_str("250-AUTH PLAIN LOGIN\r\n");
            }
            r.push_str("250 OK\r\n");
            r
        } else if upper == "STARTTLS" && !secure {
            stream.write_all(b"220 2.0.0 ready for TLS\r\n").await?;
            let plain = stream.into_inner();
            let tls = shared.tls.accept(plain).await?;
            stream = BufReader::new(Box::new(tls) as Box<dyn Io>);
            secure = true;
            authenticated = false;
            continue;
        } else if upper.starts_with("AUTH PLAIN") {
            let given = match command.split_whitespace().nth(2) {
                Some(b64) => b64.to_string(),
                None => {
                    stream.write_all(b"334 \r\n").await?;
                    read_line(&mut stream).await?
                }
            };
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(given.trim())
                .unwrap_or_default();
            let parts: Vec<&[u8]> = decoded.split(|b| *b == 0).collect();
            authenticated = secure
                && parts.len() == 3
                && parts[1] == shared.options.user.as_bytes()
                && parts[2] == shared.options.password.as_bytes();
            auth_reply(authenticated)
        } else if upper.starts_with("AUTH LOGIN") {
            stream.write_all(b"334 VXNlcm5hbWU6\r\n").await?;
            let user = read_line(&mut stream).await?;
            stream.write_all(b"334 UGFzc3dvcmQ6\r\n").await?;
            let password = read_line(&mut stream).await?;
            let decode = |s: &str| {
                base64::engine::general_purpose::STANDARD
                    .decode(s.trim())
                    .unwrap_or_default()
            };
            authenticated = secure
                && decode(&user) == shared.options.user.as_bytes()
                && decode(&password) == shared.options.password.as_bytes();
            auth_reply(authenticated)
        } else if upper.starts_with("MAIL FROM") {
            if !secure {
                "530 5.7.0 must issue STARTTLS first\r\n".into()
            } else if !authenticated {
                "530 5.7.0 authentication required\r\n".into()
            } else if shared
                .rejections_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                let n = shared.counter.fetch_add(1, Ordering::SeqCst);
                std::fs::write(shared.options.dir.join(format!("rejected-{n}")), &command)?;
                "451 4.3.0 busy, try again later\r\n".into()
            } else {
                rcpt = 0;
                "250 2.1.0 OK\r\n".into()
            }
        } else if upper.starts_with("RCPT TO") {
            rcpt += 1;
            "250 2.1.5 OK\r\n".into()
        } else if upper == "DATA" {
            if rcpt == 0 {
                "503 5.5.1 no recipients\r\n".into()
            } else {
                stream.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut message = Vec::new();
                loop {
                    let mut data = String::new();
                    if stream.read_line(&mut data).await? == 0 {
                        return Ok(());
                    }
                    if data == ".\r\n" || data == ".\n" {
                        break;
                    }
                    let data = data.strip_prefix('.').unwrap_or(&data);
                    message.extend_from_slice(data.as_bytes());
                }
                let n = shared.counter.fetch_add(1, Ordering::SeqCst);
                let path = shared.options.dir.join(format!("{n}.eml"));
                let tmp = path.with_extension("tmp");
                std::fs::write(&tmp, &message)?;
                std::fs::rename(&tmp, &path)?;
                "250 2.0.0 queued\r\n".into()
            }
        } else if upper == "RSET" || upper == "NOOP" {
            "250 OK\r\n".into()
        } else if upper == "QUIT" {
            stream.write_all(b"221 2.0.0 bye\r\n").await?;
            return Ok(());
        } else {
            "502 5.5.2 not implemented\r\n".into()
        };
        stream.write_all(reply.as_bytes()).await?;
        stream.flush().await?;
    }
}

fn auth_reply(ok: bool) -> String {
    if ok {
        "235 2.7.0 authenticated\r\n".into()
    } else {
        "535 5.7.8 bad credentials\r\n".into()
    }
}

async fn read_line(stream: &mut BufReader<Box<dyn Io>>) -> std::io::Result<String> {
    let mut line = String::new();
    stream.read_line(&mut line).await?;
    Ok(line.trim_end().to_string())
}
