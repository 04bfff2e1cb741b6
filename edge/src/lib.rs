//! The Mikomi edge: collects page views and conversions from the tag, keeps visitors durable,
//! and answers the backend API.

pub mod accounts;
pub mod alerts;
pub mod app;
pub mod bots;
pub mod clock;
pub mod collect;
pub mod config;
pub mod delivery;
pub mod engine;
pub mod event;
pub mod explain;
#[cfg(test)]
pub mod fuzz;
pub mod glob;
pub mod http;
pub mod identity;
pub mod imports;
pub mod metrics;
pub mod model;
pub mod notice;
pub mod outgoing;
pub mod password;
pub mod ratelimit;
pub mod retention;
pub mod rules;
pub mod scoring;
pub mod server;
pub mod service;
pub mod signing;
pub mod store;
pub mod visitor_id;
pub mod webhooks;
