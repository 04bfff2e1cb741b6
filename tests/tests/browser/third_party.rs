//! The deployment the README puts first: the customer's pages on their own site
//! (`http://localhost:…`), one script tag loading the tag from the edge (`http://127.0.0.1:…`).
//! The browser sees two sites: the glue module and the wasm module are CORS requests, collect is
//! a credentialed CORS request, and the edge's cookie is a third-party one, so the visitor's
//! identity must travel as the body id the tag keeps in the site's own storage.

use super::*;

async fn third_party(extra: &str) -> Setup {
    Setup::start_serving(
        Serving::ThirdParty,
        "none",
        &workspace_root().join("demo").join("site"),
        BrowserOptions::default(),
        extra,
    )
    .await
}

/// A page view, the popup on the third visit, an SPA navigation and a conversion, all from a
/// page on another site, with one visitor id from start to end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_on_another_origin_is_tracked_end_to_end() {
    let _one = ONE_BROWSER.lock().await;
    let s = third_party(POPUP_RULES).await;
    let site = s.site.as_ref().expect("a customer site");
    assert!(site.base.starts_with("http://localhost:"));
    assert!(s.edge.base.starts_with("http://127.0.0.1:"));

    // Three visits: the page views are stored, and the third one brings the popup.
    let vid = s.come_back_a_third_time(&s.browser, "product.html").await;
    let first = s
        .events_until(&vid, "the first page view", |e| !pageviews(e).is_empty())
        .await;
    assert_eq!(pageviews(&first)[0]["url"], s.page("index.html").as_str());
    let state = s
        .browser
        .wait_for("the popup on the third visit", WAIT, POPUP_STATE)
        .await;
    assert_eq!(state["title"], "資料請求", "{state}");
    press(&s.browser, fantoccini::key::Key::Escape, 1, false).await;
    s.events_until(&vid, "the popup shown and dismissed", |e| {
        popup_actions(e).len() >= 2
    })
    .await;

    // An SPA navigation on the same page.
    click(&s.browser, "tab-specs").await;
    let product = s.page("product.html");
    s.events_until(&vid, "the SPA page view", |e| {
        pageviews(e)
            .iter()
            .any(|p| p["url"] == format!("{product}?tab=specs").as_str())
    })
    .await;

    // A conversion on the contact page, filled in and submitted as a person would.
    s.browser.goto(&s.page("contact.html")).await;
    assert_eq!(
        vid_in(&s.browser).await,
        vid,
        "the same visitor on a later page"
    );
    s.browser
        .eval(
            "const f = document.getElementById('contact-form');\
             const put = (id, v) => { document.getElementById(id).value = v; };\
             put('c1', '株式会社クロスオリジン'); put('c2', '木村 花子');\
             put('c3', 'hanako@cross-origin.example'); put('c7', 'pw-third-party-5521');\
             f.requestSubmit(); return true;",
        )
        .await;
    let conversion = s.conversion(&vid).await;
    let fields = field_map(&conversion["fields"]);
    assert_eq!(fields["company"], "株式会社クロスオリジン", "{conversion}");
    assert_eq!(
        fields["email"], "hanako@cross-origin.example",
        "{conversion}"
    );
    assert_eq!(conversion["url"], s.page("contact.html").as_str());

    // What the browser itself sent: every collect body after the first carried the id, and the
    // password never left the page.
    let sent = s.sent_bodies().await;
    assert!(sent.len() >= 4, "{sent:#?}");
    assert!(
        sent.iter()
            .skip(1)
            .all(|b| b.contains(&format!("\"vid\":\"{vid}\""))),
        "a request went out without the visitor id: {sent:#?}"
    );
    assert!(
        !sent.iter().any(|b| b.contains("pw-third-party-5521")),
        "{sent:#?}"
    );
    // The id lives in the customer site's own storage; the edge's cookie is not what carries
    // it (the browser keeps it for 127.0.0.1, a site this page is not on).
    assert_cookie_holds(&s.browser, &vid).await;
}

/// Every file of the tag a page of another site loads answers with the headers such a load
/// needs, and collect's preflight and answer name the page's origin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tag_files_and_collect_answer_a_foreign_origin() {
    let _one = ONE_BROWSER.lock().await;
    let s = third_party("").await;
    let origin = s.site.as_ref().expect("a customer site").origin();
    s.browser.goto(&s.page("index.html")).await;
    let _ = vid_in(&s.browser).await;
    // The names the loader asked for, from the browser's own record of what it fetched.
    let loaded = s
        .browser
        .eval(
            "return performance.getEntriesByType('resource').map(e => e.name)\
             .filter(n => n.startsWith('http://127.0.0.1:'))",
        )
        .await;
    let loaded: Vec<String> = serde_json::from_value(loaded).unwrap_or_default();
    for suffix in ["/t.js", ".js", ".wasm", "/v1/collect"] {
        assert!(
            loaded.iter().any(|n| n.ends_with(suffix)),
            "nothing ending in {suffix} was loaded: {loaded:?}"
        );
    }
    let http = reqwest::Client::new();
    for url in loaded.iter().filter(|n| !n.ends_with("/v1/collect")) {
        let answer = http
            .get(url)
            .header("Origin", &origin)
            .send()
            .await
            .expect("GET a tag file");
        let headers = answer.headers();
        assert_eq!(answer.status().as_u16(), 200, "{url}");
        assert_eq!(headers["access-control-allow-origin"], "*", "{url}");
        assert_eq!(
            headers["cross-origin-resource-policy"], "cross-origin",
            "{url}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff", "{url}");
        assert!(
            headers["cache-control"]
                .to_str()
                .is_ok_and(|c| c.contains("max-age=")),
            "{url}"
        );
    }
    let preflight = http
        .request(reqwest::Method::OPTIONS, s.edge.url("/v1/collect"))
        .header("Origin", &origin)
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .expect("preflight");
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        origin.as_str()
    );
    assert_eq!(
        preflight.headers()["access-control-allow-credentials"],
        "true"
    );
}
