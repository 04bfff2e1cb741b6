//! What a message says, in the reader's language, before any channel shapes it: a title, facts,
//! the pages and people, and links to the console. Slack, Teams and email render this same view.

use crate::engine::alerts::Message;
use crate::notice::{Alert, Band, Company, Digest};

/// A person as a message names them: resolved when the message is written.
#[derive(Clone, Debug)]
pub struct Named {
    pub id: u64,
    pub label: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    pub label: String,
    pub url: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub text: String,
    pub url: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct View {
    pub lang: &'static str,
    pub title: String,
    /// (label, value) pairs.
    pub facts: Vec<(String, String)>,
    /// A titled list (pages viewed, known people, the digest's accounts).
    pub lists: Vec<(String, Vec<Item>)>,
    pub link: Option<Link>,
    /// A last line naming the rule.
    pub footer: String,
}

/// Everything besides the message a view needs.
pub struct Context<'a> {
    pub site: &'a str,
    pub console_url: Option<&'a str>,
    /// Looks a person's display name up (name, else email), `None` once erased.
    pub person: &'a dyn Fn(u64) -> Option<String>,
}

impl Context<'_> {
    fn account_url(&self, domain: &str) -> Option<String> {
        self.console_url.map(|base| {
            format!(
                "{}/sites/{}/accounts/{}",
                base.trim_end_matches('/'),
                self.site,
                domain
            )
        })
    }

    fn person_url(&self, id: u64) -> Option<String> {
        self.console_url.map(|base| {
            format!(
                "{}/sites/{}/people/{}",
                base.trim_end_matches('/'),
                self.site,
                crate::model::person::PersonId(id)
            )
        })
    }

    fn person_label(&self, id: u64, ja: bool) -> String {
        (self.person)(id).unwrap_or_else(|| if ja { "（不明）" } else { "(unknown)" }.into())
    }
}

pub fn view(message: &Message, cx: &Context<'_>) -> View {
    match message {
        Message::Alert(alert) => alert_view(alert, cx),
        Message::Digest(digest) => digest_view(digest, cx),
    }
}

fn lang_of(lang: &str) -> &'static str {
    if lang == "en" { "en" } else { "ja" }
}

fn company_name(company: &Company) -> String {
    company
        .name
        .clone()
        .unwrap_or_else(|| company.domain.clone())
}

/// `大手（1,200名）` / `large (1,200 employees)`.
fn band(employees: Option<u32>, ja: bool) -> Option<String> {
    let n = employees?;
    let label = Band::of(n).label(if ja { "ja" } else { "en" });
    Some(if ja {
        format!("{label}（{}名）", thousands(n))
    } else {
        format!("{label} ({} employees)", thousands(n))
    })
}

