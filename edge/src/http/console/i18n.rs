//! The console's two languages. Every word a page shows is looked up here by key, so a page
//! cannot show English to a Japanese reader by accident (a missing key shows the key, which a
//! test would catch). Dates and times are shown in the site's time zone.

use hyper::HeaderMap;
use hyper::header;
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// The language cookie: remembered choice from the switcher.
pub const LANG_COOKIE: &str = "mk_lang";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Ja,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    pub fn parse(text: &str) -> Option<Lang> {
        match text {
            "ja" => Some(Lang::Ja),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The other language, for the switcher.
    pub fn other(self) -> Lang {
        match self {
            Lang::Ja => Lang::En,
            Lang::En => Lang::Ja,
        }
    }

    /// From the remembered choice, else the browser's first language we speak (Japanese when
    /// it prefers neither: the product's users are Japanese teams).
    pub fn negotiate(remembered: Option<&str>, headers: &HeaderMap) -> Lang {
        if let Some(lang) = remembered.and_then(Lang::parse) {
            return lang;
        }
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mut best: Option<(f32, Lang)> = None;
        for item in accept.split(',') {
            let mut parts = item.trim().split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let lang = if tag == "ja" || tag.starts_with("ja-") {
                Lang::Ja
            } else if tag == "en" || tag.starts_with("en-") {
                Lang::En
            } else {
                continue;
            };
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::Ja, |(_, lang)| lang)
    }
}

/// Words for one request: the language and the site's time zone.
#[derive(Clone, Debug)]
pub struct Tr {
    pub lang: Lang,
    pub zone: TimeZone,
}

impl Tr {
    /// The text for `key`.
    pub fn t(&self, key: &str) -> &'static str {
        text(self.lang, key)
    }

    /// `1,234`: grouped the same way in both languages.
    pub fn int(&self, n: impl Into<i64>) -> String {
        let n: i64 = n.into();
        let digits = n.unsigned_abs().to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
        if n < 0 {
            out.push('-');
        }
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    }

    /// A score or a heat: one decimal.
    pub fn dec(&self, x: f64) -> String {
        format!("{x:.1}")
    }

    pub fn percent(&self, x: f64) -> String {
        format!("{:.1}%", x * 100.0)
    }

    /// Date and time in the site's zone: `2026/12/02 14:05` or `2 Dec 2026 14:05`.
    pub fn datetime(&self, ms: i64) -> String {
        let Ok(at) = Timestamp::from_millisecond(ms) else {
            return String::new();
        };
        let zoned = at.to_zoned(self.zone.clone());
        match self.lang {
            Lang::Ja => zoned.strftime("%Y/%m/%d %H:%M").to_string(),
            Lang::En => zoned.strftime("%-d %b %Y %H:%M").to_string(),
        }
    }

    /// A day: `12/02` or `2 Dec`.
    pub fn day(&self, ms: i64) -> String {
        let Ok(at) = Timestamp::from_millisecond(ms) else {
            return String::new();
        };
        let zoned = at.to_zoned(self.zone.clone());
        match self.lang {
            Lang::Ja => zoned.strftime("%m/%d").to_string(),
            Lang::En => zoned.strftime("%-d %b").to_string(),
        }
    }

    /// The time of day: `14:05`.
    pub fn time(&self, ms: i64) -> String {
        Timestamp::from_millisecond(ms)
            .map(|at| at.to_zoned(self.zone.clone()).strftime("%H:%M").to_string())
            .unwrap_or_default()
    }

    /// How long ago: `3分前` / `3 min ago`.
    pub fn ago(&self, ms: i64, now_ms: i64) -> String {
        let minutes = (now_ms - ms).max(0) / 60_000;
        let (n, unit) = if minutes < 60 {
            (minutes, 0)
        } else if minutes < 48 * 60 {
            (minutes / 60, 1)
        } else {
            (minutes / (24 * 60), 2)
        };
        match (self.lang, unit) {
            (Lang::Ja, 0) if n == 0 => "たった今".into(),
            (Lang::En, 0) if n == 0 => "just now".into(),
            (Lang::Ja, 0) => format!("{n}分前"),
            (Lang::Ja, 1) => format!("{n}時間前"),
            (Lang::Ja, _) => format!("{n}日前"),
            (Lang::En, 0) => format!("{n} min ago"),
            (Lang::En, 1) => format!("{n} h ago"),
            (Lang::En, _) => format!("{n} days ago"),
        }
    }

    /// The local midnight before `now_ms`, in ms: "today" starts there.
    pub fn start_of_day(&self, now_ms: i64) -> i64 {
        Timestamp::from_millisecond(now_ms)
            .ok()
            .and_then(|at| at.to_zoned(self.zone.clone()).start_of_day().ok())
            .map_or(now_ms - now_ms.rem_euclid(86_400_000), |z| {
                z.timestamp().as_millisecond()
            })
    }

    /// The employee band's name: 小規模 / 中堅 / 大手.
    pub fn band(&self, band: Option<&str>) -> &'static str {
        match band {
            Some("small") => self.t("band.small"),
            Some("mid") => self.t("band.mid"),
            Some("enterprise") => self.t("band.enterprise"),
            _ => "",
        }
    }

    pub fn stage(&self, stage: &str) -> &'static str {
        match stage {
            "lead" => self.t("stage.lead"),
            "mql" => self.t("stage.mql"),
            "sql" => self.t("stage.sql"),
            "opportunity" => self.t("stage.opportunity"),
            "customer" => self.t("stage.customer"),
            _ => "",
        }
    }
}

