//! The browser tag.
