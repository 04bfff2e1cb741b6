//! End-to-end tests of the tag in a real headless Chromium against the real `mikomi-edge`
//! serving the demo site: what the browser does is read back from the edge's API.
//!
//! Needs the built tag in `target/tag/` (`cargo xtask test` builds it) and Debian's
//! `chromium` and `chromium-driver`.

#[path = "../../src/browser.rs"]
mod browser;
mod console;
mod forms;
mod third_party;

use std::path::{Path, PathBuf};
use std::time::Duration;

use browser::{Browser, BrowserOptions};
use mikomi_tests::edge::workspace_root;
use mikomi_tests::site::CustomerSite;
use mikomi_tests::{Edge, EdgeConfig};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(20);

/// One browser at a time: two cores are shared with everything else the suite runs.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The edge serving a site folder and the built tag, and a browser. With a customer site, the
/// pages come from that site's own origin and load the tag from the edge's.
struct Setup {
    browser: Browser,
    edge: Edge,
    site: Option<CustomerSite>,
    /// Holds the data directory; dropped after the edge.
    _config: EdgeConfig,
}

/// Where the pages are served from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Serving {
    /// By the edge itself, under `/demo/`.
    FirstParty,
    /// By the customer's own server on another site (`localhost` against the edge's
    /// `127.0.0.1`), the tag loaded from the edge: the deployment the README puts first.
    ThirdParty,
}