/// Every text of the console, in both languages.
fn text(lang: Lang, key: &str) -> &'static str {
    let (ja, en) = match key {
        "product" => ("Mikomi コンソール", "Mikomi console"),
        "nav.accounts" => ("アクセス企業", "Companies"),
        "nav.people" => ("リード", "Leads"),
        "nav.popups" => ("ポップアップ", "Popups"),
        "nav.setup" => ("設置状況", "Setup"),
        "nav.logout" => ("ログアウト", "Sign out"),
        "nav.site" => ("サイト", "Site"),
        "login.title" => ("ログイン", "Sign in"),
        "login.user" => ("ユーザー名", "User name"),
        "login.password" => ("パスワード", "Password"),
        "login.submit" => ("ログイン", "Sign in"),
        "login.wrong" => (
            "ユーザー名またはパスワードが違います。",
            "Wrong user name or password.",
        ),
        "login.limited" => (
            "試行回数が多すぎます。しばらくしてからもう一度お試しください。",
            "Too many attempts. Wait a little and try again.",
        ),
        "login.no_users" => (
            "コンソールのユーザーが設定されていません（[[console.users]]）。",
            "No console users are configured ([[console.users]]).",
        ),
        "hot.title" => ("今アクセスしている企業", "Companies researching you"),
        "hot.now" => ("いまサイトにいる企業", "Now on the site"),
        "hot.none_now" => (
            "この数分間に訪問した企業はありません。",
            "No company has visited in the last few minutes.",
        ),
        "hot.empty" => (
            "条件に合う企業はありません。",
            "No company matches these filters.",
        ),
        "hot.hidden" => (
            "社名を確かめられない訪問元（ISP・クラウドなど）を除外しています：",
            "Visitors whose company cannot be confirmed (ISPs, clouds) are left out: ",
        ),
        "hot.csv" => ("アタックリスト（CSV）", "Attack list (CSV)"),
        "hot.filter" => ("絞り込む", "Filter"),
        "hot.reset" => ("条件をクリア", "Clear filters"),
        "window" => ("期間", "Window"),
        "window.today" => ("今日", "Today"),
        "window.7d" => ("7日間", "7 days"),
        "window.30d" => ("30日間", "30 days"),
        "filter.any" => ("すべて", "Any"),
        "filter.new" => ("今週初めて訪問", "New this week"),
        "filter.known" => ("既知の人物あり", "Has known people"),
        "col.rank" => ("順位", "Rank"),
        "col.company" => ("企業", "Company"),
        "col.heat" => ("熱量", "Heat"),
        "col.visits" => ("訪問", "Visits"),
        "col.visitors" => ("訪問者（既知／匿名）", "Visitors (known / anonymous)"),
        "col.key_pages" => ("重要ページ", "Key pages"),
        "col.last_seen" => ("最終訪問", "Last seen"),
        "col.band" => ("規模", "Size"),
        "col.industry" => ("業種", "Industry"),
        "col.country" => ("国", "Country"),
        "col.activity" => ("14日間の訪問", "14-day visits"),
        "col.name" => ("氏名", "Name"),
        "col.email" => ("メール", "Email"),
        "col.stage" => ("ステージ", "Stage"),
        "col.score" => ("スコア", "Score"),
        "col.pages" => ("ページ", "Pages"),
        "col.when" => ("日時", "When"),
        "col.who" => ("誰が", "Who"),
        "col.count" => ("回数", "Count"),
        "col.points" => ("現在の点数", "Points now"),
        "col.behaviour" => ("行動", "Behaviour"),
        "band.small" => ("小規模", "Small"),
        "band.mid" => ("中堅", "Mid-size"),
        "band.enterprise" => ("大手", "Enterprise"),
        "stage.lead" => ("リード", "Lead"),
        "stage.mql" => ("MQL", "MQL"),
        "stage.sql" => ("SQL", "SQL"),
        "stage.opportunity" => ("商談", "Opportunity"),
        "stage.customer" => ("顧客", "Customer"),
        "company.title" => ("企業", "Company"),
        "company.source" => ("判定元", "Identified by"),
        "company.source_email" => ("メールのドメイン", "email domain"),
        "company.confident" => ("社名は確かです", "The name is confirmed"),
        "company.unconfident" => (
            "社名は推定です（ISP などの可能性）",
            "The name is a guess (possibly an ISP)",
        ),
        "company.daily" => ("日別の訪問", "Visits per day"),
        "company.key_pages" => ("重要ページの閲覧", "Key pages viewed"),
        "company.people" => ("既知の人物", "Known people"),
        "company.anonymous" => ("匿名の訪問者", "Anonymous visitors"),
        "company.timeline" => ("訪問の履歴", "Visits"),
        "company.none" => ("まだありません。", "None yet."),
        "anonymous" => ("匿名", "Anonymous"),
        "visit.referrer" => ("参照元", "Referrer"),
        "visit.direct" => ("直接", "Direct"),
        "visit.conversion" => ("フォーム送信", "Form submitted"),
        "visit.popup" => ("ポップアップ", "Popup"),
        "visit.click" => ("メールのリンク", "Email link"),
        "visit.download" => ("ダウンロード", "Download"),
        "visit.engaged" => ("滞在", "Engaged"),
        "visit.offline" => ("オフラインの接点", "Offline"),
        "offline.seminar" => ("セミナー", "Seminar"),
        "offline.exhibition" => ("展示会", "Exhibition"),
        "offline.business_card" => ("名刺交換", "Business card"),
        "offline.call" => ("電話", "Call"),
        "score.offline" => ("オフラインの接点", "Offline events"),
        "visit.before" => ("特定前の匿名の訪問", "Anonymous, before identification"),
        "people.title" => ("リード", "Leads"),
        "people.all" => ("すべてのステージ", "All stages"),
        "people.empty" => ("該当する人物はいません。", "No one in this stage."),
        "people.total" => ("件", "people"),
        "people.import" => ("リストをインポート", "Import a list"),
        "account.status.customer" => ("既存顧客", "Customer"),
        "account.status.prospect" => ("見込み", "Prospect"),
        "account.status.partner" => ("パートナー", "Partner"),
        "account.owner" => ("担当", "Owner"),
        "filter.hide_customers" => ("既存顧客を除く", "Hide customers"),
        "import.title" => ("リストのインポート", "Import a people list"),
        "import.file" => ("CSV ファイル", "CSV file"),
        "import.help" => (
            "1 行目は見出し（メールアドレス、姓・名 または 氏名、会社名、部署、役職、電話番号、種別、セミナー名、開催日）。Excel の「CSV」（Shift_JIS）でも「CSV UTF-8」でも読めます。登録済みの値は上書きしません。",
            "The first row names the columns (email, name or last/first name, company, department, title, phone, event kind, name and date). Excel's \"CSV\" (Shift_JIS) and \"CSV UTF-8\" both work. Known values are never overwritten.",
        ),
        "import.max" => ("上限", "at most"),
        "import.event" => (
            "行に記載がないときの接点",
            "The event, for rows that name none",
        ),
        "import.event_kind" => ("種別", "Kind"),
        "import.event_name" => ("名称", "Name"),
        "import.event_date" => ("日付", "Date"),
        "import.preview" => ("プレビュー（登録しない）", "Preview (changes nothing)"),
        "import.import" => ("インポート", "Import"),
        "import.preview_of" => ("プレビュー", "Preview"),
        "import.done" => ("インポートしました", "Imported"),
        "import.then" => (
            "問題なければ、同じファイルをもう一度選んで「インポート」を押してください。同じファイルを何度インポートしても重複しません。",
            "If this is right, choose the same file again and press Import. Importing a file twice changes nothing.",
        ),
        "import.rows" => ("有効な行", "Valid rows"),
        "import.created" => ("新しい人物", "New people"),
        "import.filled" => ("空欄を補完", "Blanks filled"),
        "import.unchanged" => ("変更なし", "Unchanged"),
        "import.events_added" => ("記録する接点", "Events recorded"),
        "import.proposed" => (
            "既存と異なる値（監査に記録）",
            "Differing values (kept in the audit)",
        ),
        "import.refused" => ("取り込めない行", "Refused rows"),
        "import.refused_rows" => ("取り込めない行", "Refused rows"),
        "import.line" => ("行", "Line"),
        "import.reason" => ("理由", "Reason"),
        "import.more_refused" => ("行は省略", "more not shown"),
        "import.viewer" => (
            "インポートは編集者のみ行えます。",
            "Only editors can import lists.",
        ),
        "person.title" => ("人物", "Person"),
        "person.score_why" => ("スコアの内訳", "Why the score is what it is"),
        "person.score_total" => ("現在のスコア", "Score now"),
        "person.score_rest" => (
            "保存範囲外の古い行動など",
            "Older behaviour no longer kept, and other points",
        ),
        "person.timeline" => ("全デバイスの訪問履歴", "Timeline across all devices"),
        "person.audit" => (
            "履歴（統合・分割・ステージ変更）",
            "Audit (joins, splits, merges, stages)",
        ),
        "person.devices" => ("デバイス", "Devices"),
        "person.set_stage" => ("ステージを変更", "Set stage"),
        "person.split" => ("このデバイスを切り離す", "Split this device off"),
        "person.merge" => ("別の人物を統合", "Merge another person into this one"),
        "person.merge_id" => (
            "統合する人物の ID（例 p12）",
            "Id of the person to merge (e.g. p12)",
        ),
        "person.viewer" => (
            "閲覧権限のため変更できません。",
            "Viewers cannot change people.",
        ),
        "person.attributes" => ("属性", "Attributes"),
        "attr.company" => ("会社名", "Company"),
        "attr.department" => ("部署", "Department"),
        "attr.title" => ("役職", "Title"),
        "attr.phone" => ("電話", "Phone"),
        "audit.joined" => ("デバイスが紐付きました", "Device joined"),
        "audit.shared" => ("共有デバイス", "Shared device"),
        "audit.split" => ("デバイスを切り離しました", "Device split off"),
        "audit.merged" => ("統合", "Merged"),
        "audit.stage" => ("ステージ変更", "Stage changed"),
        "audit.click_ignored" => ("メールのクリックを無視", "Email click ignored"),
        "audit.proposed" => ("フォームからの変更案", "Change proposed by a form"),
        "audit.conversion_scored" => ("コンバージョンを加点", "Conversion scored"),
        "audit.offline" => ("オフラインの接点を記録", "Offline event recorded"),
        "audit.import_proposed" => ("インポートからの変更案", "Change proposed by an import"),
        "audit.form" => ("フォーム", "form"),
        "audit.email_click" => ("メールのクリック", "email click"),
        "audit.retroactive" => ("過去の訪問も紐付け", "earlier visits included"),
        "popups.title" => ("ポップアップの成果", "How every popup performs"),
        "popups.arm" => ("パターン", "Arm"),
        "popups.holdout" => ("ホールドアウト（非表示）", "Holdout (not shown)"),
        "popups.eligible" => ("対象", "Eligible"),
        "popups.shown" => ("表示", "Shown"),
        "popups.dismissed" => ("閉じた", "Dismissed"),
        "popups.submitted" => ("送信", "Submitted"),
        "popups.converted" => ("コンバージョン", "Converted"),
        "popups.rate" => ("CV率（95%区間）", "Conversion (95% interval)"),
        "popups.lift" => ("ホールドアウト比", "Lift over holdout"),
        "popups.reload" => ("ルールの読み込み", "Rules reload"),
        "popups.reload_ok" => ("正常", "OK"),
        "popups.reload_refused" => (
            "最後の読み込みは拒否されました",
            "The last reload was refused",
        ),
        "popups.preview" => ("プレビューリンクを作成", "Create a preview link"),
        "popups.preview_url" => ("確認したいページの URL", "URL of the page to preview on"),
        "popups.preview_link" => ("プレビューリンク", "Preview link"),
        "popups.explain" => ("訪問者の判定を説明", "Explain for a visitor"),
        "popups.visitor" => ("訪問者 ID", "Visitor id"),
        "popups.page" => ("ページ URL", "Page URL"),
        "popups.decision" => ("判定", "Decision"),
        "popups.no_popup" => ("ポップアップなし", "No popup"),
        "popups.none" => (
            "このサイトに適用されるルールはありません。",
            "No rule applies to this site.",
        ),
        "popups.rule" => ("ルール", "Rule"),
        "popups.no_data" => (
            "まだ対象になった訪問者はいません。",
            "No visitor has been eligible yet.",
        ),
        "popups.rules_loaded" => ("件のルール", "rules loaded"),
        "popups.variant" => ("パターン（任意）", "Variant (optional)"),
        "setup.title" => ("設置状況", "Setup"),
        "setup.tag" => ("タグ", "Tag"),
        "setup.tag_seen" => (
            "タグからのイベントを受信しています",
            "Events from the tag arrive",
        ),
        "setup.tag_unseen" => (
            "まだタグからイベントを受信していません。ページにタグを設置してください。",
            "No event from the tag yet. Put the tag on the site's pages.",
        ),
        "setup.last_event" => ("最新のイベント", "Latest event"),
        "setup.origins" => ("送信元のオリジン（起動以降）", "Origins seen (since start)"),
        "setup.allowed" => ("許可されたオリジン", "Allowed origins"),
        "setup.snippet" => ("設置するタグ", "The tag to put on every page"),
        "setup.ipdb" => ("企業データベース", "Company databases"),
        "setup.layer" => ("レイヤー", "Layer"),
        "setup.file" => ("ファイル", "File"),
        "setup.built" => ("作成日", "Built"),
        "setup.networks" => ("ネットワーク数", "Networks"),
        "setup.identification" => (
            "直近7日間の訪問の企業判定",
            "Company identification, last 7 days",
        ),
        "setup.resolved" => ("企業が判明した訪問", "Visits with a company"),
        "setup.kind" => ("ネットワークの種類", "Network kind"),
        "setup.traffic" => ("トラフィック（起動以降）", "Traffic (since start)"),
        "setup.bots" => ("ボットとして除外", "Left out as bots"),
        "setup.limited" => ("レート制限", "Rate-limited"),
        "setup.health" => ("ストアと Webhook", "Store and webhooks"),
        "setup.store" => ("ストア", "Store"),
        "setup.visitors" => ("訪問者数", "Visitors"),
        "setup.webhooks_pending" => ("未配信の Webhook", "Webhook events pending"),
        "kind.business" => ("企業", "Business"),
        "kind.isp" => ("ISP", "ISP"),
        "kind.mobile" => ("モバイル", "Mobile"),
        "kind.hosting" => ("ホスティング", "Hosting"),
        "kind.education" => ("教育機関", "Education"),
        "kind.government" => ("官公庁", "Government"),
        "kind.unknown" => ("不明", "Unknown"),
        "kind.none" => ("判定なし", "Not resolved"),
        "error.title" => ("エラー", "Error"),
        "error.not_found" => ("見つかりません。", "Not found."),
        "error.forbidden" => ("この操作の権限がありません。", "You may not do this."),
        "error.csrf" => (
            "フォームの有効期限が切れました。ページを再読み込みしてください。",
            "This form has expired. Reload the page and try again.",
        ),
        "error.back" => ("戻る", "Back"),
        "save" => ("保存", "Save"),
        "show" => ("表示", "Show"),
        "lang.switch" => ("English", "日本語"),
        "live" => ("自動更新", "Live"),
        _ => return unknown(key),
    };
    match lang {
        Lang::Ja => ja,
        Lang::En => en,
    }
}

