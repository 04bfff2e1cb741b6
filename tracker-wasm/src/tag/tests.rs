//! The tag's state machine over a stand-in browser: a clock the test moves, storage shared
//! between page loads, and a record of every request it started. The edge's answers are given
//! by hand, as the browser side would pass them on.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use super::*;

const VID: &str = "vid-from-the-edge-0001";

/// The site's storage: outlives a page, as localStorage does.
type Storage = Rc<RefCell<HashMap<String, String>>>;

struct FakeBrowser {
    clock: Cell<f64>,
    storage: Storage,
    posts: RefCell<Vec<String>>,
    beacons: RefCell<Vec<String>>,
    timers: RefCell<Vec<i32>>,
    /// Whether `post` can start a request at all.
    can_post: Cell<bool>,
}

impl FakeBrowser {
    fn new(storage: &Storage) -> FakeBrowser {
        FakeBrowser {
            clock: Cell::new(1_000_000.0),
            storage: Rc::clone(storage),
            posts: RefCell::new(Vec::new()),
            beacons: RefCell::new(Vec::new()),
            timers: RefCell::new(Vec::new()),
            can_post: Cell::new(true),
        }
    }
}

impl Host for FakeBrowser {
    fn now(&self) -> f64 {
        self.clock.get()
    }
    fn random(&self) -> f64 {
        0.5
    }
    fn href(&self) -> Option<String> {
        Some("https://www.example.jp/pricing".into())
    }
    fn title(&self) -> Option<String> {
        Some("料金".into())
    }
    fn lang(&self) -> Option<String> {
        Some("ja".into())
    }
    fn load(&self, key: &str) -> Option<String> {
        self.storage.borrow().get(key).cloned()
    }
    fn store(&self, key: &str, value: Option<&str>) {
        let mut storage = self.storage.borrow_mut();
        match value {
            Some(v) => storage.insert(key.into(), v.into()),
            None => storage.remove(key),
        };
    }
    fn keep_vid(&self, vid: Option<&str>) {
        self.store("mk_vid", vid);
    }
    fn post(&self, _url: &str, body: &str) -> bool {
        if self.can_post.get() {
            self.posts.borrow_mut().push(body.into());
        }
        self.can_post.get()
    }
    fn beacon(&self, _url: &str, body: &str) -> bool {
        self.beacons.borrow_mut().push(body.into());
        true
    }
    fn later(&self, ms: i32) {
        self.timers.borrow_mut().push(ms);
    }
}

/// A page load: the tag as `start` makes it, with its first page view sent.
fn load_page(storage: &Storage) -> Tag<FakeBrowser> {
    let browser = FakeBrowser::new(storage);
    let stored = browser.load("mk_vid");
    let (mut tag, _) = Tag::new(
        browser,
        "demo".into(),
        "https://edge/v1/collect".into(),
        stored,
    )
    .expect("a page with a URL");
    let url = tag.url.clone();
    let ts = tag.host.now() as u64;
    tag.push(&Event::Pageview {
        url,
        referrer: None,
        title: tag.host.title(),
        ts,
    });
    tag
}

fn posts(tag: &Tag<FakeBrowser>) -> Vec<String> {
    tag.host.posts.borrow().clone()
}

fn accept(tag: &mut Tag<FakeBrowser>) {
    assert!(tag.answer(200, None, Some(VID.into()), true));
}

fn track(tag: &mut Tag<FakeBrowser>, name: &str) {
    let url = tag.url.clone();
    tag.push(&Event::Track {
        name: name.into(),
        url,
        props: Vec::new(),
        ts: 1,
    });
}

#[test]
fn an_accepted_page_view_keeps_the_id_and_leaves_nothing_waiting() {
    let storage = Storage::default();
    let mut tag = load_page(&storage);
    let sent = posts(&tag);
    assert_eq!(sent.len(), 1);
    assert!(sent[0].contains("\"vid\":null") && sent[0].contains("\"type\":\"pageview\""));
    accept(&mut tag);
    assert_eq!(
        storage.borrow().get("mk_vid").map(String::as_str),
        Some(VID)
    );
    assert!(!storage.borrow().contains_key(QUEUE_KEY));
    // The next event carries the id.
    track(&mut tag, "demo");
    tag.tick();
    assert!(posts(&tag)[1].contains(&format!("\"vid\":\"{VID}\"")));
}

#[test]
fn a_failed_delivery_is_retried_after_the_backoff_and_nothing_is_lost() {
    let storage = Storage::default();
    let mut tag = load_page(&storage);
    accept(&mut tag);
    track(&mut tag, "first");
    tag.tick();
    assert_eq!(posts(&tag).len(), 2);
    // A network error: the batch stays, a retry is scheduled, nothing is sent meanwhile.
    assert!(!tag.answer(0, None, None, false));
    let delay = *tag.host.timers.borrow().last().expect("a retry timer");
    assert_eq!(
        delay, 750,
        "half the first delay plus half of it, for jitter 0.5"
    );
    track(&mut tag, "second");
    tag.tick();
    assert_eq!(posts(&tag).len(), 2, "nothing before the retry is due");
    // The waiting events are kept in storage meanwhile (an id is known).
    let stored = storage.borrow().get(QUEUE_KEY).cloned().unwrap_or_default();
    assert!(
        stored.contains("first") && stored.contains("second"),
        "{stored}"
    );
    // The retry sends both, in order.
    tag.host.clock.set(tag.host.now() + f64::from(delay));
    tag.tick();
    let retry = posts(&tag).pop().expect("the retry");
    let (first, second) = (retry.find("first"), retry.find("second"));
    assert!(first.is_some() && first < second, "{retry}");
    accept(&mut tag);
    assert!(!storage.borrow().contains_key(QUEUE_KEY));
}

