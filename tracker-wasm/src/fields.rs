//! Form field mapping: which control of a submitted form holds the email, name (or the family
//! and given names), company, phone, job title or department, judged by `autocomplete`, `type`,
//! `name`/`id` (English, romaji or Japanese) and what a person reads as its label (its
//! `<label>`, `aria-labelledby`, placeholder, the `<th>`/`<dt>` of its row, the text before it).
//! Sensitive controls (passwords, card data, hidden inputs, decoys and anything marked
//! `data-mikomi-ignore`) are never mapped, so their values are never read.

use crate::event::{MAX_FIELD, MAX_KEYS};
use crate::json::{contains, truncate};

/// A contact detail the edge knows how to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Email address: the person key.
    Email,
    /// Full name.
    Name,
    /// Family name (姓); with the given name it also makes the full name.
    LastName,
    /// Given name (名).
    FirstName,
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
            Kind::LastName => "last_name",
            Kind::FirstName => "first_name",
            Kind::Company => "company",
            Kind::Phone => "phone",
            Kind::Title => "title",
            Kind::Department => "department",
        }
    }

    /// The detail a field key names, if any.
    pub fn from_key(key: &str) -> Option<Kind> {
        ALL.into_iter().find(|k| k.key() == key)
    }
}

/// Every detail, in the order the browser side numbers them (see `web::kind`).
pub const ALL: [Kind; 8] = [
    Kind::Email,
    Kind::Name,
    Kind::Company,
    Kind::Phone,
    Kind::Title,
    Kind::Department,
    Kind::LastName,
    Kind::FirstName,
];

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
    /// What a person reads as its label: `<label>`s, `aria-labelledby`, `aria-label`,
    /// placeholder, the `<th>` or `<dt>` of its row and the text just before it.
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

/// Whole names of reading fields (`name="セイ"`, a label of only `メイ`): as words inside
/// other text they mean other things (メイン).
const KANA_NAMES: [&str; 4] = ["セイ", "メイ", "せい", "めい"];

/// Words in a normalised `name`/`id`, in the order they are tried.
const NAME_WORDS: [(Kind, &[&str]); 8] = [
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
    (Kind::LastName, &["lastname", "familyname", "surname"]),
    (Kind::FirstName, &["firstname", "givenname", "forename"]),
    (Kind::Name, &["name", "shimei", "onamae"]),
];

/// Words in label text, in the order they are tried (so that 会社名 is a company, not a name).
/// No one-character word: 姓 and 名 name a part only on their own (`japanese_name_part`), and
/// 件名 is a subject, not a name.
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
    (Kind::Name, &["氏名", "お名前", "名前", "ご担当者", "name"]),
];

/// The family or given name a Japanese `name` attribute or label names: `姓`, `名`,
/// `お名前（姓）`; not `姓名`, `氏名` or `会社名`, which are whole names or other details.
fn japanese_name_part(text: &str) -> Option<Kind> {
    let text = text.trim();
    // `お名前（姓）`: the part in the closing brackets.
    let part = text
        .strip_suffix('）')
        .or_else(|| text.strip_suffix(')'))
        .and_then(|t| t.rsplit_once(['（', '(']))
        .map_or(text, |(_, inside)| inside);
    match part {
        "姓" => Some(Kind::LastName),
        "名" => Some(Kind::FirstName),
        _ => None,
    }
}

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
        "name" | "additional-name" => Some(Kind::Name),
        "family-name" => Some(Kind::LastName),
        "given-name" => Some(Kind::FirstName),
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
    let whole_kana = |s: &str| KANA_NAMES.contains(&s.trim());
    if contains_any(&label, &KANA)
        || contains_any(&ident, &KANA)
        || whole_kana(&c.name)
        || whole_kana(&c.id)
    {
        return None;
    }
    // 3. a Japanese family or given name as the name or id (`name="姓"`).
    if let Some(kind) = [&c.name, &c.id]
        .into_iter()
        .find_map(|s| japanese_name_part(s))
    {
        return Some(kind);
    }
    // 4. name and id (English and romaji, then Japanese words), then 5. label text.
    NAME_WORDS
        .iter()
        .find(|(_, words)| contains_any(&ident, words))
        .or_else(|| {
            LABEL_WORDS
                .iter()
                .find(|(_, words)| contains_any(&ident, words))
        })
        .map(|(kind, _)| *kind)
        .or_else(|| {
            // The label: a family or given name part when it names only that, else its words.
            japanese_name_part(&c.label).or_else(|| {
                LABEL_WORDS
                    .iter()
                    .find(|(_, words)| contains_any(&label, words))
                    .map(|(kind, _)| *kind)
            })
        })
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

    /// The collected pairs, in order. Without a full name but with its parts, the parts
    /// joined in the form's order are the full name too.
    pub fn into_pairs(mut self) -> Vec<(String, String)> {
        if self.get(Kind::Name.key()).is_none() {
            let mut name = String::new();
            for (k, v) in &self.fields {
                if k == Kind::LastName.key() || k == Kind::FirstName.key() {
                    if !name.is_empty() {
                        name.push(' ');
                    }
                    name.push_str(v);
                }
            }
            if !name.is_empty() && self.fields.len() < MAX_KEYS {
                let name = truncate(&name, MAX_FIELD).to_owned();
                self.fields.push((Kind::Name.key().to_owned(), name));
            }
        }
        self.fields
    }
}

/// One mapped control of a submitted form, as the browser side read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormValue {
    /// The detail it holds.
    pub kind: Kind,
    /// What the visitor typed.
    pub value: String,
    /// Its `name` attribute: parts of one value share it but for their digits.
    pub name: String,
    /// Whether it is rendered; a control that is not (a honeypot, or an earlier step of a
    /// multi-step form) only fills a detail no rendered control gave.
    pub rendered: bool,
}

