//! The people import over a real embedded store: the dry run answers what the import then does,
//! writes nothing, and a second import changes nothing.

use std::sync::Arc;

use super::*;
use crate::engine::Model;
use crate::metrics::StoreMetrics;
use crate::model::SessionRules;
use crate::store::embedded::{EmbeddedOptions, EmbeddedStore};

/// 2026-12-02 00:00 UTC.
const NOW: i64 = 1_796_169_600_000;

fn open(dir: &std::path::Path) -> Arc<dyn Store> {
    let store = EmbeddedStore::open(EmbeddedOptions {
        dir: dir.to_path_buf(),
        model: Model {
            sessions: SessionRules {
                timeout_ms: 30 * 60_000,
                max_sessions: 100,
                max_events_per_session: 100,
            },
            scoring: crate::scoring::ScoringRules::default(),
            key_pages: Vec::new(),
            webhooks: false,
        },
        snapshot_after_bytes: u64::MAX,
        metrics: StoreMetrics::default(),
    })
    .expect("open the store");
    Arc::new(store)
}

const FILE: &str = "メールアドレス,姓,名,会社名,種別,イベント名,日付\n\
hanako@example.co.jp,佐藤,花子,ノースウィンド,セミナー,はじめての見込み客発掘,2026/11/10\n\
not-an-address,山田,太郎,サウスウィンド,セミナー,はじめての見込み客発掘,2026/11/10\n\
taro@example.co.jp,山田,太郎,サウスウィンド,セミナー,はじめての見込み客発掘,2026年11月10日\n";

#[tokio::test]
async fn a_dry_run_says_what_the_import_does_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(dir.path());
    let dry = ImportOptions {
        dry_run: true,
        ..ImportOptions::default()
    };
    let preview = import_people(
        Arc::clone(&store),
        "demo".into(),
        FILE.as_bytes().into(),
        &dry,
        NOW,
    )
    .await
    .expect("dry run");
    assert_eq!(
        (
            preview.rows,
            preview.created,
            preview.events_added,
            preview.chunks
        ),
        (2, 2, 2, 0)
    );
    assert_eq!(preview.refused.len(), 1);
    assert_eq!(preview.refused[0].line, 3, "the header is line 1");
    assert!(
        store.engine().persons.is_empty(),
        "a dry run writes nothing"
    );

    let real = ImportOptions::default();
    let done = import_people(
        Arc::clone(&store),
        "demo".into(),
        FILE.as_bytes().into(),
        &real,
        NOW,
    )
    .await
    .expect("import");
    assert_eq!(
        ImportReport {
            dry_run: true,
            chunks: 0,
            ..done.clone()
        },
        preview,
        "the import did what the dry run said"
    );
    assert_eq!(done.chunks, 1);
    assert_eq!(store.engine().persons.len(), 2);

    let again = import_people(
        Arc::clone(&store),
        "demo".into(),
        FILE.as_bytes().into(),
        &real,
        NOW,
    )
    .await
    .expect("again");
    assert_eq!((again.created, again.filled, again.events_added), (0, 0, 0));
    assert_eq!(again.unchanged, 2);
    store.close().await.expect("close");
}

#[tokio::test]
async fn a_large_file_is_written_in_chunks_that_each_fit_a_records_ids() {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(dir.path());
    let mut file = String::from("email,name,event_kind,event_name,event_date\n");
    for i in 0..2_500 {
        file.push_str(&format!(
            "p{i}@example.co.jp,P {i},exhibition,Expo,2026-10-01\n"
        ));
    }
    let report = import_people(
        Arc::clone(&store),
        "demo".into(),
        file.into_bytes().into(),
        &ImportOptions::default(),
        NOW,
    )
    .await
    .expect("import");
    assert_eq!((report.created, report.chunks), (2_500, 3));
    assert_eq!(store.engine().persons.len(), 2_500, "every id distinct");
    store.close().await.expect("close");

    // Recovery replays the three chunks into the same people.
    let reopened = open(dir.path());
    assert_eq!(reopened.engine().persons.len(), 2_500);
    reopened.close().await.expect("close");
}

