//! Helpers for alert tests: a company database of demo companies behind loopback addresses,
//! visits from them, and checks of the message shapes Slack (Block Kit) and Teams (Adaptive
//! Cards) document.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::edge::Edge;
use crate::{ORIGIN, SITE};

/// A demo company: large (1,200 employees), manufacturing, behind 127.0.5.0/24.
pub const DEMO_IP: &str = "127.0.5.10";
pub const DEMO_DOMAIN: &str = "toyota-demo.example";
pub const DEMO_NAME: &str = "トヨタデモ株式会社";
/// A second company: small (40 employees), behind 127.0.6.0/24.
pub const SMALL_IP: &str = "127.0.6.10";
pub const SMALL_DOMAIN: &str = "sakura-shoji.example";

/// Builds the demo company database with `mikomi-ipdb` into `dir`.
pub fn company_db(dir: &Path) -> PathBuf {
    let csv = dir.join("companies.csv");
    std::fs::write(
        &csv,
        format!(
            "network,name,domain,industry,employees,country\n\
             127.0.5.0/24,{DEMO_NAME},{DEMO_DOMAIN},製造業,1200,JP\n\
             127.0.6.0/24,さくら商事株式会社,{SMALL_DOMAIN},卸売業,40,JP\n"
        ),
    )
    .expect("write the company CSV");
    let output = dir.join("companies.mmdb");
    let built = std::process::Command::new(crate::edge::ipdb_binary())
        .args(["build", "--format", "company", "--output"])
        .arg(&output)
        .arg(&csv)
        .output()
        .expect("run mikomi-ipdb");
    assert!(built.status.success(), "{built:?}");
    output
}

/// One page view (and optional extra events) from `ip` by the visitor `vid` (a new one when
/// `None`); returns the visitor id the edge gave.
pub async fn visit(
    edge: &Edge,
    ip: &str,
    vid: Option<&str>,
    path: &str,
    extra: Vec<Value>,
) -> String {
    let mut events = vec![json!({"type": "pageview", "url": format!("{ORIGIN}{path}")})];
    events.extend(extra);
    let mut body = json!({"site": SITE, "events": events});
    if let Some(vid) = vid {
        body["vid"] = vid.into();
    }
    let answer = edge.collect_from(ip, &body).await;
    answer["vid"].as_str().expect("a visitor id").to_string()
}

fn text_object(value: &Value, kinds: &[&str], max: usize) -> Result<(), String> {
    let kind = value["type"].as_str().ok_or("a text object has a type")?;
    if !kinds.contains(&kind) {
        return Err(format!("text type {kind} where {kinds:?} is allowed"));
    }
    let text = value["text"].as_str().ok_or("a text object has text")?;
    if text.is_empty() || text.chars().count() > max {
        return Err(format!(
            "text of {} characters (1..={max})",
            text.chars().count()
        ));
    }
    Ok(())
}

/// The message shape of Slack's incoming webhooks with Block Kit: a fallback `text`, at most
/// 50 blocks of the layout types used, header text plain and ≤ 150 characters, at most 10
/// section fields of ≤ 2000, section text ≤ 3000, buttons with plain text and a URL, context
/// elements text objects.
pub fn check_block_kit(message: &Value) -> Result<(), String> {
    if message["text"].as_str().is_none_or(str::is_empty) {
        return Err("no fallback text".into());
    }
    let blocks = message["blocks"].as_array().ok_or("blocks is an array")?;
    if blocks.is_empty() || blocks.len() > 50 {
        return Err(format!("{} blocks", blocks.len()));
    }
    for block in blocks {
        match block["type"].as_str() {
            Some("header") => text_object(&block["text"], &["plain_text"], 150)?,
            Some("section") => {
                if let Some(fields) = block["fields"].as_array() {
                    if fields.len() > 10 {
                        return Err("more than 10 fields".into());
                    }
                    for field in fields {
                        text_object(field, &["mrkdwn", "plain_text"], 2000)?;
                    }
                } else {
                    text_object(&block["text"], &["mrkdwn", "plain_text"], 3000)?;
                }
            }
            Some("actions") => {
                let elements = block["elements"].as_array().ok_or("actions has elements")?;
                for element in elements {
                    if element["type"] != "button" {
                        return Err(format!("action element {}", element["type"]));
                    }
                    text_object(&element["text"], &["plain_text"], 75)?;
                    let url = element["url"].as_str().ok_or("a link button has a url")?;
                    if !url.starts_with("https://") || url.len() > 3000 {
                        return Err(format!("button url {url}"));
                    }
                }
            }
            Some("context") => {
                let elements = block["elements"].as_array().ok_or("context has elements")?;
                for element in elements {
                    text_object(element, &["mrkdwn", "plain_text"], 3000)?;
                }
            }
            other => return Err(format!("block type {other:?}")),
        }
    }
    Ok(())
}

/// The message shape a Teams workflow webhook takes: `type: message` with one attachment of
/// content type `application/vnd.microsoft.card.adaptive` whose content is an Adaptive Card
/// (`type`, `version`, `$schema`, a body of TextBlock / FactSet elements, Action.OpenUrl
/// actions with a URL).
pub fn check_adaptive_card(message: &Value) -> Result<(), String> {
    if message["type"] != "message" {
        return Err("type is not message".into());
    }
    let attachments = message["attachments"].as_array().ok_or("attachments")?;
    if attachments.len() != 1 {
        return Err(format!("{} attachments", attachments.len()));
    }
    let attachment = &attachments[0];
    if attachment["contentType"] != "application/vnd.microsoft.card.adaptive" {
        return Err(format!("contentType {}", attachment["contentType"]));
    }
    let card = &attachment["content"];
    if card["type"] != "AdaptiveCard" {
        return Err("content is not an AdaptiveCard".into());
    }
    let version = card["version"].as_str().ok_or("a card has a version")?;
    if !["1.0", "1.1", "1.2", "1.3", "1.4", "1.5"].contains(&version) {
        return Err(format!("version {version}"));
    }
    if card["$schema"] != "http://adaptivecards.io/schemas/adaptive-card.json" {
        return Err("$schema".into());
    }
    for element in card["body"].as_array().ok_or("body is an array")? {
        match element["type"].as_str() {
            Some("TextBlock") => {
                if element["text"].as_str().is_none_or(str::is_empty) {
                    return Err("a TextBlock without text".into());
                }
            }
            Some("FactSet") => {
                for fact in element["facts"].as_array().ok_or("facts")? {
                    if fact["title"].as_str().is_none() || fact["value"].as_str().is_none() {
                        return Err(format!("fact {fact}"));
                    }
                }
            }
            other => return Err(format!("element type {other:?}")),
        }
    }
    for action in card["actions"].as_array().into_iter().flatten() {
        if action["type"] != "Action.OpenUrl" || action["url"].as_str().is_none() {
            return Err(format!("action {action}"));
        }
    }
    Ok(())
}
