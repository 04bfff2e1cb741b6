//! What the backend API (and the console) can ask and change, without HTTP: each service takes
//! plain values, calls the node, and answers with domain values or its own error enum, which
//! `http::error` maps to statuses in one table.

pub mod rules;
