//! Form field mapping: which control of a submitted form holds the email, name, company,
//! phone, job title or department, judged by `autocomplete`, `type`, `name`/`id` and label
//! text, in English and Japanese. Sensitive controls (passwords, card data, hidden inputs and
//! anything marked `data-mikomi-ignore`) are never mapped, so their values are never read.

use crate::event::{MAX_FIELD, MAX_KEYS};
use crate::json::{contains, truncate};

/// A contact detail the edge knows how to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Email address: the person key.
    Email,
    /// Full name (family and given names are joined).
    Name,
    /// Company or organisation.
    Company,
    /// Telephone.
    Phone,
    /// Job title / position.
    Title,
    /// Department.
    Department,
}

impl Kind {
    /// The key of this detail in a conversion's `fields`.
    pub fn key(self) -> &'static str {
        match self {
            Kind::Email => "email",
            Kind::Name => "name",
            Kind::Company => "company",
            Kind::Phone => "phone",
            Kind::Title => "title",
            Kind::Department => "department",
        }
    }

    /// The detail a field key names, if any.
    pub fn from_key(key: &str) -> Option<Kind> {
        [
            Kind::Email,
            Kind::Name,
            Kind::Company,
            Kind::Phone,
            Kind::Title,
            Kind::Department,
        ]
        .into_iter()
        .find(|k| k.key() == key)
    }
}

/// What the tag can see of a form control without reading its value.
#[derive(Debug, Default, Clone)]
pub struct Control {
    /// Lower-case tag name: `input`, `select` or `textarea`.
    pub tag: String,
    /// The `type` attribute, for inputs.
    pub input_type: String,
    /// The `name` attribute.
    pub name: String,
    /// The `id` attribute.
    pub id: String,
    /// The `autocomplete` attribute.
    pub autocomplete: String,
    /// Text of its `<label>`s, `aria-label` and placeholder.
    pub label: String,
    /// Marked `data-mikomi-ignore` (itself or an ancestor).
    pub ignored: bool,
}

/// Words in a name, id or label that mark a field as sensitive. Checked before anything else.
const SENSITIVE: [&str; 14] = [
    "pass",
    "pwd",
    "card",
    "ccnum",
    "cc-",
    "cvc",
    "cvv",
    "csc",
    "expir",
    "secret",
    "パスワード",
    "暗証",
    "カード",
    "セキュリティコード",
];

/// Marks of a reading (kana) field, which is not the name itself.
const KANA: [&str; 6] = ["kana", "furigana", "フリガナ", "ふりがな", "カナ", "かな"];

/// Words in a normalised `name`/`id`, in the order they are tried.
const NAME_WORDS: [(Kind, &[&str]); 6] = [
    (Kind::Email, &["email", "mail"]),
    (
        Kind::Company,
        &[
            "company",
            "organization",
            "organisation",
            "corp",
            "kaisha",
            "firm",
        ],
    ),
    (
        Kind::Department,
        &["department", "dept", "division", "busho"],
    ),
    (Kind::Title, &["jobtitle", "title", "position", "yakushoku"]),
    (Kind::Phone, &["phone", "tel", "denwa", "mobile"]),
    (Kind::Name, &["name", "shimei", "onamae"]),
];

/// Words in label text, in the order they are tried (so that 会社名 is a company, not a name).
const LABEL_WORDS: [(Kind, &[&str]); 6] = [
    (Kind::Email, &["メール", "mail"]),
    (
        Kind::Company,
        &[
            "会社",
            "企業",
            "法人",
            "団体",
            "組織",
            "company",
            "organization",
            "organisation",
        ],
    ),
    (
        Kind::Department,
        &["部署", "部門", "所属", "department", "division"],
    ),
    (Kind::Title, &["役職", "肩書", "title", "position"]),
    (Kind::Phone, &["電話", "携帯", "phone", "tel"]),
    (
        Kind::Name,
        &["氏名", "お名前", "名前", "ご担当者", "name", "姓", "名"],
    ),
];

fn contains_any(haystack: &str, words: &[&str]) -> bool {
    words.iter().any(|w| contains(haystack, w))
}

