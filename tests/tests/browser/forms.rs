//! Form capture against markup written the way common form systems render it
//! (`tests/fixtures/forms/`), served from a customer site of its own. Each test fills the form
//! in the browser, submits it, and checks the exact fields the edge stored and that no hidden,
//! decoy or secret value is in any request body the page sent.

use serde_json::{Map, json};

use super::*;

/// The fixtures' folder.
fn fixtures() -> PathBuf {
    workspace_root()
        .join("tests")
        .join("fixtures")
        .join("forms")
}

/// Opens `page`, sets each `(CSS selector, value)` as a person typing would (an `input` event
/// after each), runs `before_submit`, scrolls to the end of the page (on a long page the form
/// is then out of view, which is not hidden), submits the page's form, and returns the stored
/// conversion's fields and every body the page sent.
async fn submit(page: &str, values: &[(&str, &str)], before_submit: &str) -> (Value, Vec<String>) {
    let s = Setup::start_serving(
        Serving::ThirdParty,
        "none",
        &fixtures(),
        BrowserOptions::default(),
        "",
    )
    .await;
    s.browser.goto(&s.page(page)).await;
    let vid = s.vid().await;
    let values = serde_json::to_string(values).expect("JSON");
    let script = format!(
        "for (const [sel, v] of {values}) {{\
           const el = document.querySelector(sel);\
           if (!el) return 'no element ' + sel;\
           el.focus(); el.value = v; el.dispatchEvent(new Event('input', {{bubbles: true}}));\
         }}\
         {before_submit}\
         window.scrollTo(0, document.body.scrollHeight);\
         document.querySelector('form').requestSubmit();\
         return 'ok';"
    );
    assert_eq!(s.browser.eval(&script).await, "ok", "{page}");
    s.browser
        .wait_for(
            "the site's own submit handler",
            WAIT,
            "return window.formSent === true",
        )
        .await;
    let conversion = s.conversion(&vid).await;
    // The conversion is urgent and sent at once; wait until the page's recorder holds it.
    s.browser
        .wait_for(
            "the conversion's request body",
            WAIT,
            "return (sessionStorage.getItem('mk_sent') || '').includes('conversion')",
        )
        .await;
    (field_map(&conversion["fields"]), s.sent_bodies().await)
}

fn fields(pairs: &[(&str, &str)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect::<Map<_, _>>(),
    )
}

fn assert_never_sent(sent: &[String], values: &[&str]) {
    for value in values {
        assert!(
            !sent.iter().any(|b| b.contains(value)),
            "{value} left the page: {sent:#?}"
        );
    }
}

/// Contact Form 7 in a table: every label is only in the row's `<th>`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_header_labels_name_the_fields() {
    let _one = ONE_BROWSER.lock().await;
    let (got, sent) = submit(
        "cf7-table.html",
        &[
            ("[name=text-101]", "株式会社サンプル商事"),
            ("[name=text-872]", "マーケティング部"),
            ("[name=text-873]", "課長"),
            ("[name=your-name]", "佐藤 一郎"),
            ("[name=your-email]", "ichiro.sato@sample-shoji.example"),
            ("[name=tel-361]", "03-5555-0101"),
            ("[name=your-message]", "message-body-never-sent-31"),
        ],
        "",
    )
    .await;
    assert_eq!(
        got,
        fields(&[
            ("company", "株式会社サンプル商事"),
            ("department", "マーケティング部"),
            ("title", "課長"),
            ("name", "佐藤 一郎"),
            ("email", "ichiro.sato@sample-shoji.example"),
            ("phone", "03-5555-0101"),
        ])
    );
    assert_never_sent(&sent, &["message-body-never-sent-31", "wpcf7-f123-p45-o1"]);
}

