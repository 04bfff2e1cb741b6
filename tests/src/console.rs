//! Helpers for the console's tests: console users in the configuration, a signed-in HTTP
//! client that keeps its session cookie and reads each form's CSRF token, and seeded traffic
//! from the demo companies (the edge must trust 127.0.0.0/8 as a proxy and read the demo
//! company database).

use std::time::Duration;

use serde_json::{Value, json};

use crate::edge::Edge;
use crate::{BROWSER_UA, ORIGIN, SITE};

/// The password of every test console user.
pub const PASSWORD: &str = "console-test-password";
/// Its argon2id hash, made with `mikomi-edge hash-password`.
const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$R+hdTBeBctA0jP3SDPCcew$xMkTv49UJTiaOb3bJS3q5zGjk5/eIQqvm+IoBpGyYOU";

/// `[[console.users]]`: `sales` (editor) and `viewer` (viewer), both of `site`.
pub fn users_toml(site: &str) -> String {
    format!(
        "\n[[console.users]]\nname = \"sales\"\npassword_hash = \"{HASH}\"\nsites = [\"{site}\"]\nrole = \"editor\"\n\
         \n[[console.users]]\nname = \"viewer\"\npassword_hash = \"{HASH}\"\nsites = [\"{site}\"]\nrole = \"viewer\"\n"
    )
}

/// An HTTP client of the console with its own session.
pub struct Console {
    http: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

impl Console {
    pub fn new(edge: &Edge) -> Console {
        Console::at(&edge.url(""))
    }

    /// A client of the console of the edge at `base` (`http://127.0.0.1:8080`).
    pub fn at(base: &str) -> Console {
        Console {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: base.trim_end_matches('/').to_string(),
            cookie: None,
        }
    }

    /// Signs in; the status of the answer (303 when it worked).
    pub async fn login(&mut self, user: &str, password: &str) -> u16 {
        let response = self
            .http
            .post(format!("{}/console/login", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-forwarded-for", "127.200.0.1")
            .body(
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("user", user)
                    .append_pair("password", password)
                    .finish(),
            )
            .send()
            .await
            .expect("login");
        if let Some(cookie) = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("mk_console="))
        {
            self.cookie = cookie.split(';').next().map(str::to_string);
        }
        response.status().as_u16()
    }

    fn with_cookie(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.cookie {
            Some(cookie) => request.header("cookie", cookie.as_str()),
            None => request,
        }
    }

    /// A page: status, `location` header (for redirects), body.
    pub async fn get(&self, path: &str) -> (u16, String, String) {
        let response = self
            .with_cookie(self.http.get(format!("{}{path}", self.base)))
            .header("accept-language", "ja")
            .send()
            .await
            .expect("console page");
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (status, location, response.text().await.unwrap_or_default())
    }

    /// A form post: status and `location`.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let response = self
            .with_cookie(self.http.post(format!("{}{path}", self.base)))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form)
                    .finish(),
            )
            .send()
            .await
            .expect("console post");
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (response.status().as_u16(), location)
    }
}

impl Console {
    /// A `multipart/form-data` post as a browser sends a form with a file: the text `fields`
    /// in order, then the file as `file_field`. Status and body.
    pub async fn post_file(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file_field: &str,
        file_name: &str,
        file: &[u8],
    ) -> (u16, String) {
        const BOUNDARY: &str = "----MikomiTestBoundary7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{file_field}\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(file);
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        let response = self
            .with_cookie(self.http.post(format!("{}{path}", self.base)))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .header("accept-language", "ja")
            .body(body)
            .send()
            .await
            .expect("console upload");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }
}

/// The CSRF token of the first form on a page.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = html.find(marker).expect("a form with a CSRF token") + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// What `seed` made.
pub struct Seeded {
    /// The visitor of 見込み精機 who browsed anonymously, then converted.
    pub converted_vid: String,
    /// Their person id (`p…`).
    pub person: String,
}

