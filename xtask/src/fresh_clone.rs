//! Proof that the repository carries what its tests read: a clean clone of HEAD in a temporary
//! folder with nothing beside it (no shared data folder next to it, no built `target/`), where nothing refers to a
//! folder outside the repository and the tests that read the data files pass.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, ensure};

use crate::run;

/// Test targets that read the repository's data files (`ipdb/testdata`): the ipdb crate's own.
const DATA_TESTS: [&str; 3] = ["--package", "ipdb", "--tests"];

/// Clones HEAD, checks that no tracked file reads a data folder beside the repository, and runs the data tests there.
/// Their build goes to `target/fresh-clone/` so that a warm run recompiles only the project.
pub fn check(root: &Path) -> anyhow::Result<()> {
    if !root.join(".git").exists() {
        eprintln!("    not a git checkout: nothing to clone");
        return Ok(());
    }
    let temp = tempfile::tempdir().context("create a temporary folder")?;
    let clone = temp.path().join("mikomi");
    run(Command::new("git")
        .args(["clone", "--quiet", "--no-hardlinks"])
        .arg(root)
        .arg(&clone))
    .context("git clone of HEAD")?;
    ensure!(
        !temp.path().join("shared").exists(),
        "the clone has a `shared` folder beside it"
    );

    let outside = Command::new("git")
        .args(["grep", "-n", "-E", r"\.\./(\.\./)*shared/data"])
        .current_dir(&clone)
        .output()
        .context("git grep in the clone")?;
    let hits = String::from_utf8_lossy(&outside.stdout);
    ensure!(
        hits.trim().is_empty(),
        "tracked files refer to a folder outside the repository:\n{hits}"
    );

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    run(Command::new(cargo)
        .arg("test")
        .args(DATA_TESTS)
        .arg("--locked")
        .env("CARGO_TARGET_DIR", root.join("target/fresh-clone"))
        .current_dir(&clone))
    .context("the data tests in the clean clone")
}
