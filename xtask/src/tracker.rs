//! Builds the browser tag into `target/tag/`: `t.js` (the loader), `tracker.js` (the
//! wasm-bindgen glue with the hand-written browser side `js/host.js` inlined) and
//! `tracker_bg.wasm`, prints the raw and gzip size of each, and fails when a size budget is
//! exceeded.
//!
//! Steps: `cargo build -p tracker-wasm --target wasm32-unknown-unknown --profile tracker`,
//! `wasm-opt -Oz` when binaryen is installed, `wasm-bindgen --target web`, the JS snippets
//! inlined into the glue (the edge serves exactly three files), and a whitespace and comment
//! strip of the hand-written JavaScript.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, ensure};
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::setup::{self, WASM_TARGET as TARGET};

const PROFILE: &str = "tracker";
/// Budget for the loader, gzip bytes.
const LOADER_BUDGET: usize = 1536;
/// Budget for the glue and the module together, gzip bytes.
const MODULE_BUDGET: usize = 35 * 1024;

/// One built file and its sizes.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// File name inside `target/tag/`.
    pub name: &'static str,
    /// Size in bytes.
    pub raw: usize,
    /// Size gzipped at the best level, in bytes.
    pub gzip: usize,
}

/// The folder the tag is written to, under the workspace root. Not `target/tracker/`: that is
/// cargo's own folder for the `tracker` profile.
pub const OUT_DIR: &str = "target/tag";

/// What a build does with the size budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Fail over budget (the test command, which installs binaryen first).
    Enforce,
    /// Fail over budget only when the module was optimised; without `wasm-opt`, warn and say
    /// by how much (the demo runs on a machine without binaryen too).
    WarnUnoptimised,
}

/// Builds the tag, prints the size table, and fails when a budget is exceeded.
pub fn build(root: &Path, budget: Budget) -> anyhow::Result<()> {
    let built = build_quiet(root)?;
    print_sizes(&built.sizes);
    let checked = check_budget(&built.sizes);
    match (checked, built.optimised, budget) {
        (Ok(()), _, _) => Ok(()),
        (Err(e), false, Budget::WarnUnoptimised) => {
            eprintln!(
                "    warning: {e:#}: the module is not optimised (wasm-opt, Debian package \
                 binaryen, is not installed); optimised, it is about 5 KiB smaller raw and \
                 0.1 KiB gzipped, and within budget, which `cargo xtask test` enforces"
            );
            Ok(())
        }
        (Err(e), _, _) => Err(e).context("the tag is over its size budget"),
    }
}

/// What a build wrote.
pub struct Built {
    /// Sizes in the order t.js, glue, module.
    pub sizes: Vec<Artifact>,
    /// Whether `wasm-opt` optimised the module.
    pub optimised: bool,
}

