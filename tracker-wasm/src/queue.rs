//! The bounded event queue: events wait here (and, when storage is allowed, in localStorage)
//! until the edge has acknowledged them. At most one batch is in flight at a time; it stays at
//! the front of the queue until it is acknowledged, so a failed request loses nothing.

/// Most events kept; beyond this the oldest waiting event is dropped.
pub const CAPACITY: usize = 200;
/// Largest request body the tag builds (the edge's configuration may not go below it).
pub use mikomi_wire::MAX_BODY;

/// Events as written JSON objects, oldest first.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Queue {
    items: Vec<String>,
    /// How many events at the front belong to the request in flight.
    in_flight: usize,
    /// After the edge refused a batch: the most events a request takes until the queue has
    /// been emptied (halved on each refusal, so that the event it refuses ends up alone).
    split_to: Option<usize>,
}

impl Queue {
    /// Adds an event; when full, drops the oldest event that is not in flight.
    pub fn push(&mut self, event: String) {
        if self.items.len() >= CAPACITY {
            if self.in_flight < self.items.len() {
                self.items.remove(self.in_flight);
            } else {
                return;
            }
        }
        self.items.push(event);
    }

    /// Number of events held, in flight or not.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no events are held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether a batch is in flight.
    pub fn busy(&self) -> bool {
        self.in_flight > 0
    }

    /// Starts a request: marks up to `max` events at the front (and at most [`MAX_BODY`]
    /// bytes) as in flight and returns them. Returns nothing while a batch is in flight.
    pub fn take_batch(&mut self, max: usize) -> Vec<String> {
        if self.busy() {
            return Vec::new();
        }
        let max = self.split_to.map_or(max, |s| s.min(max));
        let batch = Self::fit(self.items.iter(), max);
        self.in_flight = batch.len();
        batch
    }

    /// The edge refused the batch in flight for what it holds: keep its events and send them
    /// in halves. Returns false when the batch was a single event, which is then the one the
    /// edge cannot take (the caller drops it).
    pub fn split(&mut self) -> bool {
        if self.in_flight <= 1 {
            return false;
        }
        self.split_to = Some((self.in_flight / 2).max(1));
        self.in_flight = 0;
        true
    }

