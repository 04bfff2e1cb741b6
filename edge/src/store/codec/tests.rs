//! The format pinned: a record of every kind, and the snapshot entries of the state they make,
//! encoded and compared byte for byte with what this format version wrote when it was made.

use std::path::PathBuf;
use std::sync::Arc;

use super::*;
use crate::engine::{Engine, Model, image};
use crate::event::{Event, PopupAction, Prop, TimedEvent};
use crate::model::person::{PersonId, Stage};
use crate::model::record::AdminOp;
use crate::model::{Batch, SessionRules};
use crate::visitor_id::VisitorId;

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/store/codec")
        .join(format!("format-{FORMAT}.golden"))
}

fn company() -> Arc<ipdb::Company> {
    Arc::new(crate::model::company::sample())
}

fn timed(at: Option<i64>, event: Event) -> TimedEvent {
    TimedEvent {
        client_ts: at,
        event,
    }
}

fn form(email: &str) -> Event {
    Event::Conversion {
        form: "contact".into(),
        url: "https://example.co.jp/contact".into(),
        fields: vec![
            ("email".into(), email.into()),
            ("name".into(), "佐藤 花子".into()),
            ("company".into(), "ノースウィンド".into()),
        ],
    }
}

fn batch(visitor: u8, at: i64, events: Vec<TimedEvent>) -> LogRecord {
    LogRecord::Batch(Batch {
        site: "demo".into(),
        visitor: VisitorId([visitor; 16]),
        received_ms: at,
        network: Some("203.0.113.0/24".parse().expect("net")),
        company: (visitor == 1).then(company),
        events,
    })
}

/// Every batch at one time: scores then never decay, so no floating-point function whose last
/// bit may differ between platforms goes into the bytes.
const AT: i64 = 1_000;

/// The person record 2 makes: its conversion is the batch's second event.
fn hanako() -> PersonId {
    PersonId(2 * crate::model::ids::IDS_PER_RECORD + 1)
}

/// A CRM's change of the person's stage.
fn stage(stage: Stage, fields: Vec<(String, String)>) -> LogRecord {
    LogRecord::Admin(AdminOp::UpdatePerson {
        site: "demo".into(),
        person: hanako(),
        stage: Some(stage),
        fields,
    })
}

/// A record of every kind, every event kind among them, in log order from position 1.
fn records() -> Vec<LogRecord> {
    let url = || "https://example.co.jp/pricing".to_string();
    vec![
        batch(
            1,
            AT,
            vec![
                timed(
                    Some(990),
                    Event::PageView {
                        url: url(),
                        referrer: Some("https://www.google.com/".into()),
                        title: Some("料金".into()),
                    },
                ),
                timed(
                    None,
                    Event::PopupDecision {
                        rule: "brochure".into(),
                        variant: Some("a".into()),
                    },
                ),
                timed(
                    None,
                    Event::Popup {
                        rule: "brochure".into(),
                        variant: "a".into(),
                        action: PopupAction::Shown,
                        url: Some(url()),
                    },
                ),
                timed(
                    None,
                    Event::Popup {
                        rule: "brochure".into(),
                        variant: "a".into(),
                        action: PopupAction::Dismissed,
                        url: Some(url()),
                    },
                ),
                timed(
                    None,
                    Event::Engagement {
                        url: url(),
                        ms: 4_000,
                    },
                ),
                timed(
                    None,
                    Event::Track {
                        name: "video".into(),
                        url: None,
                        props: vec![
                            ("played".into(), Prop::Bool(true)),
                            ("seconds".into(), Prop::Number(12.5)),
                            ("title".into(), Prop::Text("導入事例".into())),
                        ],
                    },
                ),
                timed(
                    None,
                    Event::Download {
                        url: url(),
                        href: "https://example.co.jp/brochure.pdf".into(),
                    },
                ),
            ],
        ),
        batch(
            1,
            AT,
            vec![
                timed(
                    None,
                    Event::Popup {
                        rule: "brochure".into(),
                        variant: "a".into(),
                        action: PopupAction::Submitted,
                        url: None,
                    },
                ),
                timed(None, form("hanako@example.co.jp")),
            ],
        ),
        batch(2, AT, vec![timed(None, form("taro@example.co.jp"))]),
        batch(
            3,
            AT,
            vec![
                timed(
                    None,
                    Event::EmailClick {
                        email: "hanako@example.co.jp".into(),
                        url: Some(url()),
                    },
                ),
                timed(
                    None,
                    Event::Identify {
                        token: "never-stored".into(),
                        url: None,
                    },
                ),
                timed(
                    None,
                    Event::Engagement {
                        url: url(),
                        ms: 2_000,
                    },
                ),
            ],
        ),
        batch(2, AT, vec![timed(None, form("jiro@example.co.jp"))]),
        stage(Stage::Mql, vec![("title".into(), "部長".into())]),
        stage(Stage::Sql, Vec::new()),
        stage(Stage::Opportunity, Vec::new()),
        stage(Stage::Customer, Vec::new()),
        LogRecord::Admin(AdminOp::Split {
            site: "demo".into(),
            person: hanako(),
            visitor: VisitorId([3; 16]),
        }),
        LogRecord::Admin(AdminOp::Merge {
            site: "demo".into(),
            survivor: hanako(),
            merged: PersonId(3 * crate::model::ids::IDS_PER_RECORD),
        }),
        LogRecord::Admin(AdminOp::WebhookDelivered {
            event: 2 * crate::model::ids::IDS_PER_RECORD,
        }),
        LogRecord::Admin(AdminOp::Erase {
            site: "demo".into(),
            person: PersonId(5 * crate::model::ids::IDS_PER_RECORD),
        }),
    ]
}