/// Builds the tag and returns the sizes of what it wrote.
pub fn build_quiet(root: &Path) -> anyhow::Result<Built> {
    setup::wasm_target()?;
    let bindgen = setup::wasm_bindgen(root)?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root)
        .args(["build", "-p", "tracker-wasm", "--lib", "--target", TARGET])
        .args(["--profile", PROFILE])
        // Keep the `target_features` section for wasm-bindgen (it needs it to emit reference
        // types); wasm-bindgen and wasm-opt drop the names and the section afterwards.
        .env("CARGO_PROFILE_TRACKER_STRIP", "false")
        .status()
        .context("running cargo build for the tag")?;
    ensure!(
        status.success(),
        "building tracker-wasm for {TARGET} failed (is the target installed? \
         `rustup target add {TARGET}`)"
    );
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root.join(p) })
        .unwrap_or_else(|| root.join("target"));
    let wasm = target_dir
        .join(TARGET)
        .join(PROFILE)
        .join("tracker_wasm.wasm");
    ensure!(wasm.is_file(), "cargo built no {}", wasm.display());

    // wasm-opt runs before wasm-bindgen: Debian's binaryen (108) run after it re-points the
    // exported externref table at the function table, and the module then fails to start.
    let optimised = wasm.with_file_name("tracker_wasm.opt.wasm");
    let optimised_it = optimise(&wasm, &optimised)?;
    let input = if optimised_it { optimised } else { wasm };

    let out = root.join(OUT_DIR);
    // Start empty: the snippets folder of an earlier build must not linger.
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let status = Command::new(&bindgen)
        .args([
            "--target",
            "web",
            "--no-typescript",
            "--out-name",
            "tracker",
            "--remove-name-section",
            "--remove-producers-section",
        ])
        .arg("--out-dir")
        .arg(&out)
        .arg(&input)
        .status()
        .context("running wasm-bindgen")?;
    ensure!(
        status.success(),
        "wasm-bindgen failed on {}",
        input.display()
    );

    inline_snippets(&out).context("inlining the JS snippets into the glue")?;

    let loader = std::fs::read_to_string(root.join("tracker-wasm/js/t.js"))
        .context("reading tracker-wasm/js/t.js")?;
    std::fs::write(out.join("t.js"), strip_loader(&loader)).context("writing t.js")?;

    let sizes = ["t.js", "tracker.js", "tracker_bg.wasm"]
        .into_iter()
        .map(|name| measure(&out, name))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Built {
        sizes,
        optimised: optimised_it,
    })
}

/// Prints the size table (the README's table comes from this output).
pub fn print_sizes(sizes: &[Artifact]) {
    println!("{:<18} {:>9} {:>9}", "target/tag/", "raw", "gzip");
    for a in sizes {
        println!("{:<18} {:>9} {:>9}", a.name, a.raw, a.gzip);
    }
    let glue_and_module: usize = sizes.iter().skip(1).map(|a| a.gzip).sum();
    println!(
        "glue + wasm gzip: {glue_and_module} bytes (budget {MODULE_BUDGET}); \
         t.js gzip budget {LOADER_BUDGET}"
    );
}

/// Fails, naming the file and its budget, when the loader or the glue and module together are
/// over their gzip budget.
fn check_budget(sizes: &[Artifact]) -> anyhow::Result<()> {
    let loader = sizes.first().map_or(0, |a| a.gzip);
    let module: usize = sizes.iter().skip(1).map(|a| a.gzip).sum();
    ensure!(
        loader <= LOADER_BUDGET,
        "t.js is {loader} bytes gzipped, over its {LOADER_BUDGET}-byte budget"
    );
    ensure!(
        module <= MODULE_BUDGET,
        "glue + wasm are {module} bytes gzipped, over their {MODULE_BUDGET}-byte budget"
    );
    Ok(())
}

/// Runs `wasm-opt -Oz` from `input` to `output` when binaryen is installed; says whether it
/// did.
fn optimise(input: &Path, output: &Path) -> anyhow::Result<bool> {
    let Some(wasm_opt) = setup::find_tool("wasm-opt") else {
        eprintln!("    wasm-opt not found (Debian package binaryen): the module stays unoptimised");
        return Ok(false);
    };
    let status = Command::new(wasm_opt)
        .arg("-Oz")
        // The features rustc enables by default for wasm32-unknown-unknown.
        .args([
            "--enable-bulk-memory",
            "--enable-nontrapping-float-to-int",
            "--enable-sign-ext",
            "--enable-mutable-globals",
            "--enable-reference-types",
            "--enable-multivalue",
        ])
        .arg(input)
        .arg("-o")
        .arg(output)
        .status()
        .context("running wasm-opt")?;
    ensure!(status.success(), "wasm-opt failed on {}", input.display());
    Ok(true)
}

