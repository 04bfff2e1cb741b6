//! End-to-end tests against the real `mikomi-edge` binary. One test binary, so everything links
//! once.

mod alerts;
mod alerts_email;
mod api_keys;
mod bad_input;
mod cli;
mod collect;
mod console;
mod contract;
mod deploy;
mod durability;
mod engine;
mod erasure;
mod form_abuse;
mod forwarding;
mod identity;
mod imports;
mod ipdb;
mod operator_routes;
mod outgoing;
mod redis_tls;
mod rules;
mod secret_file;
mod slow_clients;
mod visibility;
mod webhooks;
