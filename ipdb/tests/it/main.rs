//! Integration tests, as modules of one binary so they link once.

mod bad_data;
mod build_roundtrip;
mod common;
mod conformance;
mod demo;
mod reload;