fn thousands(n: u32) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn alert_view(alert: &Alert, cx: &Context<'_>) -> View {
    let lang = lang_of(&alert.lang);
    let ja = lang == "ja";
    let company = alert.company.as_ref();
    let who = company.map(company_name);
    let person = alert.person.map(|id| cx.person_label(id, ja));
    let company_text = who
        .clone()
        .unwrap_or_else(|| if ja { "ある企業" } else { "A company" }.into());
    let person_text = person.clone().unwrap_or_default();
    let first_page = alert.pages.first().cloned().unwrap_or_default();
    let title = match (alert.kind.as_str(), ja) {
        ("account.hot", true) => format!("🔥 {company_text} の関心が高まっています"),
        ("account.hot", false) => format!("🔥 {company_text} is showing strong interest"),
        ("page.viewed", true) => format!("👀 {company_text} が {first_page} を閲覧しました"),
        ("page.viewed", false) => format!("👀 {company_text} viewed {first_page}"),
        ("person.returned", true) => format!("👋 {person_text} さんがサイトに戻ってきました"),
        ("person.returned", false) => format!("👋 {person_text} is back on the site"),
        ("person.email_click", true) => {
            format!("✉️ {person_text} さんがメールのリンクからサイトを訪れました")
        }
        ("person.email_click", false) => {
            format!("✉️ {person_text} came to the site from an email")
        }
        ("person.score", true) => format!("📈 {person_text} さんのスコアがしきい値を超えました"),
        ("person.score", false) => format!("📈 {person_text}'s score crossed the threshold"),
        (_, true) => format!("Mikomi アラート: {}", alert.rule),
        (_, false) => format!("Mikomi alert: {}", alert.rule),
    };
    let mut facts = Vec::new();
    let label = |ja_text: &str, en_text: &str| if ja { ja_text } else { en_text }.to_string();
    if let Some(company) = company {
        facts.push((
            label("企業", "Company"),
            format!("{} ({})", company_name(company), company.domain),
        ));
        if let Some(band) = band(company.employees, ja) {
            facts.push((label("企業規模", "Size"), band));
        }
        if let Some(industry) = &company.industry {
            facts.push((label("業種", "Industry"), industry.clone()));
        }
        if let Some(country) = &company.country {
            facts.push((label("国", "Country"), country.clone()));
        }
        facts.push((label("熱量", "Heat"), format!("{:.0}", alert.heat)));
        facts.push((
            label("訪問 / 訪問者", "Visits / visitors"),
            format!("{} / {}", alert.visits, alert.visitors),
        ));
    }
    if let Some(person) = &person {
        facts.push((label("人物", "Person"), person.clone()));
    }
    let mut lists = Vec::new();
    if !alert.pages.is_empty() {
        lists.push((
            label("閲覧ページ", "Pages viewed"),
            alert
                .pages
                .iter()
                .map(|p| Item {
                    text: p.clone(),
                    url: None,
                })
                .collect(),
        ));
    }
    if !alert.known_people.is_empty() {
        lists.push((
            label("既知の人物", "Known people"),
            alert
                .known_people
                .iter()
                .map(|id| Item {
                    text: cx.person_label(*id, ja),
                    url: cx.person_url(*id),
                })
                .collect(),
        ));
    }
    let link = match (alert.person, company) {
        (Some(id), _) if alert.kind.starts_with("person.") => cx.person_url(id).map(|url| Link {
            label: label("Mikomi で人物を見る", "Open the person in Mikomi"),
            url,
        }),
        (_, Some(company)) => cx.account_url(&company.domain).map(|url| Link {
            label: label("Mikomi で企業を見る", "Open the company in Mikomi"),
            url,
        }),
        _ => None,
    };
    View {
        lang,
        title,
        facts,
        lists,
        link,
        footer: if ja {
            format!("Mikomi · ルール「{}」", alert.rule)
        } else {
            format!("Mikomi · rule \"{}\"", alert.rule)
        },
    }
}

fn digest_view(digest: &Digest, cx: &Context<'_>) -> View {
    let lang = lang_of(&digest.lang);
    let ja = lang == "ja";
    let weekly = digest.period.contains("..");
    let title = match (weekly, ja) {
        (false, true) => format!("📋 日次ダイジェスト（{}）", digest.period),
        (true, true) => format!("📋 週次ダイジェスト（{}）", digest.period),
        (false, false) => format!("📋 Daily digest ({})", digest.period),
        (true, false) => format!("📋 Weekly digest ({})", digest.period),
    };
    let label = |ja_text: &str, en_text: &str| if ja { ja_text } else { en_text }.to_string();
    let facts = vec![
        (
            label("新規リード", "New leads"),
            digest.new_leads.to_string(),
        ),
        (label("新規 MQL", "New MQLs"), digest.new_mqls.to_string()),
        (
            label("ポップアップ 表示 / 送信", "Popups shown / submitted"),
            format!("{} / {}", digest.popups_shown, digest.popups_submitted),
        ),
    ];
    let accounts = digest
        .accounts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let mut text = format!("{}. {}", i + 1, company_name(&a.company));
            if let Some(band) = band(a.company.employees, ja) {
                text.push_str(&format!(" · {band}"));
            }
            text.push_str(&if ja {
                format!(
                    " — 熱量 {:.0} · 訪問 {} · 訪問者 {} · 既知 {}",
                    a.heat, a.visits, a.visitors, a.known_people
                )
            } else {
                format!(
                    " — heat {:.0} · {} visits · {} visitors · {} known",
                    a.heat, a.visits, a.visitors, a.known_people
                )
            });
            Item {
                text,
                url: cx.account_url(&a.company.domain),
            }
        })
        .collect::<Vec<_>>();
    let lists = if accounts.is_empty() {
        vec![(
            label("注目企業", "Hot accounts"),
            vec![Item {
                text: label(
                    "この期間の訪問企業はありません",
                    "No company visited in this period",
                ),
                url: None,
            }],
        )]
    } else {
        vec![(
            label("注目企業（熱量順）", "Hot accounts (by heat)"),
            accounts,
        )]
    };
    View {
        lang,
        title,
        facts,
        lists,
        link: cx.console_url.map(|base| Link {
            label: label("Mikomi を開く", "Open Mikomi"),
            url: format!("{}/sites/{}", base.trim_end_matches('/'), cx.site),
        }),
        footer: format!("Mikomi · {}", digest.name),
    }
}