/// MW WP Form in a definition list: romaji names, and a phone in three parts joined as one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_phone_parts_are_joined() {
    let _one = ONE_BROWSER.lock().await;
    let (got, sent) = submit(
        "mwwp-dl.html",
        &[
            ("[name=kaisha]", "横浜精機株式会社"),
            ("[name=busho]", "生産技術部"),
            ("[name=yakushoku]", "主任"),
            ("[name=shimei]", "高橋 美咲"),
            ("[name=mail]", "misaki@yokohama-seiki.example"),
            ("[name='tel[data][0]']", "045"),
            ("[name='tel[data][1]']", "678"),
            ("[name='tel[data][2]']", "1234"),
            ("[name='zip[data][0]']", "220"),
            ("[name='zip[data][1]']", "0012"),
        ],
        "",
    )
    .await;
    assert_eq!(
        got,
        fields(&[
            ("company", "横浜精機株式会社"),
            ("department", "生産技術部"),
            ("title", "主任"),
            ("name", "高橋 美咲"),
            ("email", "misaki@yokohama-seiki.example"),
            ("phone", "045-678-1234"),
        ])
    );
    assert_never_sent(&sent, &["token-4f1c9e-never-sent"]);
}

/// A hand-written CGI form: Japanese `name` attributes, 姓 and 名 with their readings beside.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn japanese_names_become_family_given_and_full_name_without_the_readings() {
    let _one = ONE_BROWSER.lock().await;
    let (got, sent) = submit(
        "cgi-japanese.html",
        &[
            ("[name=会社名]", "有限会社やまびこ工房"),
            ("[name=部署名]", "総務課"),
            ("[name=役職]", "係長"),
            ("[name=姓]", "中村"),
            ("[name=名]", "健太"),
            ("[name=セイ]", "ナカムラ"),
            ("[name=メイ]", "ケンタ"),
            ("[name=email]", "kenta@yamabiko.example"),
            ("[name=内容]", "free-text-never-sent-77"),
        ],
        "",
    )
    .await;
    assert_eq!(
        got,
        fields(&[
            ("company", "有限会社やまびこ工房"),
            ("department", "総務課"),
            ("title", "係長"),
            ("last_name", "中村"),
            ("first_name", "健太"),
            ("email", "kenta@yamabiko.example"),
            ("name", "中村 健太"),
        ])
    );
    assert_never_sent(&sent, &["ナカムラ", "ケンタ", "free-text-never-sent-77"]);
}

/// Decoys filled in first (as a bot or autofill would) never replace the real values: hidden by
/// a stylesheet, inline, off-screen, `aria-hidden`, invisible, `tabindex=-1` with
/// `autocomplete=off`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honeypots_and_decoys_are_never_captured() {
    let _one = ONE_BROWSER.lock().await;
    let decoys = [
        ("#hp-email", "decoy-css@spam.example"),
        ("[name=company_hp]", "Decoy Inline KK"),
        ("#hp-name", "Decoy Offscreen"),
        ("[name=phone_alt]", "000-decoy-aria"),
        ("[name=job_title_alt]", "Decoy Invisible"),
        ("[name=email_confirm_hp]", "decoy-tabindex@spam.example"),
    ];
    let mut values = decoys.to_vec();
    values.extend([
        ("#company", "Northwind Traders Japan"),
        ("#name", "Emma Watanabe"),
        ("#email", "emma@northwind.example"),
        ("#phone", "+81 3 5555 0199"),
    ]);
    let (got, sent) = submit("honeypots.html", &values, "").await;
    assert_eq!(
        got,
        fields(&[
            ("company", "Northwind Traders Japan"),
            ("name", "Emma Watanabe"),
            ("email", "emma@northwind.example"),
            ("phone", "+81 3 5555 0199"),
        ])
    );
    let decoy_values: Vec<&str> = decoys.iter().map(|(_, v)| *v).collect();
    assert_never_sent(&sent, &decoy_values);
}

/// A password typed while hidden stays unread after "show password" makes it a text field, even
/// though its label would map it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shown_password_is_still_a_password() {
    let _one = ONE_BROWSER.lock().await;
    let (got, sent) = submit(
        "login-toggle.html",
        &[
            ("[name=f1]", "株式会社ログイン"),
            ("[name=f2]", "member@login.example"),
            ("[name=f3]", "secret-key-shown-9917"),
        ],
        "document.getElementById('show').click();\
         if (document.querySelector('[name=f3]').type !== 'text') return 'not toggled';",
    )
    .await;
    assert_eq!(
        got,
        fields(&[
            ("company", "株式会社ログイン"),
            ("email", "member@login.example"),
        ])
    );
    assert_never_sent(&sent, &["secret-key-shown-9917"]);
}
