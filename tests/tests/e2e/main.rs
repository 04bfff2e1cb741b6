//! End-to-end tests against the real `mikomi-edge` binary. One test binary, so everything links
//! once.

mod api_keys;
mod bad_input;
mod cli;
mod collect;
mod console;
mod deploy;
mod durability;
mod engine;
mod form_abuse;
mod forwarding;
mod identity;
mod ipdb;
mod operator_routes;
mod redis_tls;
mod rules;
mod secret_file;
mod slow_clients;
mod visibility;
mod webhooks;