/// A key the table lacks shows itself, so tests and screenshots reveal it.
fn unknown(key: &str) -> &'static str {
    tracing::warn!(key, "console text missing");
    "??"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_follows_the_cookie_then_the_browser_then_japanese() {
        let mut headers = HeaderMap::new();
        assert_eq!(Lang::negotiate(None, &headers), Lang::Ja);
        headers.insert(
            header::ACCEPT_LANGUAGE,
            "fr-FR, en-US;q=0.8, ja;q=0.5".parse().expect("header"),
        );
        assert_eq!(Lang::negotiate(None, &headers), Lang::En);
        assert_eq!(Lang::negotiate(Some("ja"), &headers), Lang::Ja);
        assert_eq!(Lang::negotiate(Some("xx"), &headers), Lang::En);
    }

    #[test]
    fn times_are_in_the_site_zone_and_numbers_are_grouped() {
        let tr = Tr {
            lang: Lang::Ja,
            zone: TimeZone::get("Asia/Tokyo").expect("zone"),
        };
        // 2026-12-01T23:30:00Z is 08:30 on 2 December in Tokyo.
        let ms = 1_796_167_800_000;
        assert_eq!(tr.datetime(ms), "2026/12/02 08:30");
        let en = Tr {
            lang: Lang::En,
            ..tr.clone()
        };
        assert_eq!(en.datetime(ms), "2 Dec 2026 08:30");
        assert_eq!(tr.int(1_234_567), "1,234,567");
        assert_eq!(tr.int(-12), "-12");
        assert_eq!(tr.ago(ms - 3 * 60_000, ms), "3分前");
        assert_eq!(tr.start_of_day(ms), ms - 8 * 3_600_000 - 30 * 60_000);
    }
}
