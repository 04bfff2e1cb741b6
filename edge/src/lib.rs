//! The Mikomi edge: collects page views and conversions from the tag, keeps visitors durable,
//! and answers the backend API.

pub mod collect;
pub mod config;
pub mod metrics;
pub mod store;
pub mod visitor_id;
