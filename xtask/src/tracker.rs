//! Builds the browser tag into `target/tracker/`: `t.js`, the wasm-bindgen glue and the module.

use std::path::Path;

/// Builds the tag. Until the tracker crate lands this builds nothing, and the edge serves the
/// demo pages without it.
pub fn build(_root: &Path) -> anyhow::Result<()> {
    Ok(())
}
