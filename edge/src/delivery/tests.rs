use std::sync::Arc;

use super::view::{Context, view};
use super::*;
use crate::engine::alerts::{AlertEntry, Message};
use crate::notice::{Alert, Company};

fn alert(lang: &str) -> AlertEntry {
    AlertEntry {
        id: 7,
        site: Arc::from("demo"),
        message: Message::Alert(Box::new(Alert {
            rule: "hot".into(),
            kind: "account.hot".into(),
            subject: "account:toyota-demo.example".into(),
            cooldown_ms: 86_400_000,
            destinations: vec!["slack".into()],
            lang: lang.into(),
            company: Some(Company {
                domain: "toyota-demo.example".into(),
                name: Some("トヨタデモ株式会社".into()),
                industry: Some("製造業".into()),
                employees: Some(1200),
                country: Some("JP".into()),
            }),
            person: None,
            heat: 23.0,
            visits: 3,
            visitors: 2,
            pages: vec!["/pricing".into(), "/product/a<b>".into()],
            known_people: vec![42],
        })),
        created_ms: 0,
        pending: vec!["slack".into()],
        dead: Vec::new(),
    }
}

fn rendered(lang: &str) -> View {
    let entry = alert(lang);
    let person = |id: u64| (id == 42).then(|| "山田 太郎".to_string());
    let cx = Context {
        site: "demo",
        console_url: Some("https://mikomi.example.co.jp/console/"),
        person: &person,
    };
    view(&entry.message, &cx)
}

#[test]
fn the_view_names_the_company_its_band_pages_people_and_links_in_japanese() {
    let v = rendered("ja");
    assert_eq!(v.title, "🔥 トヨタデモ株式会社 の関心が高まっています");
    assert!(
        v.facts
            .contains(&("企業規模".into(), "大手（1,200名）".into())),
        "{:?}",
        v.facts
    );
    assert!(v.facts.contains(&("業種".into(), "製造業".into())));
    let people = &v.lists[1].1[0];
    assert_eq!(people.text, "山田 太郎");
    assert_eq!(
        people.url.as_deref(),
        Some("https://mikomi.example.co.jp/console/sites/demo/people/p42")
    );
    assert_eq!(
        v.link.as_ref().map(|l| l.url.as_str()),
        Some("https://mikomi.example.co.jp/console/sites/demo/accounts/toyota-demo.example")
    );
    let en = rendered("en");
    assert_eq!(en.title, "🔥 トヨタデモ株式会社 is showing strong interest");
    assert!(
        en.facts
            .contains(&("Size".into(), "large (1,200 employees)".into()))
    );
}

#[test]
fn slack_blocks_escape_mrkdwn_and_carry_the_button() {
    let payload = slack::payload(&rendered("ja"));
    let blocks = payload["blocks"].as_array().expect("blocks");
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["type"], "plain_text");
    assert!(
        payload["text"]
            .as_str()
            .is_some_and(|t| t.contains("トヨタデモ"))
    );
    let text = payload.to_string();
    assert!(text.contains("/product/a&lt;b&gt;"), "{text}");
    let actions = blocks
        .iter()
        .find(|b| b["type"] == "actions")
        .expect("actions");
    assert_eq!(actions["elements"][0]["type"], "button");
}

#[test]
fn the_teams_card_is_an_adaptive_card_attachment() {
    let payload = teams::payload(&rendered("en"));
    assert_eq!(payload["type"], "message");
    let attachment = &payload["attachments"][0];
    assert_eq!(attachment["contentType"], teams::CARD_CONTENT_TYPE);
    let card = &attachment["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.4");
    assert_eq!(card["body"][1]["type"], "FactSet");
    assert_eq!(card["actions"][0]["type"], "Action.OpenUrl");
}

#[test]
fn the_mail_parts_hold_the_links_and_escape_html() {
    let v = rendered("ja");
    let plain = email::plain(&v);
    assert!(
        plain.contains(
            "https://mikomi.example.co.jp/console/sites/demo/accounts/toyota-demo.example"
        )
    );
    let html = email::html(&v);
    assert!(html.contains("/product/a&lt;b&gt;"));
    assert!(html.contains(
        "<a href=\"https://mikomi.example.co.jp/console/sites/demo/people/p42\">山田 太郎</a>"
    ));
}