    /// Takes, for a last beacon as the page goes away, the events not in flight, in batches.
    pub fn drain_idle(&mut self, max: usize) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        loop {
            let batch = Self::fit(self.items.iter().skip(self.in_flight), max);
            if batch.is_empty() {
                return out;
            }
            let start = self.in_flight;
            self.items.drain(start..start + batch.len());
            out.push(batch);
        }
    }

    /// Puts events back (a beacon the browser refused) after those in flight.
    pub fn restore(&mut self, events: Vec<String>) {
        for (i, e) in events.into_iter().enumerate() {
            self.items.insert(self.in_flight + i, e);
        }
        while self.items.len() > CAPACITY {
            self.items.pop();
        }
    }

    /// The request in flight succeeded (or was refused for good): forget its events.
    pub fn ack(&mut self) {
        self.items.drain(..self.in_flight);
        self.in_flight = 0;
        if self.items.is_empty() {
            self.split_to = None;
        }
    }

    /// The request in flight failed: keep its events for the next attempt.
    pub fn nack(&mut self) {
        self.in_flight = 0;
    }

    /// Drops everything (consent withdrawn).
    pub fn clear(&mut self) {
        self.items.clear();
        self.in_flight = 0;
        self.split_to = None;
    }

    fn fit<'a>(items: impl Iterator<Item = &'a String>, max: usize) -> Vec<String> {
        let mut size = 0;
        let mut batch = Vec::new();
        for e in items.take(max) {
            size += e.len() + 1;
            // A single event is always sent; the edge's limits bound its size.
            if size > MAX_BODY && !batch.is_empty() {
                break;
            }
            batch.push(e.clone());
        }
        batch
    }

    /// The queue as stored in localStorage: one event per line (written JSON has no raw
    /// line breaks).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        for (i, e) in self.items.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(e);
        }
        out
    }

    /// Reads a stored queue; lines that are not JSON objects are skipped.
    pub fn decode(stored: &str) -> Queue {
        let mut q = Queue::default();
        for line in stored.lines() {
            if line.starts_with('{') && line.ends_with('}') {
                q.push(line.to_owned());
            }
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(i: usize) -> String {
        let mut s = String::from("{\"n\":");
        crate::json::push_u64(&mut s, i as u64);
        s.push('}');
        s
    }

    #[test]
    fn batches_are_acknowledged_or_kept() {
        let mut q = Queue::default();
        for i in 0..60 {
            q.push(ev(i));
        }
        let b = q.take_batch(50);
        assert_eq!(b.len(), 50);
        assert_eq!(b[0], ev(0));
        assert!(q.take_batch(50).is_empty(), "one request in flight at most");
        q.nack();
        assert_eq!(
            q.take_batch(50),
            b,
            "a failed batch is sent again, in order"
        );
        q.ack();
        assert_eq!(q.len(), 10);
        assert_eq!(q.take_batch(50)[0], ev(50));
    }

    #[test]
    fn the_queue_is_bounded_and_keeps_the_batch_in_flight() {
        let mut q = Queue::default();
        q.push(ev(0));
        let b = q.take_batch(1);
        for i in 1..CAPACITY + 50 {
            q.push(ev(i));
        }
        assert_eq!(q.len(), CAPACITY);
        q.ack();
        assert_eq!(b, vec![ev(0)]);
        // ev(1)..=ev(199) filled the queue; the 50 events after them made way by dropping
        // the oldest idle ones, ev(1)..=ev(50).
        assert_eq!(q.len(), CAPACITY - 1);
        let next = q.take_batch(1);
        assert_eq!(next, vec![ev(51)]);
    }

    /// A batch the edge refuses for one bad event is sent again in halves until the bad event
    /// is alone; every other event is delivered.
    #[test]
    fn a_refused_batch_is_split_until_only_the_refused_event_is_lost() {
        let mut q = Queue::default();
        for i in 0..10 {
            q.push(ev(i));
        }
        let bad = ev(6);
        let mut delivered = Vec::new();
        let mut requests = 0;
        loop {
            let batch = q.take_batch(50);
            if batch.is_empty() {
                break;
            }
            requests += 1;
            assert!(requests < 30, "no progress");
            if batch.contains(&bad) {
                if !q.split() {
                    assert_eq!(batch, std::slice::from_ref(&bad));
                    q.ack();
                }
            } else {
                delivered.extend(batch);
                q.ack();
            }
        }
        let expected: Vec<String> = (0..10).filter(|i| *i != 6).map(ev).collect();
        assert_eq!(delivered, expected);
        // Once the queue is empty, batches are full size again.
        for i in 0..10 {
            q.push(ev(i));
        }
        assert_eq!(q.take_batch(50).len(), 10);
    }

    #[test]
    fn batches_respect_the_body_limit() {
        let mut q = Queue::default();
        let big = format!("{{\"x\":\"{}\"}}", "a".repeat(20 * 1024));
        for _ in 0..5 {
            q.push(big.clone());
        }
        assert_eq!(q.take_batch(50).len(), 2);
    }

    #[test]
    fn beacons_take_only_idle_events() {
        let mut q = Queue::default();
        for i in 0..120 {
            q.push(ev(i));
        }
        let in_flight = q.take_batch(10);
        let batches = q.drain_idle(50);
        assert_eq!(
            batches.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![50, 50, 10]
        );
        assert_eq!(batches[0][0], ev(10));
        assert_eq!(q.len(), 10);
        q.restore(batches.into_iter().last().unwrap_or_default());
        assert_eq!(q.len(), 20);
        q.ack();
        assert_eq!(q.take_batch(50)[0], ev(110));
        assert_eq!(in_flight.len(), 10);
    }

    #[test]
    fn storage_round_trip_skips_garbage() {
        let mut q = Queue::default();
        q.push(ev(1));
        q.push("{\"s\":\"line\\nbreak\"}".into());
        let stored = q.encode() + "\nnot json\n\n";
        assert_eq!(Queue::decode(&stored), q);
        assert!(Queue::decode("").is_empty());
    }
}