#[test]
fn events_queued_offline_are_sent_by_the_next_page() {
    let storage = Storage::default();
    let mut tag = load_page(&storage);
    accept(&mut tag);
    tag.host.can_post.set(false);
    track(&mut tag, "offline-1");
    track(&mut tag, "offline-2");
    tag.tick();
    assert_eq!(posts(&tag).len(), 1, "no request could start");
    drop(tag);
    // The next page starts with the events the last one kept, and the same id.
    let next = load_page(&storage);
    let sent = posts(&next);
    assert_eq!(sent.len(), 1);
    assert!(sent[0].contains("offline-1") && sent[0].contains("offline-2"));
    assert!(sent[0].contains(&format!("\"vid\":\"{VID}\"")));
}

#[test]
fn withdrawn_consent_drops_the_id_and_every_waiting_event() {
    let storage = Storage::default();
    let mut tag = load_page(&storage);
    accept(&mut tag);
    tag.host.can_post.set(false);
    track(&mut tag, "before-withdrawal");
    tag.set_consent(false);
    assert!(tag.queue.is_empty());
    let kept = storage.borrow().clone();
    assert_eq!(kept.get(CONSENT_KEY).map(String::as_str), Some("0"));
    assert!(!kept.contains_key("mk_vid") && !kept.contains_key(QUEUE_KEY));
    // A later page of the same visitor keeps no id either.
    let next = load_page(&storage);
    assert_eq!(next.vid, None);
    assert!(posts(&next)[0].contains("\"vid\":null"));
    assert!(posts(&next)[0].contains("\"consent\":false"));
}

#[test]
fn an_id_the_edge_does_not_trust_is_dropped_and_the_batch_sent_once_without() {
    let storage = Storage::default();
    storage
        .borrow_mut()
        .insert("mk_vid".into(), "forged-id-000000".into());
    let mut tag = load_page(&storage);
    assert!(posts(&tag)[0].contains("forged-id-000000"));
    tag.answer(400, Some("invalid_visitor_id".into()), None, true);
    assert!(!storage.borrow().contains_key("mk_vid"));
    let again = posts(&tag);
    assert_eq!(again.len(), 2);
    assert!(again[1].contains("\"vid\":null") && again[1].contains("pageview"));
    // Refused again: dropped, not sent forever.
    tag.answer(400, Some("invalid_visitor_id".into()), None, true);
    assert!(tag.queue.is_empty());
}

#[test]
fn a_batch_refused_for_one_event_loses_only_that_event() {
    let storage = Storage::default();
    let mut tag = load_page(&storage);
    accept(&mut tag);
    tag.host.can_post.set(false);
    for name in ["a", "b", "bad", "c"] {
        track(&mut tag, name);
    }
    tag.host.can_post.set(true);
    tag.page_event(PageEvent::Online);
    let mut delivered = Vec::new();
    for _ in 0..10 {
        let Some(body) = posts(&tag).pop() else { break };
        if tag.queue.is_empty() {
            break;
        }
        if body.contains("\"name\":\"bad\"") {
            tag.answer(400, Some("invalid_event".into()), None, true);
        } else {
            delivered.push(body);
            accept(&mut tag);
        }
    }
    let all = delivered.join("\n");
    for name in ["\"a\"", "\"b\"", "\"c\""] {
        assert!(all.contains(name), "{name} lost: {all}");
    }
    assert!(!all.contains("\"bad\""));
    assert!(tag.queue.is_empty());
}

#[test]
fn a_hidden_page_beacons_what_waits_and_page_events_map_from_their_codes() {
    let storage = Storage::default();
    let mut tag = load_page(&storage);
    accept(&mut tag);
    tag.page_event(PageEvent::Visible);
    track(&mut tag, "late");
    tag.host.clock.set(tag.host.now() + 5_000.0);
    tag.page_event(PageEvent::Hidden);
    let beacons = tag.host.beacons.borrow().clone();
    assert_eq!(beacons.len(), 1);
    assert!(beacons[0].contains("late") && beacons[0].contains("engagement"));
    assert!(beacons[0].contains("\"ms\":5000"), "{}", beacons[0]);
    assert_eq!(PageEvent::from_code(0), Some(PageEvent::Visible));
    assert_eq!(PageEvent::from_code(3), Some(PageEvent::Online));
    assert_eq!(PageEvent::from_code(4), None);
}
