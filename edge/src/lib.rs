//! The Mikomi edge: collects page views and conversions from the tag, keeps visitors durable,
//! and answers the backend API.

pub mod app;
pub mod bots;
pub mod clock;
pub mod collect;
pub mod config;
pub mod http;
pub mod metrics;
pub mod ratelimit;
pub mod rules;
pub mod server;
pub mod store;
pub mod visitor_id;
