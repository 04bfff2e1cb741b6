//! A view as a Slack incoming-webhook message: Block Kit blocks (header, fields, lists, a
//! button to the console, a context line) and `text` as the notification fallback.

use serde_json::{Value, json};

use super::view::View;

/// Slack's limits: a header's text, a section field, a section's text, fields per section.
const HEADER_MAX: usize = 150;
const FIELD_MAX: usize = 2000;
const TEXT_MAX: usize = 3000;
const FIELDS_MAX: usize = 10;

/// `&`, `<` and `>` are the characters mrkdwn needs escaped.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

pub fn payload(view: &View) -> Value {
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": cut(&view.title, HEADER_MAX), "emoji": true},
    })];
    let fields: Vec<Value> = view
        .facts
        .iter()
        .take(FIELDS_MAX)
        .map(|(label, value)| {
            json!({"type": "mrkdwn", "text": cut(&format!("*{}*\n{}", escape(label), escape(value)), FIELD_MAX)})
        })
        .collect();
    if !fields.is_empty() {
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    for (title, items) in &view.lists {
        let lines: Vec<String> = items
            .iter()
            .map(|item| match &item.url {
                Some(url) => format!("• <{}|{}>", url, escape(&item.text).replace('|', "¦")),
                None => format!("• {}", escape(&item.text)),
            })
            .collect();
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": cut(&format!("*{}*\n{}", escape(title), lines.join("\n")), TEXT_MAX)},
        }));
    }
    if let Some(link) = &view.link {
        blocks.push(json!({
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": {"type": "plain_text", "text": cut(&link.label, 75), "emoji": true},
                "url": link.url,
                "style": "primary",
            }],
        }));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": escape(&view.footer)}],
    }));
    json!({"text": view.title, "blocks": blocks})
}
