//! A customer's website on an origin of its own: a small static server that serves a folder the
//! way a site owner's server would, with the tag embedded from the edge's origin. Pages say
//! `src="/t.js"` (as the demo site, served by the edge itself, does); here that becomes the
//! edge's absolute URL, so the browser sees two origins, as it does on every real deployment.
//!
//! Every page also gets a first script that keeps each request body the page sends with
//! `fetch` or `sendBeacon` in `sessionStorage` (`mk_sent`, across navigations), so that a test
//! reads what the tag sent from the browser itself, not only what the edge stored.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Records request bodies in `sessionStorage.mk_sent`; wraps the functions the tag calls at
/// call time, so the tag itself is untouched.
const RECORDER: &str = "<script>(function(){var k='mk_sent',s=sessionStorage,\
keep=function(b){try{var a=JSON.parse(s.getItem(k)||'[]');a.push(String(b));s.setItem(k,JSON.stringify(a))}catch(e){}},\
f=window.fetch;window.fetch=function(u,o){if(o&&o.body!=null)keep(o.body);return f.apply(this,arguments)};\
if(navigator.sendBeacon){var b=navigator.sendBeacon.bind(navigator);navigator.sendBeacon=function(u,d){keep(d);return b(u,d)}}})()</script>";

/// A running customer site. Dropping it stops the server.
pub struct CustomerSite {
    /// `http://localhost:PORT`: another site than the edge's `127.0.0.1`, not only another
    /// origin, so cookies the edge sets are third-party here.
    pub base: String,
    server: JoinHandle<()>,
}

struct Folder {
    root: PathBuf,
    edge: String,
}

impl CustomerSite {
    /// Serves `root` with the tag loaded from `edge` (its base URL, `http://127.0.0.1:PORT`).
    pub async fn start(root: &Path, edge: &str) -> CustomerSite {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the customer site");
        let address: SocketAddr = listener.local_addr().expect("its address");
        let folder = Arc::new(Folder {
            root: root.to_path_buf(),
            edge: edge.trim_end_matches('/').to_string(),
        });
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let folder = Arc::clone(&folder);
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                        let folder = Arc::clone(&folder);
                        async move { Ok::<_, Infallible>(folder.answer(request.uri().path())) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        CustomerSite {
            base: format!("http://localhost:{}", address.port()),
            server,
        }
    }

    /// The origin the edge must allow for this site.
    pub fn origin(&self) -> String {
        self.base.clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }
}

impl Drop for CustomerSite {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Folder {
    fn answer(&self, path: &str) -> Response<Full<Bytes>> {
        let relative = path.trim_start_matches('/');
        let relative = if relative.is_empty() || relative.ends_with('/') {
            format!("{relative}index.html")
        } else {
            relative.to_string()
        };
        if relative
            .split('/')
            .any(|part| part == ".." || part.starts_with('.'))
        {
            return status(StatusCode::NOT_FOUND);
        }
        let Ok(body) = std::fs::read(self.root.join(&relative)) else {
            return status(StatusCode::NOT_FOUND);
        };
        let (content_type, body) = if relative.ends_with(".html") {
            let page = String::from_utf8_lossy(&body)
                .replace("src=\"/t.js\"", &format!("src=\"{}/t.js\"", self.edge))
                .replace("<head>", &format!("<head>{RECORDER}"));
            ("text/html; charset=utf-8", Bytes::from(page))
        } else if relative.ends_with(".js") {
            ("text/javascript", Bytes::from(body))
        } else if relative.ends_with(".css") {
            ("text/css", Bytes::from(body))
        } else {
            ("application/octet-stream", Bytes::from(body))
        };
        let mut response = Response::new(Full::new(body));
        response.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static(content_type),
        );
        response
    }
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = code;
    response
}
