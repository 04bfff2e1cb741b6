//! Erasure's record and memory through the codec: they come back equal, and the encoded
//! snapshot holds no byte run of an erased visitor's id.

use std::sync::Arc;

use crate::engine::erased::Remembered;
use crate::engine::image::{self, Entry};
use crate::engine::tests_alerts::engine;
use crate::event::{Event, TimedEvent};
use crate::model::Batch;
use crate::model::person::PersonId;
use crate::model::record::{AdminOp, LogRecord};
use crate::store::codec;
use crate::visitor_id::VisitorId;

const DAY: i64 = 86_400_000;

#[test]
fn the_erasure_record_and_its_memory_round_trip_through_the_codec() {
    let record = LogRecord::Admin(AdminOp::ErasePerson {
        site: "demo".into(),
        person: PersonId(4096),
        visitors: vec![VisitorId([7; 16])],
        at_ms: DAY,
    });
    let bytes = codec::encode_record(&record).expect("encode");
    assert_eq!(codec::decode_record(&bytes).expect("decode"), record);
    let entry = Entry::Erased(Remembered::Visitor {
        digest: [9; 16],
        at_ms: DAY,
    });
    let bytes = codec::encode_entry(&entry).expect("encode");
    assert_eq!(codec::decode_entry(&bytes).expect("decode"), entry);
}

#[test]
fn a_snapshot_after_an_erasure_holds_no_byte_of_the_visitor_id() {
    let e = engine();
    let conversion = Event::Conversion {
        form: "contact".into(),
        url: "https://example.co.jp/contact".into(),
        fields: vec![("email".into(), "a@x.jp".into())],
    };
    e.apply(
        1,
        &LogRecord::Batch(Batch {
            site: "demo".into(),
            visitor: VisitorId([1; 16]),
            received_ms: 0,
            network: None,
            company: None,
            events: vec![TimedEvent {
                client_ts: None,
                event: conversion,
            }],
        }),
    );
    let person = *e
        .emails
        .get(&(Arc::from("demo"), "a@x.jp".to_string()))
        .expect("a person");
    let visitors = e.erasure_targets(&Arc::from("demo"), person);
    assert_eq!(visitors, vec![VisitorId([1; 16])]);
    e.apply(
        2,
        &LogRecord::Admin(AdminOp::ErasePerson {
            site: "demo".into(),
            person,
            visitors,
            at_ms: DAY,
        }),
    );
    let bytes: Vec<u8> = image::entries(&e)
        .flat_map(|entry| codec::encode_entry(&entry).expect("encode"))
        .collect();
    assert!(!bytes.is_empty(), "the erasure is remembered");
    assert!(
        !bytes.windows(4).any(|w| w == [1u8; 4]),
        "the snapshot holds the erased visitor's id"
    );
}
