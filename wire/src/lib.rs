//! The limits of the collect wire contract (v1), in one place: the tag cuts what it sends to
//! them, the edge refuses what exceeds them, and the edge's configuration may not set its
//! request limits below what the tag may send. No dependencies, so the wasm tag pays nothing
//! for it.

#![no_std]

/// Longest URL (page, referrer, download link), in bytes.
pub const MAX_URL: usize = 2048;
/// Longest page title.
pub const MAX_TITLE: usize = 512;
/// Longest form or event name, rule or variant id, field key.
pub const MAX_ID: usize = 64;
/// Longest form field value or custom-event property value.
pub const MAX_FIELD: usize = 256;
/// Longest email-click or preview token; longer ones cannot be genuine.
pub const MAX_TOKEN: usize = 512;
/// Most fields in a conversion, and most properties of a custom event.
pub const MAX_KEYS: usize = 20;
/// Longest engagement time of one report (a day), in milliseconds.
pub const MAX_ENGAGEMENT_MS: u64 = 86_400_000;
/// Most events the tag puts in one request.
pub const MAX_BATCH: usize = 50;
/// Longest page language tag (BCP 47 tags in practice stay far below).
pub const MAX_LANG: usize = 35;
/// Largest request body the tag builds: below the browser's 64 KiB keepalive quota, with room
/// for the envelope.
pub const MAX_BODY: usize = 60 * 1024;

// Held at compile time: even one event at every maximum fits in a body the tag may build, and
// that body fits the browser's keepalive quota.
const _: () = assert!(3 * MAX_URL + MAX_TITLE + MAX_KEYS * (MAX_ID + MAX_FIELD) * 6 < MAX_BODY);
const _: () = assert!(MAX_BODY < 64 * 1024);
