//! The configuration loader (the TOML, its validation, the popup rules compiled from it) under
//! the mutation fuzzer: a broken file is refused with a message, never a panic. Seeded with the
//! demo's and the production configuration, which hold every section.

use std::path::Path;

fn seeds() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    ["demo/mikomi.toml", "deploy/mikomi.toml"]
        .iter()
        .map(|file| std::fs::read(root.join(file)).expect("a configuration seed"))
        .collect()
}

#[test]
fn no_configuration_file_panics_the_loader() {
    let mut refused = 0u64;
    crate::fuzz::run("configuration", &seeds(), |bytes| {
        let text = String::from_utf8_lossy(bytes);
        if let Err(e) = crate::rules::parse(Path::new("edge.toml"), &text) {
            // Every refusal says where: the file, and a line when it has one.
            assert!(e.to_string().starts_with("edge.toml"), "{e}");
            refused += 1;
        }
    });
    assert!(refused > 0, "some mutations are refused");
}