fn assets_dir() -> PathBuf {
    let dir = workspace_root().join("target").join("tag");
    assert!(
        dir.join("tracker_bg.wasm").is_file() && dir.join("t.js").is_file(),
        "the tag is not built in {}: run `cargo xtask test` (or the tracker build)",
        dir.display()
    );
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Setup {
    /// Starts the edge on a known port, so that its own origin can be an allowed origin of
    /// the site (the browser sends `Origin` on every POST, same-origin ones included).
    /// `extra` is appended to the configuration file as written.
    async fn start(
        consent: &'static str,
        site: &Path,
        options: BrowserOptions,
        extra: &str,
    ) -> Setup {
        Setup::start_serving(Serving::FirstParty, consent, site, options, extra).await
    }

    async fn start_serving(
        serving: Serving,
        consent: &'static str,
        site: &Path,
        options: BrowserOptions,
        extra: &str,
    ) -> Setup {
        let port = free_port();
        let origin = format!("http://127.0.0.1:{port}");
        let customer = match serving {
            Serving::FirstParty => None,
            Serving::ThirdParty => Some(CustomerSite::start(site, &origin).await),
        };
        let config = EdgeConfig {
            consent,
            demo_site: Some(site.to_path_buf()),
            assets_dir: Some(assets_dir()),
            origins: vec![origin],
            ..EdgeConfig::default()
        };
        // The demo pages say data-site="demo": add that site beside the default test site.
        let mut origins = format!("\"{}\", \"http://127.0.0.1:{port}\"", mikomi_tests::ORIGIN);
        if let Some(customer) = &customer {
            origins.push_str(&format!(", \"{}\"", customer.origin()));
        }
        let toml = config
            .to_toml()
            .replace(
                "listen = \"127.0.0.1:0\"",
                &format!("listen = \"127.0.0.1:{port}\""),
            )
            .replace("sites = [\"test\"]", "sites = [\"test\", \"demo\"]")
            + &format!(
                "\n[[sites]]\nkey = \"demo\"\norigins = [{origins}]\nconsent = \"{consent}\"\n"
            )
            + extra;
        let path = config.data_dir.path().join("edge.toml");
        std::fs::write(&path, toml).expect("write the configuration");
        let edge = Edge::start_with_file(&path);
        let browser = Browser::start_with(options).await;
        Setup {
            browser,
            edge,
            site: customer,
            _config: config,
        }
    }

    async fn demo(consent: &'static str) -> Setup {
        Setup::demo_with(consent, "").await
    }

    async fn demo_with(consent: &'static str, extra: &str) -> Setup {
        Setup::start(
            consent,
            &workspace_root().join("demo").join("site"),
            BrowserOptions::default(),
            extra,
        )
        .await
    }

    fn page(&self, path: &str) -> String {
        match &self.site {
            Some(site) => site.url(path),
            None => self.edge.url(&format!("/demo/{path}")),
        }
    }

    /// Every request body the pages of this browser sent with `fetch` or `sendBeacon`, as the
    /// customer site's recorder kept them (third-party serving only).
    async fn sent_bodies(&self) -> Vec<String> {
        let kept = self
            .browser
            .eval("return sessionStorage.getItem('mk_sent') || '[]'")
            .await;
        serde_json::from_str(kept.as_str().unwrap_or("[]")).unwrap_or_default()
    }

    /// The visitor id the tag kept, once it has one.
    async fn vid(&self) -> String {
        vid_in(&self.browser).await
    }

    /// Polls the edge until the visitor's stored events satisfy `pred`; returns them.
    async fn events_until(
        &self,
        vid: &str,
        what: &str,
        pred: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let events: Vec<Value> = self
                .edge
                .visitor(vid)
                .await
                .map(|v| {
                    v["sessions"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .flat_map(|s| s["events"].as_array().cloned().unwrap_or_default())
                        .collect()
                })
                .unwrap_or_default();
            if pred(&events) {
                return events;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}; stored events: {events:#?}\nedge log:\n{}",
                self.edge.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The visitor id the tag kept in `browser`, once it has one.
async fn vid_in(browser: &Browser) -> String {
    let v = browser
        .wait_for(
            "the tag to keep a visitor id",
            WAIT,
            "return localStorage.getItem('mk_vid')",
        )
        .await;
    v.as_str().expect("a string id").to_string()
}

/// A conversion's fields as a JSON object, whether the API shows them as an object or as
/// `[key, value]` pairs.
fn field_map(fields: &Value) -> Value {
    match fields {
        Value::Array(pairs) => Value::Object(
            pairs
                .iter()
                .filter_map(|p| Some((p[0].as_str()?.to_string(), p[1].clone())))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn pageviews(events: &[Value]) -> Vec<&Value> {
    events.iter().filter(|e| e["type"] == "pageview").collect()
}

/// Clicks the element with this id.
async fn click(browser: &Browser, id: &str) {
    browser
        .client
        .find(fantoccini::Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("no element #{id}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click #{id}: {e}"));
}

/// Asserts that the tag keeps `vid` in its first-party cookie on the page's own origin.
async fn assert_cookie_holds(browser: &Browser, vid: &str) {
    let cookie = browser.eval("return document.cookie").await;
    assert!(
        cookie
            .as_str()
            .unwrap_or("")
            .contains(&format!("_mkvid={vid}")),
        "{cookie}"
    );
}

impl Setup {
    /// The visitor's first stored conversion, once there is one.
    async fn conversion(&self, vid: &str) -> Value {
        let events = self
            .events_until(vid, "the conversion", |e| {
                e.iter().any(|e| e["type"] == "conversion")
            })
            .await;
        events
            .into_iter()
            .find(|e| e["type"] == "conversion")
            .expect("a conversion")
    }
}

/// (a) A page view is stored with the right URL (UTM parameters included) and title.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_view_is_stored_with_url_and_title() {
    let _one = ONE_BROWSER.lock().await;
    let s = Setup::demo("none").await;
    let url = s.page("pricing.html?utm_source=mail&utm_campaign=spring");
    s.browser.goto(&url).await;
    let vid = s.vid().await;
    let events = s
        .events_until(&vid, "the page view", |e| !pageviews(e).is_empty())
        .await;
    let pv = pageviews(&events)[0];
    assert_eq!(pv["url"], url.as_str(), "{pv}");
    assert_eq!(pv["title"], "料金 | 見込みクラウド", "{pv}");
    // The id is kept in both first-party places.
    assert_cookie_holds(&s.browser, &vid).await;
}

/// (b) An SPA navigation (history.pushState) makes a second page view; going back (popstate)
/// a third.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spa_navigation_makes_more_page_views() {
    let _one = ONE_BROWSER.lock().await;
    let s = Setup::demo("none").await;
    let url = s.page("en/product.html");
    s.browser.goto(&url).await;
    let vid = s.vid().await;
    s.events_until(&vid, "the first page view", |e| pageviews(e).len() == 1)
        .await;
    click(&s.browser, "tab-specs").await;
    let events = s
        .events_until(&vid, "the SPA page view", |e| pageviews(e).len() >= 2)
        .await;
    let second = pageviews(&events)[1];
    assert_eq!(second["url"], format!("{url}?tab=specs"), "{second}");
    assert_eq!(second["title"], "Specifications | Mikomi Cloud", "{second}");
    assert_eq!(second["referrer"], url.as_str(), "{second}");

    s.browser.client.back().await.expect("history back");
    let events = s
        .events_until(&vid, "the popstate page view", |e| pageviews(e).len() >= 3)
        .await;
    assert_eq!(pageviews(&events)[2]["url"], url.as_str());
    assert_eq!(pageviews(&events).len(), 3, "one page view per navigation");
}

/// (c) Submitting the Japanese contact form stores a conversion with the mapped fields, and
/// neither the password, the hidden field nor the free-text message; the site's own submit
/// handler still runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_form_is_a_conversion_without_the_password() {
    let _one = ONE_BROWSER.lock().await;
    let s = Setup::demo("none").await;
    s.browser.goto(&s.page("contact.html")).await;
    let vid = s.vid().await;
    let values = [
        ("c1", "株式会社テスト商事"),
        ("c2", "山田 太郎"),
        ("c3", "taro.yamada@test-shoji.example"),
        ("c4", "03-1234-5678"),
        ("c5", "部長"),
        ("c6", "営業部"),
        ("c7", "pw-must-never-leave-7731"),
        ("c8", "message-text-not-captured"),
    ];
    for (id, value) in values {
        s.browser
            .client
            .find(fantoccini::Locator::Id(id))
            .await
            .expect("a form field")
            .send_keys(value)
            .await
            .expect("type");
    }
    click(&s.browser, "send").await;
    s.browser
        .wait_for(
            "the site's own submit handler",
            WAIT,
            "return window.contactSubmitted === true",
        )
        .await;
    let conversion = s.conversion(&vid).await;
    assert_eq!(conversion["form"], "contact-form");
    let fields = &field_map(&conversion["fields"]);
    assert_eq!(fields["company"], "株式会社テスト商事", "{conversion}");
    assert_eq!(fields["name"], "山田 太郎", "{conversion}");
    assert_eq!(
        fields["email"], "taro.yamada@test-shoji.example",
        "{conversion}"
    );
    assert_eq!(fields["phone"], "03-1234-5678", "{conversion}");
    assert_eq!(fields["title"], "部長", "{conversion}");
    assert_eq!(fields["department"], "営業部", "{conversion}");
    assert_eq!(fields.as_object().map(|f| f.len()), Some(6), "{conversion}");
    let everything = s.edge.visitor(&vid).await.expect("the visitor").to_string();
    for secret in [
        "pw-must-never-leave-7731",
        "hidden-campaign-0042",
        "message-text-not-captured",
    ] {
        assert!(
            !everything.contains(secret),
            "{secret} was captured: {everything}"
        );
    }
}

/// The popup rules for (d): the brochure for an anonymous visitor on their third visit within a
/// week, no holdout (every visitor is in the experiment), and visits cut after one second of
/// silence so that the test makes real visits by waiting. English is the default language, so
/// that Japanese copy on the Japanese demo pages shows the tag sends the page's language.
const POPUP_RULES: &str = r#"
[sessions]
timeout = "1s"

[popups]
max_per_day = 5
min_visit_age = "0s"
default_lang = "en"
privacy_url = "http://127.0.0.1/privacy"

[[rules]]
id = "brochure-repeat"
template = "brochure"
priority = 10
holdout = 0.0
when = [
  { anonymous = true },
  { visits = { at_least = 3, within = "7d" } },
]

[[rules.variants]]
id = "a"
"#;

/// The popup as the page sees it, or null when there is none: its dialog's attributes, title,
/// the focused element inside (by id), the focusable elements in order, and whether the popup
/// host holds the page's focus.
const POPUP_STATE: &str = "const h = document.querySelector('[data-mikomi-popup]');\
    if (!h || !h.shadowRoot) return null;\
    const r = h.shadowRoot, d = r.querySelector('[role=dialog]'), a = r.activeElement,\
      box = d.getBoundingClientRect();\
    return {host_focused: document.activeElement === h, active: a ? a.id : null,\
      modal: d.getAttribute('aria-modal'), labelled: d.getAttribute('aria-labelledby'),\
      title: r.getElementById(d.getAttribute('aria-labelledby')).textContent,\
      focusable: [...r.querySelectorAll('button, input, a[href]')].map(e => e.id),\
      inputs: [...r.querySelectorAll('input')].map(e => e.name),\
      left: box.left, right: box.right, viewport: innerWidth,\
      title_width: r.getElementById('mk-t').getBoundingClientRect().width};";

/// Presses keys in the browser's focused element; `shift` holds Shift around each key.
async fn press(browser: &Browser, key: fantoccini::key::Key, times: usize, shift: bool) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let mut actions = KeyActions::new("keyboard".into());
    for _ in 0..times {
        if shift {
            actions = actions.then(KeyAction::Down {
                value: fantoccini::key::Key::Shift.into(),
            });
        }
        actions = actions
            .then(KeyAction::Down { value: key.into() })
            .then(KeyAction::Up { value: key.into() });
        if shift {
            actions = actions.then(KeyAction::Up {
                value: fantoccini::key::Key::Shift.into(),
            });
        }
    }
    browser
        .client
        .perform_actions(actions)
        .await
        .expect("key actions");
}

/// Types `text` into the browser's focused element.
async fn type_text(browser: &Browser, text: &str) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let mut actions = KeyActions::new("typing".into());
    for c in text.chars() {
        actions = actions
            .then(KeyAction::Down { value: c })
            .then(KeyAction::Up { value: c });
    }
    browser
        .client
        .perform_actions(actions)
        .await
        .expect("typing");
}

impl Setup {
    /// The visitor's `visits` count once it is at least `n`.
    async fn visits_until(&self, vid: &str, n: u64) -> u64 {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let visits = self
                .edge
                .visitor(vid)
                .await
                .and_then(|v| v["visits"].as_u64())
                .unwrap_or(0);
            if visits >= n {
                return visits;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for visit {n} (at {visits})\nedge log:\n{}",
                self.edge.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Two visits in `browser` (each page view answered and stored, then more than the session
    /// timeout of silence), then the third visit's page `third`; returns the visitor id.
    async fn come_back_a_third_time(&self, browser: &Browser, third: &str) -> String {
        browser.goto(&self.page("index.html")).await;
        let vid = vid_in(browser).await;
        self.visits_until(&vid, 1).await;
        tokio::time::sleep(Duration::from_millis(1_600)).await;
        browser.goto(&self.page("pricing.html")).await;
        self.visits_until(&vid, 2).await;
        let none = browser.eval(POPUP_STATE).await;
        assert_eq!(none, Value::Null, "a popup before the third visit: {none}");
        tokio::time::sleep(Duration::from_millis(1_600)).await;
        browser.goto(&self.page(third)).await;
        vid
    }
}

fn popup_actions(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["type"] == "popup")
        .map(|e| {
            assert_eq!(e["rule"], "brochure-repeat", "{e}");
            assert_eq!(e["variant"], "a", "{e}");
            e["action"].as_str().unwrap_or_default().to_string()
        })
        .collect()
}

/// (d) A visitor who comes back for a third visit is shown the brochure popup from the real
/// rules engine, inside a shadow root, in the page's language. It is a modal dialog that takes
/// focus, keeps Tab and Shift+Tab inside, closes on Esc and gives focus back; `shown` and
/// `dismissed` are stored. Another visitor, on a 375 px wide screen, fills it in with the
/// keyboard and submits it: a conversion and a `submitted` popup event are stored, and the
/// visitor is identified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn third_visit_popup_is_keyboard_operable_and_submits() {
    let _one = ONE_BROWSER.lock().await;
    let s = Setup::demo_with("none", POPUP_RULES).await;

    // The contact page focuses its first field itself: focus must come back there.
    let vid = s.come_back_a_third_time(&s.browser, "contact.html").await;
    let state = s
        .browser
        .wait_for("the popup on the third visit", WAIT, POPUP_STATE)
        .await;
    assert_eq!(state["modal"], "true", "{state}");
    assert_eq!(state["labelled"], "mk-t", "{state}");
    assert_eq!(
        state["title"], "資料請求",
        "Japanese copy for a ja page: {state}"
    );
    assert!(state["title_width"].as_f64() > Some(0.0), "{state}");
    assert_eq!(
        state["inputs"],
        serde_json::json!(["company", "name", "email", "phone"]),
        "{state}"
    );
    let focusable: Vec<String> = state["focusable"]
        .as_array()
        .expect("focusable elements")
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect();
    // Close button, four fields, submit, privacy link.
    assert_eq!(focusable.len(), 7, "{state}");
    assert_eq!(
        state["host_focused"], true,
        "focus moved into the popup: {state}"
    );
    assert_eq!(
        state["active"], focusable[1],
        "the first field has focus: {state}"
    );

    // Tab goes round the dialog and never leaves it.
    for step in 1..=focusable.len() {
        press(&s.browser, fantoccini::key::Key::Tab, 1, false).await;
        let now = s.browser.eval(POPUP_STATE).await;
        assert_eq!(now["host_focused"], true, "Tab left the popup: {now}");
        assert_eq!(
            now["active"],
            focusable[(1 + step) % focusable.len()],
            "after {step} Tab: {now}"
        );
    }
    // Back on the first field: Shift+Tab goes to the close button, then wraps to the end.
    press(&s.browser, fantoccini::key::Key::Tab, 1, true).await;
    assert_eq!(s.browser.eval(POPUP_STATE).await["active"], focusable[0]);
    press(&s.browser, fantoccini::key::Key::Tab, 1, true).await;
    let now = s.browser.eval(POPUP_STATE).await;
    assert_eq!(now["active"], focusable[focusable.len() - 1], "{now}");
    assert_eq!(now["host_focused"], true, "{now}");

    // Esc closes it and gives focus back.
    press(&s.browser, fantoccini::key::Key::Escape, 1, false).await;
    let after = s
        .browser
        .eval(&format!(
            "return [{POPUP_STATE_FN}(), document.activeElement && document.activeElement.id]",
            POPUP_STATE_FN = "(function () {".to_string() + POPUP_STATE + "})"
        ))
        .await;
    assert_eq!(after[0], Value::Null, "the popup is still there: {after}");
    assert_eq!(after[1], "c1", "focus went back to the page: {after}");
    let events = s
        .events_until(&vid, "shown and dismissed", |e| popup_actions(e).len() >= 2)
        .await;
    assert_eq!(popup_actions(&events), ["shown", "dismissed"]);
    assert!(
        !events.iter().any(|e| e["type"] == "conversion"),
        "{events:#?}"
    );

    // Another visitor, on a phone-sized screen, submits it.
    let phone = Browser::start_with(BrowserOptions {
        phone: Some((375, 740)),
        ..BrowserOptions::default()
    })
    .await;
    let other = s.come_back_a_third_time(&phone, "product.html").await;
    assert_ne!(other, vid);
    let state = phone
        .wait_for("the popup for the second visitor", WAIT, POPUP_STATE)
        .await;
    let viewport = state["viewport"].as_f64().unwrap_or_default();
    assert_eq!(viewport, 375.0, "{state}");
    assert!(
        state["left"].as_f64() >= Some(0.0) && state["right"].as_f64() <= Some(viewport),
        "the dialog fits the screen: {state}"
    );
    assert_eq!(state["active"], "mk-f0", "{state}");
    for (i, text) in ["Test Shoji KK", "Hanako Sato", "hanako@test-shoji.example"]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            press(&phone, fantoccini::key::Key::Tab, 1, false).await;
        }
        type_text(&phone, text).await;
    }
    // Enter in a field submits the form.
    press(&phone, fantoccini::key::Key::Enter, 1, false).await;
    phone
        .wait_for(
            "the popup to close on submit",
            WAIT,
            "return !document.querySelector('[data-mikomi-popup]')",
        )
        .await;
    let events = s
        .events_until(&other, "the popup's conversion", |e| {
            popup_actions(e).len() >= 2 && e.iter().any(|e| e["type"] == "conversion")
        })
        .await;
    assert_eq!(popup_actions(&events), ["shown", "submitted"]);
    let conversion = events
        .iter()
        .find(|e| e["type"] == "conversion")
        .expect("a conversion");
    assert_eq!(conversion["form"], "brochure-repeat", "{conversion}");
    let fields = field_map(&conversion["fields"]);
    assert_eq!(fields["company"], "Test Shoji KK", "{conversion}");
    assert_eq!(fields["name"], "Hanako Sato", "{conversion}");
    assert_eq!(fields["email"], "hanako@test-shoji.example", "{conversion}");
    // Identified: the rules engine no longer counts the visitor as anonymous; the first
    // visitor, who only closed the popup, still is.
    assert!(
        !s.anonymous(&other).await,
        "the popup's submit identified nobody"
    );
    assert!(
        s.anonymous(&vid).await,
        "closing the popup identified the visitor"
    );
}

impl Setup {
    /// Whether the rules engine, explaining its decision for the visitor, holds the visitor's
    /// `anonymous` condition.
    async fn anonymous(&self, vid: &str) -> bool {
        let url = self.edge.url(&format!(
            "/api/v1/rules/explain?site=demo&vid={vid}&url=http%3A%2F%2F127.0.0.1%2Fdemo%2F"
        ));
        let response = reqwest::Client::new()
            .get(url)
            .bearer_auth(mikomi_tests::API_KEY)
            .send()
            .await
            .expect("explain request");
        assert_eq!(response.status().as_u16(), 200, "explain");
        let explanation: Value = response.json().await.expect("explain JSON");
        let condition = explanation["rules"][0]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| {
                c["condition"]
                    .as_str()
                    .is_some_and(|c| c.contains("anonymous"))
            })
            .cloned()
            .unwrap_or_else(|| panic!("no anonymous condition: {explanation}"));
        condition["held"]
            .as_bool()
            .unwrap_or_else(|| panic!("{condition}"))
    }
}

/// (e) With an opt-in site, nothing identifying is stored in the browser before consent (no
/// id in localStorage or cookies, the edge's HttpOnly cookie included, no stored queue); after
/// `mikomi('consent', true)` the next event brings an id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opt_in_stores_no_id_before_consent() {
    let _one = ONE_BROWSER.lock().await;
    let s = Setup::demo("opt-in").await;
    s.browser.goto(&s.page("product.html")).await;
    // Wait until the page view has been answered.
    s.browser
        .wait_for(
            "the first collect request",
            WAIT,
            "return performance.getEntriesByType('resource')\
             .filter(e => e.name.endsWith('/v1/collect') && e.responseEnd > 0).length",
        )
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let storage = s
        .browser
        .eval("return [localStorage.getItem('mk_vid'), localStorage.getItem('mk_q'), document.cookie]")
        .await;
    assert_eq!(
        storage,
        serde_json::json!([null, null, ""]),
        "stored before consent"
    );
    let cookies = s.browser.client.get_all_cookies().await.expect("cookies");
    assert!(cookies.is_empty(), "cookies before consent: {cookies:?}");

    s.browser.eval("mikomi('consent', true)").await;
    click(&s.browser, "tab-specs").await;
    let vid = s.vid().await;
    let events = s
        .events_until(&vid, "the page view after consent", |e| {
            !pageviews(e).is_empty()
        })
        .await;
    assert!(
        pageviews(&events)
            .iter()
            .any(|p| p["url"].as_str().is_some_and(|u| u.ends_with("?tab=specs"))),
        "{events:#?}"
    );
}

