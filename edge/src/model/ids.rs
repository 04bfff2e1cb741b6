//! Ids that a log record creates (new people, webhook events) are made from the record's log
//! position and a counter within the record, so every node and every replay makes the same ones
//! without coordination. Each kind of id counts on its own.

use super::person::PersonId;

/// Ids of one kind a single record may make. `seq * IDS_PER_RECORD` stays far below 2^53 (ids
/// shown to JavaScript clients stay exact) for the first 2^41 records.
pub const IDS_PER_RECORD: u64 = 4096;

/// The most events one collect may carry: each can make one person and one webhook event, and
/// the record as a whole one more event (an MQL promotion). `limits.max_events_per_request` is
/// refused above it.
pub const MAX_EVENTS_PER_RECORD: usize = (IDS_PER_RECORD - 2) as usize;

// The configuration cannot ask for more events per request than a record has ids for: checked
// when the edge is compiled.
const _: () = assert!(crate::config::MAX_EVENTS_PER_REQUEST <= MAX_EVENTS_PER_RECORD);

/// The ids of the record at `seq`, handed out in order.
#[derive(Debug)]
pub struct RecordIds {
    seq: u64,
    people: Counter,
    events: Counter,
}

#[derive(Debug)]
struct Counter {
    per_record: u64,
    next: u64,
    /// Store format 2 made ids this way, reusing the last one past the capacity; only its
    /// records, replayed once to migrate them, are given ids like that.
    reuse_last: bool,
}

impl Counter {
    fn take(&mut self, seq: u64) -> u64 {
        let index = if self.next < self.per_record {
            self.next
        } else {
            // The configured limits keep every record of this format below the capacity
            // (checked when the configuration is read); reusing an id must never happen.
            assert!(
                self.reuse_last,
                "record {seq} made more than {} ids of one kind",
                self.per_record
            );
            self.per_record - 1
        };
        self.next += 1;
        seq * self.per_record + index
    }
}

impl RecordIds {
    pub fn new(seq: u64) -> RecordIds {
        let counter = || Counter {
            per_record: IDS_PER_RECORD,
            next: 0,
            reuse_last: false,
        };
        RecordIds {
            seq,
            people: counter(),
            events: counter(),
        }
    }

    /// The ids store format 2 gave the record at `seq`: 16 people and 64 events per record, the
    /// last id reused past them. Only for replaying format-2 logs into the format they migrate
    /// to, so that people keep the ids CRMs already hold.
    pub fn format_2(seq: u64) -> RecordIds {
        let counter = |per_record| Counter {
            per_record,
            next: 0,
            reuse_last: true,
        };
        RecordIds {
            seq,
            people: counter(16),
            events: counter(64),
        }
    }

    /// The log position of the record.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    pub fn person(&mut self) -> PersonId {
        PersonId(self.people.take(self.seq))
    }

    pub fn event(&mut self) -> u64 {
        self.events.take(self.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_of_one_record_are_distinct_and_below_the_next_records() {
        let mut ids = RecordIds::new(7);
        let people: Vec<u64> = (0..IDS_PER_RECORD).map(|_| ids.person().0).collect();
        let mut unique = people.clone();
        unique.dedup();
        assert_eq!(unique.len(), IDS_PER_RECORD as usize);
        assert!(people.iter().all(|id| *id < RecordIds::new(8).person().0));
        assert_eq!(ids.event(), 7 * IDS_PER_RECORD, "events count on their own");
    }

    #[test]
    #[should_panic(expected = "more than 4096 ids")]
    fn running_past_the_capacity_stops_rather_than_reusing_an_id() {
        let mut ids = RecordIds::new(1);
        for _ in 0..=IDS_PER_RECORD {
            ids.event();
        }
    }

    /// Format 2 ids, as that format made them (the 17th person of a record reused the 16th's
    /// id), and always below the ids the current format gives later records.
    #[test]
    fn format_2_ids_are_reproduced_and_stay_below_current_ones() {
        let mut ids = RecordIds::format_2(3);
        let people: Vec<u64> = (0..17).map(|_| ids.person().0).collect();
        assert_eq!(people[0], 48);
        assert_eq!(people[15], 63);
        assert_eq!(people[16], 63, "format 2 reused the last id");
        assert_eq!(ids.event(), 3 * 64);
        assert!(63 < RecordIds::new(4).person().0);
    }
}
