//! What the tasks need and a fresh machine lacks, installed on first use, each step saying what
//! it does and why: the wasm target, `wasm-bindgen-cli` at the version Cargo.lock pins, and (for
//! the test suite) the Debian packages of the servers and browser the tests start.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail, ensure};

use crate::{run, step};

/// The target the tag is compiled for.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// A program the tests run, and the Debian package that brings it.
pub struct SystemTool {
    pub program: &'static str,
    pub package: &'static str,
    /// Why the suite needs it, said when it is installed.
    pub why: &'static str,
}

/// What `cargo xtask test` starts or calls.
pub const TEST_TOOLS: [SystemTool; 7] = [
    SystemTool {
        program: "redis-server",
        package: "redis-server",
        why: "the Redis store's tests start their own servers",
    },
    SystemTool {
        program: "redis-cli",
        package: "redis-tools",
        why: "the cluster tests create a three-primary cluster with it",
    },
    SystemTool {
        program: "wasm-opt",
        package: "binaryen",
        why: "the tag is optimised for size and its budget enforced",
    },
    SystemTool {
        program: "chromium",
        package: "chromium",
        why: "the browser tests run the tag in a real Chromium",
    },
    SystemTool {
        program: "chromedriver",
        package: "chromium-driver",
        why: "the browser tests drive Chromium over WebDriver",
    },
    SystemTool {
        program: "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        package: "fonts-noto-cjk",
        why: "the console's screenshots show Japanese text, which needs a CJK font",
    },
    SystemTool {
        program: "strace",
        package: "strace",
        why: "a test watches the edge sync the generated secret's directory",
    },
];

/// The schemathesis release the contract test is run with (`tests/tests/e2e/contract.rs`).
pub const SCHEMATHESIS: &str = "4.32.5";