/// Puts the JS snippets wasm-bindgen wrote (`snippets/.../*.js`, imported by the glue) into the
/// glue itself, so that the edge has exactly three files to serve, and removes the folder.
/// A snippet's `import { ... } from` line is replaced by the snippet's code; an
/// `import * as NAME from` line (functions the module imports without a shim) by an object of
/// the snippet's exported functions.
fn inline_snippets(out: &Path) -> anyhow::Result<()> {
    let glue_path = out.join("tracker.js");
    let glue = std::fs::read_to_string(&glue_path).context("reading the glue")?;
    let snippets = out.join("snippets");
    let mut files = Vec::new();
    if snippets.is_dir() {
        collect_js(&snippets, &mut files)?;
    }
    let mut glue = glue;
    for file in files {
        let rel = file
            .strip_prefix(out)
            .context("a snippet outside the output folder")?
            .to_string_lossy()
            .replace('\\', "/");
        let code = strip_loader(
            &std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?,
        );
        glue = inline_snippet(&glue, &rel, &code)?;
    }
    // (The wasm module's own import names keep the snippet's path: only JS imports must go.)
    ensure!(
        !glue
            .lines()
            .any(|l| l.starts_with("import ") && l.contains("./snippets/")),
        "the glue still imports a snippet after inlining"
    );
    let glue = compact_glue(&glue).unwrap_or(glue);
    std::fs::write(&glue_path, glue).context("writing the glue")?;
    if snippets.is_dir() {
        std::fs::remove_dir_all(&snippets).context("removing the snippets folder")?;
    }
    Ok(())
}

/// The glue without comments and indentation, when that is safe to do line by line: every
/// block comment starts its line and no template literal spans lines. `None` otherwise.
fn compact_glue(glue: &str) -> Option<String> {
    let safe = glue.lines().all(|l| {
        let backticks = l.matches('`').count();
        let comment_inside = l
            .trim_start()
            .get(2..)
            .is_some_and(|rest| rest.contains("/*"));
        let comment_after_code = l.contains("/*") && !l.trim_start().starts_with("/*");
        (backticks % 2 == 0 || l.trim_start().starts_with('*'))
            && !comment_inside
            && !comment_after_code
    });
    if !safe {
        return None;
    }
    let stripped = strip_loader(glue);
    let mut out = String::with_capacity(stripped.len());
    for line in stripped.lines().filter(|l| !l.starts_with("//")) {
        out.push_str(line);
        out.push('\n');
    }
    Some(out)
}

fn collect_js(dir: &Path, files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_js(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "js") {
            files.push(path);
        }
    }
    files.sort();
    Ok(())
}

/// The glue with the snippet at `rel` (`snippets/...js`) inlined; see `inline_snippets`.
fn inline_snippet(glue: &str, rel: &str, code: &str) -> anyhow::Result<String> {
    let exports: Vec<&str> = code
        .lines()
        .filter_map(|l| l.strip_prefix("export function "))
        .filter_map(|l| l.split('(').next())
        .map(str::trim)
        .collect();
    let mut out = String::with_capacity(glue.len() + code.len());
    let mut inlined = false;
    let mut namespaced = false;
    for line in glue.lines() {
        let imports_it = line.starts_with("import ")
            && (line.contains(&format!("'./{rel}'")) || line.contains(&format!("\"./{rel}\"")));
        if !imports_it {
            out.push_str(line);
        } else if let Some(rest) = line.strip_prefix("import * as ") {
            let name = rest.split_whitespace().next().unwrap_or_default();
            ensure!(!name.is_empty(), "unexpected import line: {line}");
            namespaced = true;
            out.push_str(&format!("const {name} = {{ {} }};", exports.join(", ")));
        } else {
            ensure!(
                line.starts_with("import {"),
                "unexpected import line: {line}"
            );
            ensure!(!inlined, "the snippet {rel} is imported twice by name");
            out.push_str(code.trim_end());
            inlined = true;
        }
        out.push('\n');
    }
    if namespaced && !inlined {
        // Only namespace imports: the code goes first, so that the objects can name it.
        out = format!("{}\n{out}", code.trim_end());
    }
    Ok(out)
}

