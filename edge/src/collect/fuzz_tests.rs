//! The collect body parser and validator under the mutation fuzzer: any body may be refused,
//! none may panic. The seeds are bodies the tag sends, every event type among them.

use super::validate;
use super::wire::CollectRequest;

fn seeds() -> Vec<Vec<u8>> {
    [
        r#"{"site":"demo","vid":null,"consent":true,"lang":"ja","events":[
            {"type":"pageview","url":"https://example.co.jp/pricing?utm_source=mail&mk_t=x","referrer":"https://www.google.com/","title":"料金","ts":1700000000000},
            {"type":"engagement","url":"https://example.co.jp/pricing","ms":15234},
            {"type":"conversion","form":"brochure","url":"https://example.co.jp/c","fields":{"email":"a@corp.co.jp","name":"佐藤","company":"=HYPERLINK(1)","password":"x","card_number":"4111"}},
            {"type":"popup","rule":"brochure-repeat","variant":"a","action":"submitted"},
            {"type":"identify","token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
            {"type":"track","name":"video_play","props":{"seconds":30,"ok":true,"label":"x","n":null}},
            {"type":"download","url":"https://example.co.jp/","href":"https://example.co.jp/a.pdf"}]}"#,
        r#"{"site":"demo","vid":"L0li2bre2RkbC5rnxhfuplgwCXF4XOj4wiWwBg","events":[{"type":"pageview","url":"http://site.test/"}]}"#,
        r#"{"site":"demo","preview":"tok","events":[{"type":"popup","rule":"r","variant":"b","action":"shown"},{"type":"popup","rule":"r","variant":"b","action":"dismissed"}]}"#,
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

#[test]
fn no_collect_body_panics_the_parser_or_the_validator() {
    let mut valid = 0u64;
    let runs = crate::fuzz::run("collect body", &seeds(), |body| {
        if let Ok(request) = serde_json::from_slice::<CollectRequest>(body)
            && validate::events(request.events).is_ok()
        {
            valid += 1;
        }
    });
    assert!(runs > 0);
    assert!(valid > 0, "the seeds themselves are valid");
}
