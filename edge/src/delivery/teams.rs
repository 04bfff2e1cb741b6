//! A view as a Microsoft Teams message for a workflow webhook ("When a Teams webhook request is
//! received"): one Adaptive Card (schema 1.4) attachment with the title, a fact set, the lists
//! and an Action.OpenUrl to the console.

use serde_json::{Value, json};

use super::view::View;

pub const CARD_CONTENT_TYPE: &str = "application/vnd.microsoft.card.adaptive";
pub const CARD_SCHEMA: &str = "http://adaptivecards.io/schemas/adaptive-card.json";

pub fn card(view: &View) -> Value {
    let mut body = vec![json!({
        "type": "TextBlock",
        "text": view.title,
        "size": "Large",
        "weight": "Bolder",
        "wrap": true,
    })];
    if !view.facts.is_empty() {
        body.push(json!({
            "type": "FactSet",
            "facts": view.facts.iter().map(|(title, value)| json!({"title": title, "value": value})).collect::<Vec<_>>(),
        }));
    }
    for (title, items) in &view.lists {
        body.push(json!({
            "type": "TextBlock",
            "text": title,
            "weight": "Bolder",
            "spacing": "Medium",
            "wrap": true,
        }));
        let lines: Vec<String> = items
            .iter()
            .map(|item| match &item.url {
                Some(url) => format!("- [{}]({url})", item.text.replace(['[', ']'], "")),
                None => format!("- {}", item.text),
            })
            .collect();
        body.push(json!({"type": "TextBlock", "text": lines.join("\n"), "wrap": true}));
    }
    body.push(json!({
        "type": "TextBlock",
        "text": view.footer,
        "isSubtle": true,
        "size": "Small",
        "wrap": true,
    }));
    let mut card = json!({
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": "1.4",
        "lang": view.lang,
        "body": body,
    });
    if let Some(link) = &view.link {
        card["actions"] = json!([{"type": "Action.OpenUrl", "title": link.label, "url": link.url}]);
    }
    card
}

/// The body a Teams workflow webhook takes: a message with the card as its one attachment.
pub fn payload(view: &View) -> Value {
    json!({
        "type": "message",
        "attachments": [{
            "contentType": CARD_CONTENT_TYPE,
            "contentUrl": null,
            "content": card(view),
        }],
    })
}