/// (f) The host page's own `window.onerror` (and `unhandledrejection`) see nothing from the
/// tag, whatever the page does with it, and a page without WebAssembly is left alone. The
/// page's own deliberate error is the control that the hooks work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_page_never_sees_an_error_from_the_tag() {
    let _one = ONE_BROWSER.lock().await;
    let site = tempfile::tempdir().expect("a site directory");
    let hooks = "<script>window.errors=[];\
        window.onerror=function(m){errors.push(String(m))};\
        addEventListener('unhandledrejection',function(e){errors.push('rejection: '+e.reason)});\
        </script>";
    let tag = "<script async src=\"/t.js\" data-site=\"test\"></script>";
    std::fs::write(
        site.path().join("index.html"),
        format!(
            "<!doctype html><html lang=ja><head><meta charset=utf-8><title>errors</title>{hooks}{tag}</head><body>\
             <button id=spa onclick=\"history.pushState(null,'','?v=2')\">spa</button>\
             <a id=pdf href=\"doc.pdf\" onclick=\"event.preventDefault()\">pdf</a>\
             <form id=f onsubmit=\"event.preventDefault()\"><label>メールアドレス<input name=email value=a@corp.example></label>\
             <input type=password name=p value=x><button id=go>go</button></form>\
             <button id=own onclick=\"setTimeout(function(){{throw new Error('site-own')}})\">own</button>\
             </body></html>"
        ),
    )
    .expect("write the page");
    std::fs::write(
        site.path().join("nowasm.html"),
        format!(
            "<!doctype html><html><head><title>no wasm</title>{hooks}\
             <script>delete window.WebAssembly</script>{tag}</head><body></body></html>"
        ),
    )
    .expect("write the page");
    // The test site key is "test": the edge's default test site.
    let s = Setup::start("none", site.path(), BrowserOptions::default(), "").await;
    s.browser.goto(&s.page("index.html")).await;
    s.vid().await;
    for id in ["spa", "pdf", "go"] {
        s.browser
            .client
            .find(fantoccini::Locator::Id(id))
            .await
            .expect("a control")
            .click()
            .await
            .expect("click");
    }
    // Odd calls a site might make.
    s.browser
        .eval(
            "mikomi(); mikomi('nope'); mikomi('track'); mikomi('track', 'x', {a: 1, b: NaN, c: {}});\
             mikomi('identify', null); mikomi('identify', {email: 5}); mikomi('consent', 'yes');\
             history.replaceState(null, '', '?v=3'); dispatchEvent(new Event('online'));\
             document.dispatchEvent(new Event('visibilitychange'));",
        )
        .await;
    s.browser
        .client
        .find(fantoccini::Locator::Id("own"))
        .await
        .expect("the control button")
        .click()
        .await
        .expect("click");
    // Let the batching timer fire and the answers come back.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let errors = s.browser.eval("return window.errors").await;
    assert_eq!(errors.as_array().map(Vec::len), Some(1), "{errors}");
    assert!(
        errors[0].as_str().unwrap_or("").contains("site-own"),
        "{errors}"
    );

    s.browser.goto(&s.page("nowasm.html")).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let state = s
        .browser
        .eval("return [window.errors, typeof window.mikomi, localStorage.getItem('mk_vid') === null || true]")
        .await;
    assert_eq!(state[0], serde_json::json!([]), "{state}");
    assert_eq!(
        state[1], "function",
        "the queue exists without WebAssembly: {state}"
    );
}