fn engine() -> Engine {
    Engine::new(Model {
        sessions: SessionRules {
            timeout_ms: 30 * 60 * 1000,
            max_sessions: 100,
            max_events_per_session: 100,
        },
        scoring: crate::scoring::ScoringRules::default(),
        key_pages: Vec::new(),
        webhooks: true,
    })
}

/// The records, then the snapshot entries (sorted: the tables' order is not fixed), each
/// length-prefixed.
fn encoded() -> Vec<u8> {
    let records = records();
    let engine = engine();
    let mut out = Vec::new();
    let mut put = |bytes: &[u8]| {
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(bytes);
    };
    for (i, record) in records.iter().enumerate() {
        engine.apply(i as u64 + 1, record);
        put(&encode_record(record).expect("encode"));
    }
    let mut entries: Vec<Vec<u8>> = image::entries(&engine)
        .map(|e| encode_entry(&e).expect("encode"))
        .collect();
    entries.sort();
    for entry in &entries {
        put(entry);
    }
    out
}

fn split(mut bytes: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    while let Some((len, rest)) = bytes.split_first_chunk::<4>() {
        let (part, rest) = rest.split_at(u32::from_le_bytes(*len) as usize);
        parts.push(part);
        bytes = rest;
    }
    parts
}

#[test]
fn every_magic_names_this_format() {
    for magic in [SEGMENT_MAGIC, SNAPSHOT_MAGIC, SPOOL_MAGIC] {
        let digits: String = magic
            .iter()
            .skip_while(|b| b.is_ascii_alphabetic())
            .map(|b| *b as char)
            .collect();
        assert_eq!(digits.parse::<u32>().ok(), Some(FORMAT), "{magic:?}");
    }
}

/// Fails on any change to how a persisted type is laid out. If the change is meant: bump
/// `FORMAT` (and the magics), then write the new version's file with
/// `MIKOMI_WRITE_GOLDEN=1 cargo test -p mikomi-edge codec`.
#[test]
fn the_persisted_layout_is_the_one_this_format_wrote() {
    let bytes = encoded();
    let path = golden_path();
    if std::env::var_os("MIKOMI_WRITE_GOLDEN").is_some() {
        std::fs::write(&path, &bytes).expect("write the golden file");
    }
    let golden = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: a new format needs its golden file (MIKOMI_WRITE_GOLDEN=1)",
            path.display()
        )
    });
    assert!(
        bytes == golden,
        "the persisted layout changed since format {FORMAT} was written: bump \
         store::codec::FORMAT so that older files are refused by name, then write the new \
         golden file with MIKOMI_WRITE_GOLDEN=1"
    );
}

