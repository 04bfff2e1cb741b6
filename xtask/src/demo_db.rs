//! Builds the demo company database (`target/demo/companies.mmdb`) from `demo/companies.csv`.

use std::path::Path;

/// Builds the demo database. Until the ipdb builder lands this builds nothing.
pub fn build(_root: &Path) -> anyhow::Result<()> {
    Ok(())
}
