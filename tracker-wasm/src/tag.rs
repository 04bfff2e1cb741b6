//! The tag's state machine for one page: the queue and its delivery (batching, one request in
//! flight, retries with backoff, splitting a refused batch), the visitor id, consent and page
//! views. It runs over a [`Host`], the browser in the tag (`web`) and a stand-in in the tests,
//! so all of it is tested natively.

use crate::delivery::{Outcome, backoff_ms, classify};
use crate::event::{Event, MAX_BATCH, Page, payload};
use crate::queue::Queue;
use crate::url::{TOKEN_PARAM, take_param, valid_vid};

/// localStorage key of the waiting events.
pub const QUEUE_KEY: &str = "mk_q";
/// localStorage key of the visitor's consent choice ("1" or "0").
pub const CONSENT_KEY: &str = "mk_consent";

/// What the tag needs of the browser.
pub trait Host {
    /// Milliseconds since the epoch.
    fn now(&self) -> f64;
    /// A number in `[0, 1)`, for the retry jitter.
    fn random(&self) -> f64;
    /// The page's current URL.
    fn href(&self) -> Option<String>;
    /// The page's title.
    fn title(&self) -> Option<String>;
    /// The page's language (`<html lang>`).
    fn lang(&self) -> Option<String>;
    /// A value kept in the site's storage.
    fn load(&self, key: &str) -> Option<String>;
    /// Keeps `value` under `key`, or removes the key for `None`.
    fn store(&self, key: &str, value: Option<&str>);
    /// Keeps (or, with `None`, removes) the visitor id in every first-party place.
    fn keep_vid(&self, vid: Option<&str>);
    /// Posts a body; the answer comes back through [`Tag::answer`]. False when the request
    /// could not even be started.
    fn post(&self, url: &str, body: &str) -> bool;
    /// Queues a body with the browser, which sends it even after the page has gone.
    fn beacon(&self, url: &str, body: &str) -> bool;
    /// Calls [`Tag::tick`] after `ms` milliseconds.
    fn later(&self, ms: i32);
}

/// What happened to the page (the browser side's listeners report these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageEvent {
    /// It became visible.
    Visible,
    /// It was hidden, or is going away.
    Hidden,
    /// Its URL may have changed (popstate, hashchange).
    UrlChanged,
    /// The browser is back online.
    Online,
}

impl PageEvent {
    /// The number the browser side sends for it (`page_event(n)` in `js/host.js`).
    pub fn from_code(code: u32) -> Option<PageEvent> {
        [
            PageEvent::Visible,
            PageEvent::Hidden,
            PageEvent::UrlChanged,
            PageEvent::Online,
        ]
        .get(code as usize)
        .copied()
    }
}

/// Delay before non-urgent events (engagement, custom events, popup impressions) go out, so
/// that several travel in one request.
pub const BATCH_DELAY_MS: i32 = 1_000;

/// The tag's state for the page, over the browser (or a test's stand-in) that `H` gives it.
pub struct Tag<H: Host> {
    /// The browser.
    pub host: H,
    /// The site key from `data-site`.
    pub site: String,
    /// Absolute URL of the edge's collect endpoint.
    pub collect: String,
    /// The visitor id the edge returned, if it returned one.
    pub vid: Option<String>,
    /// The visitor's choice, once the site has called `mikomi('consent', ...)`.
    pub consent: Option<bool>,
    /// The preview token of the landing URL, sent with every request of this page.
    pub preview: Option<String>,
    /// Events not yet acknowledged.
    pub queue: Queue,
    /// Failed attempts in a row, for the backoff.
    pub attempt: u32,
    /// A backoff timer is pending: nothing is sent before it fires.
    pub waiting: bool,
    /// When the pending retry is due.
    pub retry_at: f64,
    /// A batching timer is pending.
    pub batching: bool,
    /// The batch was already sent again without the visitor id once.
    pub reset_once: bool,
    /// The page as last reported (without `mk_t`).
    pub url: String,
    /// When the page last became visible, while it is visible.
    pub visible_since: Option<f64>,
}