/// The sample files under `demo/imports/` (one UTF-8, one Shift_JIS as Japanese Excel saves
/// it, with CP932's ㈱ and 髙) import whole.
#[tokio::test]
async fn the_demo_files_import_without_a_refused_row() {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(dir.path());
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo/imports");
    for (file, people) in [
        ("seminar-attendees-utf8.csv", 5),
        ("exhibition-leads-sjis.csv", 4),
    ] {
        let bytes = std::fs::read(demo.join(file)).expect("the demo file");
        let report = import_people(
            Arc::clone(&store),
            "demo".into(),
            bytes.into(),
            &ImportOptions::default(),
            NOW,
        )
        .await
        .expect("import");
        assert!(report.refused.is_empty(), "{file}: {:?}", report.refused);
        assert_eq!(
            (report.created, report.events_added),
            (people, people),
            "{file}"
        );
    }
    let emi = store
        .engine()
        .persons
        .iter()
        .find(|p| p.email == "emi.kato@westwind.example")
        .map(|p| p.attributes.company.clone());
    assert_eq!(emi, Some(Some("髙橋ホールディングス㈱".to_string())));
    store.close().await.expect("close");
}

/// The import chunk and a person holding its audit lines go through the store's codec and come
/// back equal: the record and the snapshot entry are persisted formats.
#[tokio::test]
async fn an_import_chunk_and_the_person_it_made_round_trip_through_the_codec() {
    use crate::engine::image::Entry;
    use crate::model::offline::{OfflineEvent, OfflineKind};
    use crate::model::record::LogRecord;
    use crate::store::codec;
    let row = |name: &str| ImportedPerson {
        email: "a@example.co.jp".into(),
        fields: vec![("name".into(), name.into())],
        event: Some(OfflineEvent {
            kind: OfflineKind::Custom("ウェビナー後の個別相談".into()),
            name: "相談会".into(),
            date: "2026-11-10".into(),
            at_ms: 1_794_268_800_000,
        }),
    };
    let record = LogRecord::Admin(AdminOp::ImportPeople(Box::new(ImportChunk {
        site: "demo".into(),
        at_ms: NOW,
        rows: vec![row("A"), row("B")],
    })));
    let bytes = codec::encode_record(&record).expect("encode");
    assert_eq!(codec::decode_record(&bytes).expect("decode"), record);

    let dir = tempfile::tempdir().expect("dir");
    let store = open(dir.path());
    store.engine().apply(1, &record);
    let person = store
        .engine()
        .persons
        .iter()
        .next()
        .map(|p| p.clone())
        .expect("the person");
    assert!(person.audit.len() >= 2, "an offline event and a proposal");
    let entry = Entry::Person(person);
    let bytes = codec::encode_entry(&entry).expect("encode");
    assert_eq!(codec::decode_entry(&bytes).expect("decode"), entry);
    store.close().await.expect("close");
}

/// The accounts list: the demo file imports whole, its profiles and records go through the
/// codec, and a second import changes nothing.
#[tokio::test]
async fn the_demo_accounts_list_imports_and_its_profiles_round_trip_through_the_codec() {
    use crate::engine::image::Entry;
    use crate::model::record::LogRecord;
    use crate::store::codec;
    let dir = tempfile::tempdir().expect("dir");
    let store = open(dir.path());
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo/imports");
    let bytes = std::fs::read(demo.join("accounts-sjis.csv")).expect("the demo file");
    let options = ImportOptions::default();
    let report = import_accounts(
        Arc::clone(&store),
        "demo".into(),
        bytes.clone().into(),
        &options,
        NOW,
    )
    .await
    .expect("import");
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_eq!((report.created, report.chunks), (4, 1));
    let again = import_accounts(
        Arc::clone(&store),
        "demo".into(),
        bytes.clone().into(),
        &options,
        NOW,
    )
    .await
    .expect("again");
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 4));

    let entries: Vec<Entry> = crate::engine::image::entries(store.engine())
        .filter(|e| matches!(e, Entry::AccountProfile { .. }))
        .collect();
    assert_eq!(entries.len(), 4, "profiles are snapshot entries");
    for entry in entries {
        let bytes = codec::encode_entry(&entry).expect("encode");
        assert_eq!(codec::decode_entry(&bytes).expect("decode"), entry);
    }
    let record = LogRecord::Admin(AdminOp::ImportAccounts(Box::new(AccountsChunk {
        site: "demo".into(),
        at_ms: NOW,
        rows: vec![ImportedAccount {
            domain: "northwind.example".into(),
            name: Some("ノースウィンド".into()),
            industry: None,
            employees: Some(1_200),
            country: Some("JP".into()),
            status: Some(crate::model::offline::AccountStatus::Customer),
            owner: Some("suzuki@ours.example".into()),
        }],
    })));
    let bytes = codec::encode_record(&record).expect("encode");
    assert_eq!(codec::decode_record(&bytes).expect("decode"), record);
    store.close().await.expect("close");
}