/// Whether the tag must never read this control's value.
pub fn is_sensitive(c: &Control) -> bool {
    let ty = c.input_type.to_ascii_lowercase();
    let ac = c.autocomplete.to_ascii_lowercase();
    c.ignored
        || ty == "password"
        || ty == "hidden"
        || ac
            .split_whitespace()
            .any(|t| t.starts_with("cc-") || t.ends_with("password") || t == "one-time-code")
        || contains_any(&c.name.to_ascii_lowercase(), &SENSITIVE)
        || contains_any(&c.id.to_ascii_lowercase(), &SENSITIVE)
        || contains_any(&c.label.to_ascii_lowercase(), &SENSITIVE)
}

/// The contact detail a control holds, or `None` when it holds none or is sensitive.
pub fn classify(c: &Control) -> Option<Kind> {
    if is_sensitive(c) {
        return None;
    }
    let ty = c.input_type.to_ascii_lowercase();
    match c.tag.as_str() {
        "input" => {
            if !matches!(ty.as_str(), "" | "text" | "email" | "tel" | "search") {
                return None;
            }
        }
        "select" | "textarea" => {}
        _ => return None,
    }
    // 1. autocomplete tokens (the last token names the field).
    let ac = c.autocomplete.to_ascii_lowercase();
    if let Some(kind) = ac.split_whitespace().last().and_then(|t| match t {
        "email" => Some(Kind::Email),
        "name" | "given-name" | "family-name" | "additional-name" => Some(Kind::Name),
        "organization" => Some(Kind::Company),
        "organization-title" => Some(Kind::Title),
        "tel" | "tel-national" | "tel-local" => Some(Kind::Phone),
        _ => None,
    }) {
        return Some(kind);
    }
    // 2. the input type.
    match ty.as_str() {
        "email" => return Some(Kind::Email),
        "tel" => return Some(Kind::Phone),
        _ => {}
    }
    // ASCII case folding only: Japanese has no case, and full Unicode tables cost kilobytes.
    let label = c.label.to_ascii_lowercase();
    let ident = normalise(&c.name) + " " + &normalise(&c.id);
    if contains_any(&label, &KANA) || contains_any(&ident, &KANA) {
        return None;
    }
    // 3. name and id, then 4. label text.
    NAME_WORDS
        .iter()
        .find(|(_, words)| contains_any(&ident, words))
        .or_else(|| {
            LABEL_WORDS
                .iter()
                .find(|(_, words)| contains_any(&label, words))
        })
        .map(|(kind, _)| *kind)
}

/// Lower case without separators, so that `company_name`, `company-name` and `companyName`
/// read alike.
fn normalise(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' ' | '[' | ']' | '.'))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The details collected from one form.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldSet {
    fields: Vec<(String, String)>,
}

impl FieldSet {
    /// Adds a value: the first non-empty value of a detail wins, except names, which are
    /// joined (family name and given name are often separate fields).
    pub fn add(&mut self, key: &str, value: &str) {
        let value = value.trim();
        if value.is_empty() || key.is_empty() {
            return;
        }
        if let Some((_, existing)) = self.fields.iter_mut().find(|(k, _)| k == key) {
            if key == Kind::Name.key() {
                let joined = existing.clone() + " " + value;
                *existing = truncate(&joined, MAX_FIELD).to_owned();
            }
            return;
        }
        if self.fields.len() < MAX_KEYS {
            self.fields
                .push((key.to_owned(), truncate(value, MAX_FIELD).to_owned()));
        }
    }

    /// Whether an email address that looks like one was collected: only such forms convert.
    pub fn has_email(&self) -> bool {
        self.get(Kind::Email.key()).is_some_and(|e| {
            e.split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        })
    }

