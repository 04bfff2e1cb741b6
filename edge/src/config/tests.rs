use super::*;

const MINIMAL: &str = r#"
[[sites]]
key = "demo"
origins = ["http://127.0.0.1:8080"]
"#;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(Path::new("edge.toml"), text)
}

#[test]
fn minimal_file_gets_defaults() {
    let config = parse(MINIMAL).expect("valid");
    assert_eq!(config.server.listen.port(), 8080);
    assert_eq!(config.sessions.timeout.0, Duration::from_secs(1800));
    assert_eq!(config.limits.max_body_bytes, 65536);
    let site = config.site("demo").expect("configured");
    assert_eq!(site.consent, ConsentMode::None);
    assert!(site.honor_gpc);
    assert!(config.site("other").is_none());
}

/// Each broken file must name the line the operator has to fix.
/// Nodes sharing Redis must sign visitor ids alike: a missing secret is refused, by name.
#[test]
fn the_redis_store_needs_a_shared_secret() {
    let text = format!(
        "{MINIMAL}[storage]\nbackend = \"redis\"\n[storage.redis]\nurls = [\"redis://127.0.0.1:6379\"]\n"
    );
    let error = parse(&text).expect_err("no secret").to_string();
    assert!(error.contains("server.secret"), "{error}");
    let with_secret = format!("[server]\nsecret = \"0123456789abcdef0123456789\"\n{text}");
    let config = parse(&with_secret).expect("valid");
    let redis = config.storage.redis.as_ref().expect("redis table");
    assert!(!redis.get_ref().is_cluster());
    assert_eq!(redis.get_ref().timeout.0, Duration::from_millis(250));
    assert_eq!(redis.get_ref().busy_timeout.0, Duration::from_secs(5));
}

/// A busy timeout shorter than the timeout would give up on a live Redis before a dead one.
#[test]
fn a_busy_timeout_below_the_timeout_is_refused() {
    let text = "[server]\nsecret = \"0123456789abcdef0123456789\"\n[storage]\nbackend = \"redis\"\n\
                [storage.redis]\nurls = [\"redis://127.0.0.1:6379\"]\ntimeout = \"1s\"\n\
                busy_timeout = \"500ms\"\n";
    let error = parse(&format!("{MINIMAL}{text}"))
        .expect_err("refused")
        .to_string();
    assert!(error.contains("storage.redis.busy_timeout"), "{error}");
}

#[test]
fn errors_point_at_the_line() {
    let cases: &[(&str, usize, &str)] = &[
        ("[server]\nlisten = \"nowhere\"\n", 2, "listen"),
        ("[server]\nshutdown_timeout = \"soon\"\n", 2, "soon"),
        ("[server]\nunknown_key = 1\n", 2, "unknown_key"),
        (
            "[server]\nforwarded_header = \"true-client-ip\"\n",
            2,
            "true-client-ip",
        ),
        (
            "[[sites]]\nkey = \"a\"\norigins = [\"example.com\"]\n",
            3,
            "http",
        ),
        (
            "[[sites]]\nkey = \"bad key\"\norigins = []\n",
            2,
            "site key",
        ),
        ("[storage]\nbackend = \"floppy\"\n", 2, "floppy"),
        (
            "[server]\nsecret = \"0123456789abcdef0123456789\"\n[storage]\nbackend = \"redis\"\n[storage.redis]\nurls = [\"http://cache\"]\n[[sites]]\nkey = \"a\"\norigins = [\"http://a\"]\n",
            6,
            "not a redis URL",
        ),
        (
            "[[sites]]\nkey = \"consent\"\norigins = [\"http://a\"]\nconsent = \"maybe\"\n",
            4,
            "maybe",
        ),
        ("this is not toml\n", 1, ""),
        (
            "[[sites]]\nkey = \"a\"\norigins = [\"http://a\"]\n[[sites]]\nkey = \"a\"\norigins = [\"http://b\"]\n",
            5,
            "used twice",
        ),
        (
            "[[sites]]\nkey = \"a\"\norigins = [\"http://a\"]\n[[api_keys]]\nkey = \"0123456789abcdef0123456789\"\nsites = [\"b\"]\n",
            6,
            "`b`",
        ),
        (
            "[[sites]]\nkey = \"a\"\norigins = [\"http://a\"]\n[[api_keys]]\nkey = \"short\"\nsites = [\"a\"]\n",
            5,
            "at least 24",
        ),
        (
            "[[sites]]\nkey = \"a\"\norigins = [\"http://a\"]\n[identity]\ntoken_ttl = \"366d\"\n",
            5,
            "365 days",
        ),
        (
            "[server]\nbody_timeout = \"100ms\"\n[[sites]]\nkey = \"a\"\norigins = [\"http://a\"]\n",
            2,
            "at least 1s",
        ),
        (
            "[[sites]]\nkey = \"a\"\norigins = [\"http://a\"]\n[[api_keys]]\nkey = \"0123456789abcdef0123456789\"\nsites = [\"a\"]\n[[api_keys]]\nkey = \"0123456789abcdef0123456789\"\nsites = [\"a\"]\n",
            7,
            "earlier [[api_keys]] entry",
        ),
    ];
    for (text, line, needle) in cases {
        let err = parse(text).expect_err(text);
        assert_eq!(err.line(), Some(*line), "{text:?} gave {err}");
        let message = err.to_string();
        assert!(message.starts_with("edge.toml:"), "{message}");
        assert!(message.contains(needle), "{message} lacks {needle}");
    }
}