/// The details of a submitted form's mapped controls, in form order: parts of one phone number
/// (`tel[data][0]`, `[1]`, `[2]`, side by side) joined with `-`, and the values of controls
/// that are not rendered used only for details the rendered ones left empty.
pub fn collect(mut controls: Vec<FormValue>) -> FieldSet {
    // Fold each phone part into the part before it.
    let mut i = 1;
    while i < controls.len() {
        let (before, after) = controls.split_at_mut(i);
        let (last, part) = (&mut before[i - 1], &after[0]);
        if part.kind == Kind::Phone
            && last.kind == Kind::Phone
            && last.rendered == part.rendered
            && !part.name.is_empty()
            && same_but_digits(&last.name, &part.name)
        {
            let value = part.value.trim();
            if !value.is_empty() && !last.value.trim().is_empty() {
                last.value.push('-');
            }
            last.value.push_str(value);
            controls.remove(i);
        } else {
            i += 1;
        }
    }
    let mut fields = FieldSet::default();
    for rendered in [true, false] {
        for c in controls.iter().filter(|c| c.rendered == rendered) {
            if rendered || fields.get(c.kind.key()).is_none() {
                fields.add(c.kind.key(), &c.value);
            }
        }
    }
    fields
}

fn same_but_digits(a: &str, b: &str) -> bool {
    a.bytes()
        .filter(|c| !c.is_ascii_digit())
        .eq(b.bytes().filter(|c| !c.is_ascii_digit()))
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
            ("text", "last_name", "", Kind::LastName),
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
    fn japanese_and_romaji_names_map_to_details() {
        let cases = [
            ("会社名", "", Kind::Company),
            ("部署名", "", Kind::Department),
            ("役職", "", Kind::Title),
            ("姓", "", Kind::LastName),
            ("名", "", Kind::FirstName),
            ("氏名", "", Kind::Name),
            ("kaisha", "", Kind::Company),
            ("busho", "", Kind::Department),
            ("yakushoku", "", Kind::Title),
            ("shimei", "", Kind::Name),
            ("last_name", "", Kind::LastName),
            ("firstName", "", Kind::FirstName),
            ("f7", "お名前（姓）", Kind::LastName),
            ("f8", "お名前（名）", Kind::FirstName),
            ("text-872", "部署名 任意", Kind::Department),
            ("text-101", "会社名 必須", Kind::Company),
        ];
        for (name, label, kind) in cases {
            assert_eq!(
                classify(&input("text", name, label)),
                Some(kind),
                "{name} {label}"
            );
        }
        // Readings are never the name; a subject (件名) or a product name is no name at all.
        for (name, label) in [
            ("セイ", "フリガナ セイ"),
            ("メイ", ""),
            ("f9", "メイ"),
            ("件名", "件名"),
            ("sei_kana", ""),
        ] {
            assert_eq!(
                classify(&input("text", name, label)),
                None,
                "{name} {label}"
            );
        }
    }

    #[test]
    fn family_and_given_names_make_the_full_name_in_form_order() {
        let mut f = FieldSet::default();
        f.add("email", "kenta@yamabiko.example");
        f.add("last_name", "中村");
        f.add("first_name", "健太");
        let pairs = f.into_pairs();
        assert_eq!(
            pairs.last(),
            Some(&("name".to_owned(), "中村 健太".to_owned()))
        );
        // A full name given as such is kept as it is.
        let mut f = FieldSet::default();
        f.add("first_name", "Emma");
        f.add("name", "Emma Watanabe");
        assert_eq!(
            f.into_pairs()
                .iter()
                .filter(|(k, _)| k == "name")
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>(),
            ["Emma Watanabe"]
        );
    }

    #[test]
    fn autocomplete_wins_over_name_and_label() {
        let mut c = input("text", "company", "会社名");
        c.autocomplete = "section-a work organization-title".into();
        assert_eq!(classify(&c), Some(Kind::Title));
        c.autocomplete = "name".into();
        assert_eq!(classify(&c), Some(Kind::Name));
        c.autocomplete = "family-name".into();
        assert_eq!(classify(&c), Some(Kind::LastName));
        c.autocomplete = "given-name".into();
        assert_eq!(classify(&c), Some(Kind::FirstName));
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

    fn value(kind: Kind, value: &str, name: &str, rendered: bool) -> FormValue {
        FormValue {
            kind,
            value: value.into(),
            name: name.into(),
            rendered,
        }
    }

    #[test]
    fn phone_parts_are_joined_and_other_phones_are_not() {
        let f = collect(vec![
            value(Kind::Phone, "045", "tel[data][0]", true),
            value(Kind::Phone, "678", "tel[data][1]", true),
            value(Kind::Phone, "1234", "tel[data][2]", true),
            value(Kind::Phone, "090-0000-0000", "mobile", true),
        ]);
        assert_eq!(f.get("phone"), Some("045-678-1234"));
        let f = collect(vec![
            value(Kind::Phone, "03", "tel1", true),
            value(Kind::Phone, "5555", "tel2", true),
            value(Kind::Phone, "0101", "tel3", true),
        ]);
        assert_eq!(f.get("phone"), Some("03-5555-0101"));
    }

    #[test]
    fn unrendered_controls_only_fill_what_rendered_ones_left_empty() {
        let f = collect(vec![
            value(Kind::Email, "decoy@spam.example", "email_hp", false),
            value(Kind::Email, "real@corp.example", "email", true),
            value(Kind::Company, "Step One KK", "company", false),
        ]);
        assert_eq!(f.get("email"), Some("real@corp.example"));
        // A multi-step form's first step is no longer rendered at the last step's submit.
        assert_eq!(f.get("company"), Some("Step One KK"));
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
