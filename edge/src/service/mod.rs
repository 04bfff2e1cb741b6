//! What the backend API (and the console) can ask and change, without HTTP: each service takes
//! plain values, calls the store, and answers with domain values or its own error enum, which
//! `http::error` maps to statuses in one table. Parsing requests and choosing the site an API
//! key means stay in `http`.

pub mod accounts;
pub mod alerts;
pub mod imports;
pub mod people;
pub mod retention;
pub mod rules;
pub mod sessions;
pub mod tokens;
pub mod visitors;