/// Drops block comments and indentation from the hand-written loader. The loader is written so
/// that this is safe: no comment markers or significant leading spaces inside strings.
pub fn strip_loader(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let mut rest = src;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        match rest[start..].find("*/") {
            Some(end) => rest = &rest[start + end + 2..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn measure(dir: &Path, name: &'static str) -> anyhow::Result<Artifact> {
    let bytes = std::fs::read(dir.join(name)).with_context(|| format!("reading {name}"))?;
    Ok(Artifact {
        name,
        raw: bytes.len(),
        gzip: gzip_len(&bytes)?,
    })
}

/// Size of `bytes` gzipped at the best level.
pub fn gzip_len(bytes: &[u8]) -> anyhow::Result<usize> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    gz.write_all(bytes)?;
    Ok(gz.finish()?.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loader_strip_keeps_code_and_tokens() {
        let src = "/* header\n   comment */\n(function () {\n    var a = \"__MIKOMI_GLUE__\";\n\n  })();\n";
        assert_eq!(
            strip_loader(src),
            "(function () {\nvar a = \"__MIKOMI_GLUE__\";\n})();\n"
        );
    }

    #[test]
    fn the_real_loader_keeps_its_tokens_after_stripping() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let src = std::fs::read_to_string(root.join("tracker-wasm/js/t.js")).unwrap_or_default();
        let out = strip_loader(&src);
        for token in [
            "__MIKOMI_GLUE__",
            "__MIKOMI_WASM__",
            "__MIKOMI_COLLECT__",
            "data-site",
        ] {
            assert!(
                out.contains(token),
                "{token} missing from the stripped loader"
            );
        }
        assert!(out.len() < src.len());
    }

    #[test]
    fn snippets_are_inlined_into_the_glue() {
        let glue = "import { mk_a } from './snippets/c-1/js/host.js';\n\
                    import * as import1 from \"./snippets/c-1/js/host.js\"\n\
                    export function start() { mk_a(); }\n";
        let code = "export function mk_a() {\nreturn 1;\n}\nexport function mk_b(x) {\n}\n";
        let out = inline_snippet(glue, "snippets/c-1/js/host.js", code).unwrap_or_default();
        assert_eq!(
            out,
            "export function mk_a() {\nreturn 1;\n}\nexport function mk_b(x) {\n}\n\
             const import1 = { mk_a, mk_b };\n\
             export function start() { mk_a(); }\n"
        );
        // Another snippet's imports are left alone.
        let other = inline_snippet(glue, "snippets/c-1/js/other.js", code).unwrap_or_default();
        assert_eq!(other, glue);
    }

    #[test]
    fn the_glue_is_compacted_only_when_safe() {
        let glue =
            "/**\n * Doc `x`.\n */\nexport function a() {\n    // note\n    return `t ${1}`;\n}\n";
        assert_eq!(
            compact_glue(glue).as_deref(),
            Some("export function a() {\nreturn `t ${1}`;\n}\n")
        );
        assert_eq!(compact_glue("const t = `a\n  b`;\n"), None);
        assert_eq!(compact_glue("const s = \"/*\";\n"), None);
    }

    #[test]
    fn budgets_fail_the_build_by_one_byte() {
        let sizes = |loader, glue, module| {
            [
                ("t.js", loader),
                ("tracker.js", glue),
                ("tracker_bg.wasm", module),
            ]
            .map(|(name, gzip)| Artifact { name, raw: 0, gzip })
        };
        assert!(check_budget(&sizes(LOADER_BUDGET, 5_000, MODULE_BUDGET - 5_000)).is_ok());
        let over = check_budget(&sizes(LOADER_BUDGET, 5_000, MODULE_BUDGET - 4_999));
        assert!(over.is_err_and(|e| e.to_string().contains("glue + wasm")));
        let over = check_budget(&sizes(LOADER_BUDGET + 1, 0, 0));
        assert!(over.is_err_and(|e| e.to_string().contains("t.js")));
    }

    #[test]
    fn gzip_shrinks_repetitive_input() {
        let len = gzip_len(&[b'a'; 10_000]).unwrap_or(usize::MAX);
        assert!(len < 100, "{len}");
    }
}