impl<H: Host> Tag<H> {
    /// Whether identifiers and waiting events may be kept in the browser's storage: only once
    /// the edge has returned a visitor id, or the visitor has consented.
    fn may_store(&self) -> bool {
        self.consent != Some(false) && (self.vid.is_some() || self.consent == Some(true))
    }

    /// Keeps the waiting events in the site's storage when storing is allowed (without the
    /// batch in flight when the page is `leaving`: it will arrive), else removes them.
    pub fn save(&self, leaving: bool) {
        if self.may_store() {
            let q = if leaving {
                // What is in flight will arrive (keepalive); storing it would send it twice.
                let mut idle = self.queue.clone();
                idle.ack();
                idle
            } else {
                self.queue.clone()
            };
            if q.is_empty() {
                self.host.store(QUEUE_KEY, None);
            } else {
                self.host.store(QUEUE_KEY, Some(&q.encode()));
            }
        } else {
            self.host.store(QUEUE_KEY, None);
        }
    }

    fn set_vid(&mut self, vid: Option<String>) {
        if self.vid == vid {
            return;
        }
        self.vid = vid;
        self.host.keep_vid(self.vid.as_deref());
    }

    /// The page details a request carries.
    fn page<'a>(&'a self, lang: &'a Option<String>) -> Page<'a> {
        Page {
            consent: self.consent,
            lang: lang.as_deref(),
            preview: self.preview.as_deref(),
        }
    }

    /// Queues an event without sending it.
    pub fn enqueue(&mut self, e: &Event) {
        self.queue.push(e.to_json());
    }

    /// Queues an event and sends it now or after the batching delay.
    pub fn push(&mut self, e: &Event) {
        self.enqueue(e);
        self.save(false);
        if e.is_urgent() {
            self.flush();
        } else if !self.batching {
            self.batching = true;
            self.host.later(BATCH_DELAY_MS);
        }
    }

    /// Sends the next batch unless one is in flight or a retry is pending.
    pub fn flush(&mut self) {
        if self.waiting || self.queue.busy() {
            return;
        }
        let batch = self.queue.take_batch(MAX_BATCH);
        if batch.is_empty() {
            return;
        }
        let lang = self.host.lang();
        let body = payload(&self.site, self.vid.as_deref(), self.page(&lang), &batch);
        if !self.host.post(&self.collect, &body) {
            self.queue.nack();
        }
    }

    /// Sends every waiting event with `sendBeacon`: the page is going away.
    pub fn beacon_all(&mut self) {
        let lang = self.host.lang();
        let mut batches = self.queue.drain_idle(MAX_BATCH).into_iter();
        while let Some(batch) = batches.next() {
            let body = payload(&self.site, self.vid.as_deref(), self.page(&lang), &batch);
            if !self.host.beacon(&self.collect, &body) {
                // The browser's beacon quota is spent: keep the rest for the next page.
                let mut rest = batch;
                rest.extend(batches.flatten());
                self.queue.restore(rest);
                break;
            }
        }
        self.save(true);
    }

    /// The edge's answer: `code` is the error code of an error body, `vid` the visitor id of an
    /// accepted one, `body` whether the answer was JSON at all. Returns whether it was accepted
    /// (and so may carry a popup).
    pub fn answer(
        &mut self,
        status: u16,
        code: Option<String>,
        vid: Option<String>,
        body: bool,
    ) -> bool {
        let outcome = classify(status, code.as_deref());
        match outcome {
            Outcome::Accepted => {
                self.queue.ack();
                self.attempt = 0;
                self.reset_once = false;
                if body {
                    // A null id (opt-in without consent, or a privacy signal honoured): keep
                    // nothing. Otherwise keep the id the edge minted.
                    self.set_vid(vid.filter(|v| valid_vid(v)));
                }
            }
            Outcome::Ignored | Outcome::Drop => {
                self.queue.ack();
                self.attempt = 0;
            }
            Outcome::Split => {
                if !self.queue.split() {
                    // One event the edge cannot take: only it is lost.
                    self.queue.ack();
                }
                self.attempt = 0;
            }
            Outcome::ResetVisitor => {
                self.set_vid(None);
                if self.reset_once {
                    self.queue.ack();
                } else {
                    self.reset_once = true;
                    self.queue.nack();
                }
            }
            Outcome::Retry => {
                self.queue.nack();
                self.attempt = self.attempt.saturating_add(1);
                self.waiting = true;
                let delay = backoff_ms(self.attempt, self.host.random());
                self.retry_at = self.host.now() + f64::from(delay);
                self.host.later(delay as i32);
            }
        }
        self.save(false);
        self.flush();
        outcome == Outcome::Accepted
    }

