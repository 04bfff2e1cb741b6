//! End-to-end tests against the real `mikomi-edge` binary. One test binary, so everything links
//! once.

mod alerts;
mod alerts_email;
mod bad_input;
mod cli;
mod collect;
mod console;
mod deploy;
mod durability;
mod engine;
mod identity;
mod ipdb;
mod outgoing;
mod rules;
mod webhooks;