async fn send(edge: &Edge, ip: &str, vid: Option<&str>, events: Value) -> String {
    let body = json!({"site": SITE, "vid": vid, "events": events});
    let response = reqwest::Client::new()
        .post(edge.url("/v1/collect"))
        .header("origin", ORIGIN)
        .header("content-type", "application/json")
        .header("user-agent", BROWSER_UA)
        .header("x-forwarded-for", ip)
        .body(body.to_string())
        .send()
        .await
        .expect("collect");
    assert_eq!(response.status().as_u16(), 200, "collect from {ip}");
    let answer: Value = response.json().await.expect("collect JSON");
    answer["vid"].as_str().expect("vid").to_string()
}

fn page(path: &str, title: &str) -> Value {
    json!({"type": "pageview", "url": format!("{ORIGIN}{path}"), "title": title})
}

/// Visits from the demo companies, ranked by construction: 見込み精機 (three visitors, pricing
/// and product pages, one of whom converts after two anonymous visits) above Northwind (two
/// visitors) above さくら坂デザイン (one page), an ISP's visitor that the default list hides,
/// and a form typed with HTML in its company and person names from an address with no company.
/// Visits are cut by the edge's session timeout, which must be under `gap`.
pub async fn seed(edge: &Edge, gap: Duration) -> Seeded {
    let seiki = "127.0.0.10";
    let a = send(
        edge,
        seiki,
        None,
        json!([page("/pricing.html", "料金"), page("/product.html", "製品")]),
    )
    .await;
    let b = send(
        edge,
        "127.0.0.11",
        None,
        json!([page("/pricing.html", "料金")]),
    )
    .await;
    let _c = send(
        edge,
        "127.0.0.12",
        None,
        json!([
            page("/product.html", "製品"),
            page("/faq.html", "よくある質問")
        ]),
    )
    .await;
    let n1 = send(
        edge,
        "127.0.1.10",
        None,
        json!([page("/en/pricing.html", "Pricing")]),
    )
    .await;
    let _n2 = send(
        edge,
        "127.0.1.11",
        None,
        json!([page("/en/index.html", "Home")]),
    )
    .await;
    let _s = send(
        edge,
        "127.0.2.10",
        None,
        json!([page("/index.html", "ホーム")]),
    )
    .await;
    let _isp = send(
        edge,
        "127.0.8.5",
        None,
        json!([page("/pricing.html", "料金")]),
    )
    .await;
    let hostile = send(
        edge,
        "10.1.2.3",
        None,
        json!([page("/contact.html", "お問い合わせ"), {
            "type": "conversion", "form": "contact", "url": format!("{ORIGIN}/contact.html"),
            "fields": {"email": "evil@evil-corp.example", "company": "<script>alert(1)</script>",
                       "name": "\"><img src=x onerror=alert(1)>"}
        }]),
    )
    .await;
    tokio::time::sleep(gap).await;
    // The company of an address with no company is the email's domain, once the person is known.
    send(
        edge,
        "10.1.2.3",
        Some(&hostile),
        json!([page("/pricing.html", "料金")]),
    )
    .await;
    send(
        edge,
        seiki,
        Some(&a),
        json!([page(
            "/pricing.html?utm_source=mail&utm_campaign=dec",
            "料金"
        )]),
    )
    .await;
    send(
        edge,
        "127.0.1.10",
        Some(&n1),
        json!([page("/en/product.html", "Product")]),
    )
    .await;
    tokio::time::sleep(gap).await;
    send(
        edge,
        seiki,
        Some(&a),
        json!([page("/contact.html", "お問い合わせ"), {
            "type": "conversion", "form": "brochure", "url": format!("{ORIGIN}/contact.html"),
            "fields": {"email": "taro@mikomi-seiki.example", "name": "見込 太郎",
                       "company": "見込み精機株式会社", "title": "購買部長"}
        }]),
    )
    .await;
    send(
        edge,
        "127.0.0.11",
        Some(&b),
        json!([page("/product.html", "製品")]),
    )
    .await;
    let visitor = edge.visitor(&a).await.expect("the converted visitor");
    let person = visitor["person"]["id"]
        .as_str()
        .or_else(|| visitor["person"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| panic!("the visitor converted: {visitor:#}"));
    Seeded {
        converted_vid: a,
        person,
    }
}
