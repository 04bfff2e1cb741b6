//! The collect path without HTTP: from a request body and what the connection tells, to stored
//! events and an answer.

pub mod event;
pub mod validate;
pub mod wire;
