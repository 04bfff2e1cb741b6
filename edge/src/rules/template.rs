//! Popup templates and the copy a popup carries. Built-in `brochure` (資料請求) and `seminar`
//! (セミナー申込), plus custom ones from the configuration; every text in Japanese and English,
//! rendered once per language when rules load so a decision only picks a prepared answer.
//!
//! Everything here is plain text: the tag renders it as text, never as HTML.

use std::sync::Arc;

use serde::Serialize;

use crate::config::rules::{
    EventConfig, FieldConfig, FieldKind, LangConfig, TemplateConfig, TextConfig,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lang {
    Ja,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Ja, Lang::En];

    pub fn index(self) -> usize {
        self as usize
    }

    /// A language tag (`ja`, `en-US`); anything else is not understood.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("ja") {
            Some(Lang::Ja)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// A page under an `/en/` (or `/ja/`) path segment is in that language.
    pub fn from_path(path: &str) -> Option<Lang> {
        path.split('/').find_map(|segment| match segment {
            "en" => Some(Lang::En),
            "ja" | "jp" => Some(Lang::Ja),
            _ => None,
        })
    }
}

impl From<LangConfig> for Lang {
    fn from(l: LangConfig) -> Lang {
        match l {
            LangConfig::Ja => Lang::Ja,
            LangConfig::En => Lang::En,
        }
    }
}

/// Text in both languages, each present.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text {
    pub ja: String,
    pub en: String,
}

impl Text {
    fn new(ja: &str, en: &str) -> Text {
        Text {
            ja: ja.into(),
            en: en.into(),
        }
    }

