use super::*;

fn parse(text: &str) -> PeopleFile {
    parse_people(text, &EventDefaults::default(), 1_000).expect("a readable file")
}

#[test]
fn japanese_headers_map_and_family_and_given_names_join() {
    let file = parse(
        "メールアドレス,姓,名,会社名,部署,役職,電話番号,種別,イベント名,開催日\n\
         Hanako@Example.co.jp,佐藤,花子,ノースウィンド,営業部,部長,03-0000-0000,セミナー,はじめての見込み客発掘,2026年11月10日\n",
    );
    assert!(file.refused.is_empty(), "{:?}", file.refused);
    let (line, person) = &file.rows[0];
    assert_eq!(*line, 2);
    assert_eq!(person.email, "hanako@example.co.jp");
    assert_eq!(
        person.fields,
        [
            ("name".to_string(), "佐藤 花子".to_string()),
            ("company".into(), "ノースウィンド".into()),
            ("department".into(), "営業部".into()),
            ("title".into(), "部長".into()),
            ("phone".into(), "03-0000-0000".into()),
        ]
    );
    let event = person.event.as_ref().expect("an event");
    assert_eq!(event.kind, OfflineKind::Seminar);
    assert_eq!(event.name, "はじめての見込み客発掘");
    assert_eq!(event.date, "2026-11-10");
    assert_eq!(event.at_ms, 1_794_268_800_000);
}

#[test]
fn every_bad_row_is_refused_with_its_line_and_the_rest_taken() {
    let file = parse(
        "email,name,event_kind,event_date\n\
         a@example.co.jp,A,seminar,2026-11-10\n\
         ,B,seminar,2026-11-10\n\
         not-an-address,C,seminar,2026-11-10\n\
         d@example.co.jp,D,seminar,2026-13-40\n\
         e@example.co.jp,E,exhibition,\n\
         \n\
         \"f@example.co.jp\",\"F, multi\nline\",call,2026/1/5\n\
         g@example.co.jp,G,,2026-11-10\n",
    );
    let refused: Vec<(u64, String)> = file
        .refused
        .iter()
        .map(|r| (r.line, r.reason.to_string()))
        .collect();
    assert_eq!(
        refused,
        [
            (3, "no email address".to_string()),
            (4, "`not-an-address` is not an email address".into()),
            (
                5,
                "`2026-13-40` is not a date (2026-11-10, 2026/11/10 or 2026年11月10日)".into()
            ),
            (6, "an event of kind `exhibition` needs a date".into()),
            (
                10,
                "an event needs a kind (seminar, exhibition, business_card, call, or your own)"
                    .into()
            ),
        ]
    );
    let taken: Vec<u64> = file.rows.iter().map(|(line, _)| *line).collect();
    assert_eq!(taken, [2, 8], "a quoted cell may span lines");
    assert_eq!(
        file.rows[1].1.event.as_ref().map(|e| e.date.as_str()),
        Some("2026-01-05")
    );
}

#[test]
fn a_file_without_an_email_column_or_with_a_column_twice_is_refused_whole() {
    let defaults = EventDefaults::default();
    assert_eq!(
        parse_people("name,company\nA,B\n", &defaults, 10).err(),
        Some(FileError::NoEmailColumn)
    );
    assert_eq!(
        parse_people("email,メール\n", &defaults, 10).err(),
        Some(FileError::DuplicateColumn("メール".into()))
    );
    assert_eq!(
        parse_people("", &defaults, 10).err(),
        Some(FileError::Empty)
    );
    let many = format!("email\n{}", "a@example.co.jp\n".repeat(11));
    assert_eq!(
        parse_people(&many, &defaults, 10).err(),
        Some(FileError::TooManyRows { max: 10 })
    );
}

#[test]
fn the_files_event_applies_where_rows_say_nothing_and_other_kinds_are_custom() {
    let defaults = EventDefaults {
        kind: Some("seminar".into()),
        name: Some("はじめての見込み客発掘".into()),
        date: Some("2026-11-10".into()),
    };
    let file = parse_people(
        "email,種別\na@example.co.jp,\nb@example.co.jp,ユーザー会\n",
        &defaults,
        10,
    )
    .expect("readable");
    let kinds: Vec<OfflineKind> = file
        .rows
        .iter()
        .filter_map(|(_, p)| p.event.as_ref().map(|e| e.kind.clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            OfflineKind::Seminar,
            OfflineKind::Custom("ユーザー会".into())
        ]
    );
}

/// A cell is data, never markup or a formula: the import keeps it as written (what shows or
/// exports it escapes it there), and a cell past the bound refuses its row.
#[test]
fn hostile_cells_are_kept_as_text_or_refused() {
    let long = "x".repeat(MAX_CELL + 1);
    let file = parse(&format!(
        "email,name,company\n\
         a@example.co.jp,=CMD(\"/c calc\"),<script>alert(1)</script>\n\
         b@example.co.jp,{long},x\n"
    ));
    assert_eq!(file.rows[0].1.fields[0].1, "=CMD(\"/c calc\")");
    assert_eq!(file.rows[0].1.fields[1].1, "<script>alert(1)</script>");
    assert_eq!(file.refused[0].reason, RowError::CellTooLong);
}