#[test]
fn a_redis_ca_file_needs_a_tls_url_and_follows_the_file() {
    let redis = |url: &str| {
        format!(
            "[server]\nsecret = \"0123456789abcdef0123456789\"\n{MINIMAL}[storage]\nbackend = \"redis\"\n\
             [storage.redis]\nurls = [\"{url}\"]\nca_file = \"ca.pem\"\n"
        )
    };
    let err = parse(&redis("redis://cache:6379")).expect_err("plain redis");
    assert!(err.to_string().contains("rediss://"), "{err}");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("edge.toml");
    std::fs::write(&path, redis("rediss://cache:6380")).expect("write");
    let config = Config::load(&path).expect("valid");
    let ca = config.storage.redis.and_then(|r| r.into_inner().ca_file);
    assert_eq!(ca, Some(dir.path().join("ca.pem")));
}

#[test]
fn a_file_without_sites_is_refused() {
    let err = parse("[server]\nlisten = \"127.0.0.1:0\"\n").expect_err("no sites");
    assert!(err.to_string().contains("[[sites]]"), "{err}");
}

#[test]
fn zero_rates_are_refused() {
    let text = format!("{MINIMAL}\n[limits.per_ip]\nper_second = 0\nburst = 1\n");
    let err = parse(&text).expect_err("zero rate");
    assert!(err.to_string().contains("limits.per_ip"), "{err}");
}

#[test]
fn prefix_lengths_beyond_the_family_are_refused_with_the_key() {
    let text = format!("{MINIMAL}\n[limits]\nipv6_prefix = 129\n");
    let err = parse(&text).expect_err("too long");
    assert!(err.to_string().contains("limits.ipv6_prefix"), "{err}");
    let text = format!("{MINIMAL}\n[limits]\nipv4_prefix = 24\nipv6_prefix = 56\n");
    let config = parse(&text).expect("within range");
    assert_eq!(
        (config.limits.ipv4_prefix, config.limits.ipv6_prefix),
        (24, 56)
    );
}

#[test]
fn retention_has_stated_defaults_and_refuses_what_would_lose_everything() {
    let config = parse(MINIMAL).expect("minimal");
    let retention = &config.retention;
    assert!(retention.enabled);
    assert_eq!(retention.anonymous_visitors.0.as_secs(), 90 * 86_400);
    assert_eq!(retention.people.0.as_secs(), 760 * 86_400);
    assert_eq!(retention.keep_stages, ["opportunity", "customer"]);
    for (line, key) in [
        (
            "anonymous_visitors = \"1h\"",
            "retention.anonymous_visitors",
        ),
        ("keep_stages = [\"vip\"]", "retention.keep_stages"),
    ] {
        let text = format!("{MINIMAL}\n[retention]\n{line}\n");
        let err = parse(&text).expect_err(line);
        assert!(err.to_string().contains(key), "{err}");
    }
    let text = format!("{MINIMAL}\n[retention]\npeople = \"25months\"\n");
    let config = parse(&text).expect("months");
    assert!(config.retention.people.0.as_secs() > 750 * 86_400);
}

#[test]
fn relative_paths_follow_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("edge.toml");
    let text = format!("{MINIMAL}\n[storage]\ndata_dir = \"state\"\n[demo]\nsite_dir = \"site\"\n");
    std::fs::write(&path, text).expect("write");
    let config = Config::load(&path).expect("valid");
    assert_eq!(config.storage.data_dir, dir.path().join("state"));
    assert_eq!(
        config.demo.map(|d| d.site_dir),
        Some(dir.path().join("site"))
    );
}

#[test]
fn a_missing_file_says_which() {
    let err = Config::load(Path::new("/nonexistent/edge.toml")).expect_err("missing");
    assert!(
        err.to_string()
            .starts_with("/nonexistent/edge.toml: cannot read"),
        "{err}"
    );
}

/// A broken rule names its line, whether the parser or the rule compiler finds it.
/// Request limits below what the tag sends would refuse real visitors' batches: refused, with
/// the line and the tag's figure.
#[test]
fn limits_below_what_the_tag_sends_are_refused_with_the_line() {
    for (line, key, smallest) in [
        (
            "max_events_per_request = 10",
            "limits.max_events_per_request",
            mikomi_wire::MAX_BATCH,
        ),
        (
            "max_body_bytes = 4096",
            "limits.max_body_bytes",
            mikomi_wire::MAX_BODY,
        ),
    ] {
        let text = format!("{MINIMAL}\n[limits]\n{line}\n");
        let error = parse(&text).expect_err("too small").to_string();
        assert!(
            error.contains("edge.toml:7:") && error.contains(key),
            "{error}"
        );
        assert!(error.contains(&smallest.to_string()), "{error}");
    }
    let at_the_tag = format!(
        "{MINIMAL}\n[limits]\nmax_events_per_request = {}\nmax_body_bytes = {}\n",
        mikomi_wire::MAX_BATCH,
        mikomi_wire::MAX_BODY
    );
    assert!(parse(&at_the_tag).is_ok());
}

/// Past the engine's id capacity per record, one request could make two people with one id.
#[test]
fn more_events_per_request_than_ids_per_record_are_refused_with_the_line() {
    let text = format!(
        "{MINIMAL}\n[limits]\nmax_events_per_request = {}\n",
        MAX_EVENTS_PER_REQUEST + 1
    );
    let error = parse(&text).expect_err("too large").to_string();
    assert!(
        error.contains("edge.toml:7:") && error.contains("limits.max_events_per_request"),
        "{error}"
    );
    assert!(
        error.contains(&MAX_EVENTS_PER_REQUEST.to_string()),
        "{error}"
    );
    let at_the_bound =
        format!("{MINIMAL}\n[limits]\nmax_events_per_request = {MAX_EVENTS_PER_REQUEST}\n");
    assert!(parse(&at_the_bound).is_ok());
}