    /// A configured text; one missing language takes the other's words.
    pub fn from_config(config: &TextConfig) -> Result<Text, String> {
        match (&config.ja, &config.en) {
            (None, None) => Err("give the text in ja, en or both".into()),
            (ja, en) => {
                let ja = ja.clone().or_else(|| en.clone()).unwrap_or_default();
                let en = en.clone().unwrap_or_else(|| ja.clone());
                if ja.len() > 2000 || en.len() > 2000 {
                    return Err("popup text is limited to 2000 bytes".into());
                }
                Ok(Text { ja, en })
            }
        }
    }

    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Ja => &self.ja,
            Lang::En => &self.en,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Field {
    pub name: String,
    pub label: Text,
    pub kind: FieldKind,
    pub required: bool,
}

#[derive(Clone, Debug)]
pub struct Template {
    pub name: String,
    pub title: Text,
    pub body: Text,
    pub submit: Text,
    pub fields: Vec<Field>,
    /// The body is prefixed by the configured event's title and date (`seminar`).
    pub needs_event: bool,
}

fn contact_fields() -> Vec<Field> {
    let field = |name: &str, ja: &str, en: &str, kind, required| Field {
        name: name.into(),
        label: Text::new(ja, en),
        kind,
        required,
    };
    vec![
        field("company", "会社名", "Company", FieldKind::Text, true),
        field("name", "お名前", "Name", FieldKind::Text, true),
        field("email", "メールアドレス", "Email", FieldKind::Email, true),
        field("phone", "電話番号", "Phone", FieldKind::Tel, false),
    ]
}

/// The built-in templates.
pub fn builtin(name: &str) -> Option<Template> {
    Some(match name {
        "brochure" => Template {
            name: name.into(),
            title: Text::new("資料請求", "Request our brochure"),
            body: Text::new(
                "製品の詳しい資料（PDF）をお送りします。以下をご入力ください。",
                "We will send you our detailed product brochure (PDF). Tell us where to send it.",
            ),
            submit: Text::new("資料を請求する", "Send me the brochure"),
            fields: contact_fields(),
            needs_event: false,
        },
        "seminar" => Template {
            name: name.into(),
            title: Text::new("セミナー申込", "Seminar registration"),
            body: Text::new(
                "お申し込みいただいた方に参加方法をお送りします。",
                "Register and we will send you how to join.",
            ),
            submit: Text::new("セミナーに申し込む", "Register"),
            fields: contact_fields(),
            needs_event: true,
        },
        _ => return None,
    })
}

impl Template {
    pub fn from_config(name: &str, config: &TemplateConfig) -> Result<Template, String> {
        if config.fields.is_empty() {
            return Err("a template needs at least one field".into());
        }
        let fields = config
            .fields
            .iter()
            .map(|f: &FieldConfig| {
                let ok = !f.name.is_empty()
                    && f.name.len() <= 64
                    && f.name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if !ok {
                    return Err(format!(
                        "field name `{}` must be 1 to 64 characters of a-z, 0-9, _ and -",
                        f.name
                    ));
                }
                Ok(Field {
                    name: f.name.clone(),
                    label: Text::from_config(&f.label)?,
                    kind: f.kind,
                    required: f.required,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Template {
            name: name.into(),
            title: Text::from_config(&config.title)?,
            body: Text::from_config(&config.body).unwrap_or(Text::new("", "")),
            submit: Text::from_config(&config.submit)?,
            fields,
            needs_event: false,
        })
    }
}

/// A popup exactly as the collect answer carries it (wire contract v1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PopupContent {
    pub rule: String,
    pub variant: String,
    pub template: String,
    pub title: String,
    pub body: String,
    pub fields: Vec<PopupField>,
    pub submit: String,
    pub privacy_url: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PopupField {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: FieldKind,
    pub required: bool,
}

/// Copy overrides of a rule or variant, already checked.
#[derive(Clone, Debug, Default)]
pub struct Copy {
    pub title: Option<Text>,
    pub body: Option<Text>,
    pub submit: Option<Text>,
    pub event: Option<(Text, String)>,
}

impl Copy {
    pub fn from_config(
        title: &Option<TextConfig>,
        body: &Option<TextConfig>,
        submit: &Option<TextConfig>,
        event: &Option<EventConfig>,
    ) -> Result<Copy, String> {
        let text = |t: &Option<TextConfig>| t.as_ref().map(Text::from_config).transpose();
        Ok(Copy {
            title: text(title)?,
            body: text(body)?,
            submit: text(submit)?,
            event: event
                .as_ref()
                .map(|e| Text::from_config(&e.title).map(|t| (t, e.date.clone())))
                .transpose()?,
        })
    }

    /// The variant's overrides over the rule's.
    pub fn over(&self, base: &Copy) -> Copy {
        Copy {
            title: self.title.clone().or_else(|| base.title.clone()),
            body: self.body.clone().or_else(|| base.body.clone()),
            submit: self.submit.clone().or_else(|| base.submit.clone()),
            event: self.event.clone().or_else(|| base.event.clone()),
        }
    }
}

/// Renders the popup for each language, indexed by `Lang::index`.
pub fn render(
    rule: &str,
    variant: &str,
    template: &Template,
    copy: &Copy,
    privacy_url: &Option<String>,
) -> Result<[Arc<PopupContent>; 2], String> {
    if template.needs_event && copy.event.is_none() {
        return Err(format!(
            "template `{}` announces an event: give `event = {{ title = {{ ja = \"...\", en = \"...\" }}, date = \"...\" }}`",
            template.name
        ));
    }
    let one = |lang: Lang| {
        let body = copy.body.as_ref().unwrap_or(&template.body).get(lang);
        let body = match &copy.event {
            Some((title, date)) if template.needs_event => match lang {
                Lang::Ja => format!("{}（{}）\n{body}", title.get(lang), date),
                Lang::En => format!("{} ({})\n{body}", title.get(lang), date),
            },
            _ => body.to_string(),
        };
        Arc::new(PopupContent {
            rule: rule.into(),
            variant: variant.into(),
            template: template.name.clone(),
            title: copy
                .title
                .as_ref()
                .unwrap_or(&template.title)
                .get(lang)
                .into(),
            body,
            fields: template
                .fields
                .iter()
                .map(|f| PopupField {
                    name: f.name.clone(),
                    label: f.label.get(lang).into(),
                    kind: f.kind,
                    required: f.required,
                })
                .collect(),
            submit: copy
                .submit
                .as_ref()
                .unwrap_or(&template.submit)
                .get(lang)
                .into(),
            privacy_url: privacy_url.clone(),
        })
    };
    Ok([one(Lang::Ja), one(Lang::En)])
}