/// The golden bytes decode to the same records, and to snapshot entries that load.
#[test]
fn the_golden_file_reads_back() {
    let golden = std::fs::read(golden_path()).expect("golden file");
    let parts = split(&golden);
    let records = records();
    assert!(parts.len() > records.len(), "records and entries");
    for (record, bytes) in records.iter().zip(&parts) {
        assert_eq!(&decode_record(bytes).expect("decode"), record);
    }
    let engine = engine();
    for bytes in &parts[records.len()..] {
        engine.load(decode_entry(bytes).expect("decode"));
    }
    engine.rebuild_indexes();
    let id = |seq: u64| PersonId(seq * crate::model::ids::IDS_PER_RECORD);
    assert_eq!(
        engine.visitors.len(),
        2,
        "the erased person's device is gone"
    );
    assert_eq!(engine.persons.len(), 1, "one merged away, one erased");
    let survivor = engine.person(hanako()).expect("the survivor");
    assert_eq!(survivor.stage, Stage::Customer, "every stage in turn");
    assert_eq!(survivor.attributes.title.as_deref(), Some("部長"));
    assert_eq!(
        engine.person(id(3)).map(|p| p.id),
        Some(hanako()),
        "the merged id resolves to the survivor"
    );
    assert!(
        engine.was_erased(id(5), &[Arc::from("demo")]),
        "the erasure is remembered"
    );
}

/// Earlier format-3 golden files, which older builds of this format wrote, still decode and
/// load: the first, written before people's audits could hold proposed changes and scored
/// conversions (new `AuditKind` variants, added at the end), and the one written before
/// snapshots remembered erasures (a new `Entry` variant, added at the end).
#[test]
fn earlier_format_3_files_still_load() {
    for (name, visitors) in [
        ("format-3-first.golden", 2),
        ("format-3-before-erased.golden", 2),
    ] {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("src/store/codec")
            .join(name);
        let earlier = std::fs::read(path).expect("the earlier golden file");
        let parts = split(&earlier);
        let records = records();
        for (record, bytes) in records.iter().zip(&parts) {
            assert_eq!(&decode_record(bytes).expect("decode"), record, "{name}");
        }
        let engine = engine();
        for bytes in &parts[records.len()..] {
            engine.load(decode_entry(bytes).expect("decode"));
        }
        engine.rebuild_indexes();
        assert_eq!(engine.persons.len(), 1, "{name}");
        assert_eq!(engine.visitors.len(), visitors, "{name}");
    }
}

/// Records and snapshot entries as decoders meet them after a torn write or a bad disk: the
/// golden file's parts, broken by the mutation fuzzer. Refused, or decoded to something that
/// encodes again; never a panic.
#[test]
fn no_bytes_panic_the_record_and_entry_decoders() {
    let golden = std::fs::read(golden_path()).expect("golden file");
    let parts: Vec<Vec<u8>> = split(&golden).into_iter().map(<[u8]>::to_vec).collect();
    crate::fuzz::run("records and entries", &parts, |bytes| {
        if let Ok(record) = decode_record(bytes) {
            encode_record(&record).expect("a decoded record encodes");
        }
        if let Ok(entry) = decode_entry(bytes) {
            encode_entry(&entry).expect("a decoded entry encodes");
        }
        let _ = decode_format_2_record(bytes);
        let _ = decode_format_2_entry(bytes);
    });
}

/// Snapshots encode each visitor without copying it into an `Entry` (`encoded_entries`); the
/// bytes must be those of the owned entries the golden file pins.
#[test]
fn entries_encoded_in_place_are_the_owned_entries_bytes() {
    let engine = engine();
    for (i, record) in records().iter().enumerate() {
        engine.apply(i as u64 + 1, record);
    }
    let mut owned: Vec<Vec<u8>> = image::entries(&engine)
        .map(|e| encode_entry(&e).expect("encode"))
        .collect();
    let mut in_place: Vec<Vec<u8>> = encoded_entries(&engine)
        .map(|e| e.expect("encode"))
        .collect();
    assert!(
        owned.len() > 3 && in_place.len() == owned.len(),
        "{} entries against {}",
        in_place.len(),
        owned.len()
    );
    owned.sort();
    in_place.sort();
    assert_eq!(in_place, owned);
}
