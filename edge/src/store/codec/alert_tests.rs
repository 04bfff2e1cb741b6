//! Alert records and snapshot entries through the codec: they come back equal.

use crate::engine::image;
use crate::engine::tests_alerts::{engine, raised};
use crate::model::record::{AdminOp, LogRecord};
use crate::store::codec;

/// The new records and snapshot entries go through the store's codec and come back equal.
#[test]
fn alert_records_and_entries_round_trip_through_the_codec() {
    let e = engine();
    let record = raised(1, 0);
    let bytes = codec::encode_record(&record).expect("encode");
    assert_eq!(codec::decode_record(&bytes).expect("decode"), record);
    e.apply(1, &record);
    let digest = crate::notice::Digest {
        name: "morning".into(),
        site: "demo".into(),
        lang: "ja".into(),
        destinations: vec!["mail".into()],
        period: "2026-12-01".into(),
        from_ms: 0,
        to_ms: 86_400_000,
        accounts: Vec::new(),
        new_leads: 1,
        new_mqls: 0,
        popups_shown: 2,
        popups_submitted: 1,
    };
    for op in [
        AdminOp::AlertDelivered {
            alert: 1,
            destination: "slack".into(),
        },
        AdminOp::AlertDeadLettered {
            alert: 1,
            destination: "teams".into(),
            reason: "answered 500".into(),
            attempts: 3,
            at_ms: 5,
        },
        AdminOp::AlertRetried {
            alert: 1,
            destination: "teams".into(),
        },
        AdminOp::Digest(Box::new(digest)),
    ] {
        let record = LogRecord::Admin(op);
        let bytes = codec::encode_record(&record).expect("encode");
        assert_eq!(codec::decode_record(&bytes).expect("decode"), record);
        e.apply(2, &record);
    }
    let entries: Vec<image::Entry> = image::entries(&e)
        .filter(|x| matches!(x, image::Entry::Alert(_) | image::Entry::Cooldown(_)))
        .collect();
    assert_eq!(
        entries.len(),
        4,
        "two messages and two cooldowns: {entries:?}"
    );
    for entry in entries {
        let bytes = codec::encode_entry(&entry).expect("encode");
        assert_eq!(codec::decode_entry(&bytes).expect("decode"), entry);
    }
}