/// Benchmark, not a test (ignored by default): the time from the page's `load` event to the
/// start of the tag's first collect request on the demo home page, over 20 loads in one
/// browser (the first load fetches the module; later ones find it in the HTTP cache). Run:
/// `cargo test -p mikomi-tests --test browser --release -- --ignored --nocapture tag_latency`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly"]
async fn tag_latency() {
    let _one = ONE_BROWSER.lock().await;
    let s = Setup::demo("none").await;
    let url = s.page("index.html");
    let mut samples = Vec::new();
    for _ in 0..20 {
        s.browser.goto(&url).await;
        let ms = s
            .browser
            .wait_for(
                "the first collect request",
                WAIT,
                "const nav = performance.getEntriesByType('navigation')[0];\
                 const c = performance.getEntriesByType('resource')\
                   .find(e => e.name.endsWith('/v1/collect'));\
                 return nav && c && nav.loadEventStart > 0\
                   ? String(c.startTime - nav.loadEventStart) : null;",
            )
            .await;
        let ms: f64 = ms.as_str().and_then(|m| m.parse().ok()).expect("a number");
        samples.push(ms);
    }
    let first = samples[0];
    samples.sort_by(f64::total_cmp);
    let median = (samples[9] + samples[10]) / 2.0;
    println!(
        "load -> first collect over {} loads: median {median:.1} ms, min {:.1} ms, max {:.1} ms, \
         first (cold cache) {first:.1} ms",
        samples.len(),
        samples[0],
        samples[samples.len() - 1],
    );
}