    /// Milliseconds the page was visible since the last report.
    fn take_visible(&mut self) -> u64 {
        let now = self.host.now();
        let since = self.visible_since.replace(now).unwrap_or(now);
        (now - since).max(0.0) as u64
    }

    fn report_engagement(&mut self) {
        let ms = self.take_visible();
        if ms > 0 {
            let e = Event::Engagement {
                url: self.url.clone(),
                ms,
                ts: self.host.now() as u64,
            };
            self.enqueue(&e);
        }
    }

    /// A page view of the current URL; `force` reports it even when the URL did not change.
    pub fn pageview(&mut self, force: bool) {
        let Some(href) = self.host.href() else { return };
        let (_, url) = take_param(&href, TOKEN_PARAM);
        if url == self.url && !force {
            return;
        }
        if self.visible_since.is_some() {
            self.report_engagement();
        }
        let referrer = std::mem::replace(&mut self.url, url.clone());
        let title = self.host.title();
        self.push(&Event::Pageview {
            url,
            referrer: Some(referrer),
            title,
            ts: self.host.now() as u64,
        });
    }

    fn hidden(&mut self) {
        if self.visible_since.is_some() {
            self.report_engagement();
            self.visible_since = None;
        }
        self.beacon_all();
    }

    /// The visitor's choice; withdrawing it drops the id and every waiting event.
    pub fn set_consent(&mut self, consent: bool) {
        self.consent = Some(consent);
        self.host
            .store(CONSENT_KEY, Some(if consent { "1" } else { "0" }));
        if !consent {
            self.set_vid(None);
            self.queue.clear();
        }
        self.save(false);
    }
}

impl<H: Host> Tag<H> {
    /// The tag for a page that has just loaded: the consent, visitor id (`stored_vid`, from
    /// wherever the host keeps it) and waiting events an earlier page kept, and the landing URL
    /// without its email-click token, which is returned beside the tag for the caller to
    /// report. `None` when the page has no URL.
    pub fn new(
        host: H,
        site: String,
        collect: String,
        stored_vid: Option<String>,
    ) -> Option<(Self, Option<String>)> {
        let href = host.href()?;
        let consent = host.load(CONSENT_KEY).map(|c| c == "1");
        let vid = stored_vid.filter(|v| consent != Some(false) && valid_vid(v));
        let queue = if vid.is_some() || consent == Some(true) {
            host.load(QUEUE_KEY)
                .map(|q| Queue::decode(&q))
                .unwrap_or_default()
        } else {
            Queue::default()
        };
        let (token, url) = take_param(&href, TOKEN_PARAM);
        let tag = Tag {
            host,
            site,
            collect,
            vid,
            consent,
            preview: take_param(&href, crate::url::PREVIEW_PARAM).0,
            queue,
            attempt: 0,
            waiting: false,
            retry_at: 0.0,
            batching: false,
            reset_once: false,
            url,
            visible_since: None,
        };
        Some((tag, token))
    }

    /// A timer fired: the batching delay has passed, and perhaps a retry is due.
    pub fn tick(&mut self) {
        self.batching = false;
        if self.waiting && self.host.now() >= self.retry_at - 1.0 {
            self.waiting = false;
        }
        self.flush();
    }

    /// Something happened to the page.
    pub fn page_event(&mut self, event: PageEvent) {
        match event {
            PageEvent::Visible => self.visible_since = Some(self.host.now()),
            PageEvent::Hidden => self.hidden(),
            PageEvent::UrlChanged => self.pageview(false),
            PageEvent::Online => {
                self.waiting = false;
                self.attempt = 0;
                self.flush();
            }
        }
    }
}

#[cfg(test)]
mod tests;
