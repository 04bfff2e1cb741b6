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
    people: u64,
    events: u64,
}

impl RecordIds {
    pub fn new(seq: u64) -> RecordIds {
        RecordIds {
            seq,
            people: 0,
            events: 0,
        }
    }

    /// The log position of the record.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    pub fn person(&mut self) -> PersonId {
        PersonId(self.take(Kind::Person))
    }

    pub fn event(&mut self) -> u64 {
        self.take(Kind::Event)
    }

    fn take(&mut self, kind: Kind) -> u64 {
        let counter = match kind {
            Kind::Person => &mut self.people,
            Kind::Event => &mut self.events,
        };
        // The configured limits keep every record below the capacity (checked when the
        // configuration is read); running past it would reuse an id, which must never happen.
        assert!(
            *counter < IDS_PER_RECORD,
            "record {} made more than {IDS_PER_RECORD} ids of one kind",
            self.seq
        );
        let id = self.seq * IDS_PER_RECORD + *counter;
        *counter += 1;
        id
    }
}

enum Kind {
    Person,
    Event,
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
}