/// Installs schemathesis from PyPI with pip when it is missing or another version.
pub fn schemathesis() -> anyhow::Result<()> {
    let installed = Command::new("schemathesis")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    if installed.is_some_and(|v| v.trim().ends_with(SCHEMATHESIS)) {
        return Ok(());
    }
    eprintln!(
        "    schemathesis {SCHEMATHESIS} is missing: the contract test checks the API against its OpenAPI document with it"
    );
    run(Command::new("python3").args([
        "-m",
        "pip",
        "install",
        "--quiet",
        &format!("schemathesis=={SCHEMATHESIS}"),
    ]))?;
    let found = || {
        Command::new("schemathesis")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    // Under pyenv a newly installed script is reachable only once its shim exists.
    if !found() && find_tool("pyenv").is_some() {
        run(Command::new("pyenv").arg("rehash"))?;
    }
    ensure!(
        found(),
        "schemathesis was installed but is not on the PATH: add pip's script folder to PATH"
    );
    Ok(())
}

/// Installs the Debian packages of the tools that are missing, when running as root; otherwise
/// names the one command to run and stops.
pub fn system_tools(tools: &[SystemTool]) -> anyhow::Result<()> {
    let missing: Vec<&SystemTool> = tools
        .iter()
        .filter(|t| find_tool(t.program).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let packages: Vec<&str> = missing.iter().map(|t| t.package).collect();
    let command = format!(
        "apt-get install -y --no-install-recommends {}",
        packages.join(" ")
    );
    for tool in &missing {
        eprintln!(
            "    {} is missing (Debian package {}): {}",
            tool.program, tool.package, tool.why
        );
    }
    if !is_root() {
        bail!("install the missing packages first, then run this again:\n    sudo {command}");
    }
    step(&format!(
        "installing {} with apt-get (a minute or two; once)",
        packages.join(", ")
    ));
    run(Command::new("apt-get").args(["update", "-qq"]))
        .with_context(|| format!("apt-get update failed; run by hand: {command}"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(&packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
    .with_context(|| format!("apt-get install failed; run by hand: {command}"))?;
    let still: Vec<&str> = missing
        .iter()
        .filter(|t| find_tool(t.program).is_none())
        .map(|t| t.program)
        .collect();
    ensure!(
        still.is_empty(),
        "still not found after installing: {}",
        still.join(", ")
    );
    Ok(())
}

/// Adds the wasm target with rustup when the toolchain lacks it.
pub fn wasm_target() -> anyhow::Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("run `rustup target list --installed` (is rustup installed?)")?;
    let listed = String::from_utf8_lossy(&installed.stdout);
    if listed.lines().any(|l| l.trim() == WASM_TARGET) {
        return Ok(());
    }
    step(&format!(
        "adding the {WASM_TARGET} target, which the tag is compiled for (once, seconds)"
    ));
    run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
        .with_context(|| format!("run by hand: rustup target add {WASM_TARGET}"))
}

/// `wasm-bindgen` at the version Cargo.lock pins (the glue it writes must match the crate
/// compiled into the module), installed with `cargo install` when it is missing or another
/// version.
pub fn wasm_bindgen(root: &Path) -> anyhow::Result<PathBuf> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("reading Cargo.lock")?;
    let Some(wanted) = locked_version(&lock, "wasm-bindgen") else {
        bail!("Cargo.lock has no wasm-bindgen package; run `cargo generate-lockfile`");
    };
    let candidates = [
        find_on_path("wasm-bindgen"),
        cargo_bin().map(|b| b.join("wasm-bindgen")),
    ];
    let mut found = Vec::new();
    for candidate in candidates.into_iter().flatten().filter(|p| p.is_file()) {
        let version = tool_version(&candidate);
        if version.as_deref() == Some(wanted.as_str()) {
            return Ok(candidate);
        }
        found.push(format!(
            "{} is {}",
            candidate.display(),
            version.as_deref().unwrap_or("of an unknown version")
        ));
    }
    let install = format!("cargo install wasm-bindgen-cli --version {wanted}");
    let why = if found.is_empty() {
        "not installed".to_owned()
    } else {
        found.join(", ")
    };
    step(&format!(
        "installing wasm-bindgen-cli {wanted} ({why}): it writes the JavaScript glue of the \
         tag and must match the wasm-bindgen crate in Cargo.lock; `{install}` compiles it \
         once, 3 to 10 minutes on 2 cores"
    ));
    // Not `--locked`: one of the CLI's own pinned dependencies can be newer than a registry
    // mirror holds, and its unlocked resolution builds the same tool.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    run(Command::new(cargo).args([
        "install",
        "--quiet",
        "wasm-bindgen-cli",
        "--version",
        &wanted,
    ]))
    .with_context(|| format!("installing wasm-bindgen-cli failed; run by hand: {install}"))?;
    let installed = cargo_bin()
        .map(|b| b.join("wasm-bindgen"))
        .filter(|p| p.is_file())
        .with_context(|| format!("`{install}` left no wasm-bindgen in cargo's bin folder"))?;
    let version = tool_version(&installed);
    ensure!(
        version.as_deref() == Some(wanted.as_str()),
        "{} is {version:?} after installing {wanted}",
        installed.display()
    );
    Ok(installed)
}

/// The version a `wasm-bindgen --version` prints (`wasm-bindgen 0.2.130`).
fn tool_version(program: &Path) -> Option<String> {
    let output = Command::new(program).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace().nth(1).map(str::to_owned)
}

/// The version of package `name` in a Cargo.lock.
pub fn locked_version(lock: &str, name: &str) -> Option<String> {
    let wanted = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            let version = lines.next()?.trim().strip_prefix("version = ")?;
            return Some(version.trim_matches('"').to_owned());
        }
    }
    None
}

/// A tool on PATH, else in cargo's bin folder (where `cargo install` puts it).
/// A program on the PATH or in cargo's bin folder, or a file named by its absolute path (a font
/// is a package's file, not a program).
pub fn find_tool(name: &str) -> Option<PathBuf> {
    if name.starts_with('/') {
        return Some(PathBuf::from(name)).filter(|p| p.is_file());
    }
    find_on_path(name).or_else(|| cargo_bin().map(|b| b.join(name)).filter(|p| p.is_file()))
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// `$CARGO_HOME/bin`, or `~/.cargo/bin`.
fn cargo_bin() -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    Some(home.join("bin"))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_locked_versions() {
        let lock = "[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\n\
                    [[package]]\nname = \"wasm-bindgen-shared\"\nversion = \"0.2.130\"\n";
        assert_eq!(
            locked_version(lock, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(locked_version(lock, "web-sys"), None);
    }

    #[test]
    fn nothing_is_installed_when_nothing_is_missing() {
        // `sh` is on every machine that runs this; no apt-get is attempted for it.
        let present = [SystemTool {
            program: "sh",
            package: "dash",
            why: "a shell",
        }];
        assert!(system_tools(&present).is_ok());
    }
}
