//! Rule sections of the configuration: refusals name the line, and the demo rules compile.

use std::path::Path;

use crate::config::ConfigError;

const MINIMAL: &str = r#"
[[sites]]
key = "demo"
origins = ["http://127.0.0.1:8080"]
"#;

fn parse(text: &str) -> Result<(), ConfigError> {
    crate::rules::parse(Path::new("edge.toml"), text).map(|_| ())
}

#[test]
fn rule_errors_point_at_the_line() {
    let rule = |body: &str| format!("{MINIMAL}[[rules]]\nid = \"r\"\n{body}");
    // MINIMAL is an empty line and three more: `[[rules]]` is line 5, `id` line 6.
    let cases: Vec<(String, usize, &str)> = vec![
        (rule("template = \"flyer\"\n"), 7, "no template `flyer`"),
        (
            rule("template = \"brochure\"\nwhen = [{ visited = 3 }]\n"),
            8,
            "unknown variant",
        ),
        (
            rule("template = \"brochure\"\nwhen = [{ visits = { within = \"7d\" } }]\n"),
            8,
            "at_least",
        ),
        (
            rule("template = \"brochure\"\nholdout = 1.5\n"),
            8,
            "0 to 0.9",
        ),
        (rule("template = \"seminar\"\n"), 5, "announces an event"),
        (
            rule("template = \"brochure\"\nsites = [\"elsewhere\"]\n"),
            8,
            "`elsewhere`",
        ),
        (
            rule("template = \"brochure\"\ncaps = { once_per = \"often\" }\n"),
            8,
            "often",
        ),
        (
            format!(
                "{MINIMAL}[[rules]]\nid = \"r\"\ntemplate = \"brochure\"\n[[rules]]\nid = \"r\"\ntemplate = \"brochure\"\n"
            ),
            9,
            "used twice",
        ),
        (
            rule("template = \"brochure\"\n[[rules.variants]]\nid = \"a\"\nweight = 0\n"),
            8,
            "weight",
        ),
    ];
    for (text, line, needle) in cases {
        let err = parse(&text).expect_err(&text);
        assert_eq!(err.line(), Some(line), "{text}\ngave {err}");
        assert!(err.to_string().contains(needle), "{err} lacks {needle}");
    }
}

#[test]
fn the_demo_rules_load() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo/mikomi.toml");
    let (_, set) = crate::rules::load(&path).expect("the demo configuration is valid");
    let ids: Vec<&str> = set.rules.iter().map(|r| &*r.id).collect();
    assert_eq!(
        ids,
        ["seminar-faq-pricing", "brochure-repeat"],
        "by priority"
    );
}