    /// The value of a key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The collected pairs, in order.
    pub fn into_pairs(self) -> Vec<(String, String)> {
        self.fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(ty: &str, name: &str, label: &str) -> Control {
        Control {
            tag: "input".into(),
            input_type: ty.into(),
            name: name.into(),
            label: label.into(),
            ..Control::default()
        }
    }

    #[test]
    fn japanese_labels_map_to_details() {
        let cases = [
            ("会社名", Kind::Company),
            ("氏名", Kind::Name),
            ("お名前", Kind::Name),
            ("メールアドレス", Kind::Email),
            ("電話番号", Kind::Phone),
            ("役職", Kind::Title),
            ("部署", Kind::Department),
            ("部署名", Kind::Department),
            ("役職名", Kind::Title),
            ("貴社名・団体名", Kind::Company),
        ];
        for (label, kind) in cases {
            assert_eq!(classify(&input("text", "f1", label)), Some(kind), "{label}");
        }
    }

    #[test]
    fn english_names_and_labels_map_to_details() {
        let cases = [
            ("text", "company_name", "", Kind::Company),
            ("text", "companyName", "", Kind::Company),
            ("text", "your-email", "", Kind::Email),
            ("text", "last_name", "", Kind::Name),
            ("text", "job_title", "", Kind::Title),
            ("text", "dept", "", Kind::Department),
            ("text", "f", "Phone number", Kind::Phone),
            ("text", "f", "Full name", Kind::Name),
            ("text", "f", "Organization", Kind::Company),
            ("email", "x", "", Kind::Email),
            ("tel", "x", "", Kind::Phone),
        ];
        for (ty, name, label, kind) in cases {
            assert_eq!(
                classify(&input(ty, name, label)),
                Some(kind),
                "{name} {label}"
            );
        }
    }

    #[test]
    fn autocomplete_wins_over_name_and_label() {
        let mut c = input("text", "company", "会社名");
        c.autocomplete = "section-a work organization-title".into();
        assert_eq!(classify(&c), Some(Kind::Title));
        c.autocomplete = "family-name".into();
        assert_eq!(classify(&c), Some(Kind::Name));
    }

    #[test]
    fn sensitive_controls_are_never_mapped() {
        let mut ignored = input("email", "email", "メールアドレス");
        ignored.ignored = true;
        let mut card = input("text", "number", "Number");
        card.autocomplete = "cc-number".into();
        let mut new_password = input("text", "x", "");
        new_password.autocomplete = "new-password".into();
        for c in [
            input("password", "email", "メールアドレス"),
            input("hidden", "email", ""),
            input("text", "card_number", ""),
            input("text", "cvc", ""),
            input("text", "f", "パスワード"),
            input("text", "f", "カード番号"),
            input("text", "user_password_email", ""),
            ignored,
            card,
            new_password,
        ] {
            assert!(is_sensitive(&c), "{c:?}");
            assert_eq!(classify(&c), None, "{c:?}");
        }
    }

    #[test]
    fn non_text_controls_and_readings_are_not_mapped() {
        for c in [
            input("checkbox", "email_optin", "メール配信を希望する"),
            input("submit", "name", ""),
            input("file", "company", ""),
            input("text", "name_kana", "氏名（フリガナ）"),
            input("text", "f", "ご質問"),
        ] {
            assert_eq!(classify(&c), None, "{c:?}");
        }
        let select = Control {
            tag: "select".into(),
            name: "department".into(),
            ..Control::default()
        };
        assert_eq!(classify(&select), Some(Kind::Department));
        let div = Control {
            tag: "div".into(),
            name: "email".into(),
            ..Control::default()
        };
        assert_eq!(classify(&div), None);
    }

    #[test]
    fn field_sets_join_names_and_keep_the_first_of_others() {
        let mut f = FieldSet::default();
        f.add("email", "  a@corp.example ");
        f.add("email", "other@corp.example");
        f.add("name", "山田");
        f.add("name", "太郎");
        f.add("company", "");
        assert_eq!(f.get("email"), Some("a@corp.example"));
        assert_eq!(f.get("name"), Some("山田 太郎"));
        assert_eq!(f.get("company"), None);
        assert!(f.has_email());
    }

    #[test]
    fn only_plausible_emails_convert() {
        for (value, ok) in [
            ("a@corp.example", true),
            ("a@corp", false),
            ("@corp.example", false),
            ("corp.example", false),
        ] {
            let mut f = FieldSet::default();
            f.add("email", value);
            assert_eq!(f.has_email(), ok, "{value}");
        }
    }

    #[test]
    fn field_values_and_counts_are_bounded() {
        let mut f = FieldSet::default();
        for i in 0..30 {
            f.add(&format!("k{i}"), &"v".repeat(300));
        }
        let pairs = f.into_pairs();
        assert_eq!(pairs.len(), 20);
        assert!(pairs.iter().all(|(_, v)| v.len() == 256));
    }
}
