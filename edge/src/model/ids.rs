//! Ids that a log record creates (new people, webhook events) are made from the record's log
//! position and a counter within the record, so every node and every replay makes the same ones
//! without coordination. Each kind of id counts on its own.

use super::person::PersonId;

/// Ids of one kind a single record may make. Ids stay below 2^53 (exact in JavaScript clients)
/// while the log holds fewer than 2^41 records.
pub const IDS_PER_RECORD: u64 = 4096;

/// The most events one collect may carry: each can make one person and one webhook event, and
/// the record as a whole one more event (an MQL promotion). `limits.max_events_per_request` is
/// refused above it.
pub const MAX_EVENTS_PER_RECORD: usize = (IDS_PER_RECORD - 2) as usize;

// The configuration cannot ask for more events per request than a record has ids for: checked
// when the edge is compiled.
const _: () = assert!(crate::config::MAX_EVENTS_PER_REQUEST <= MAX_EVENTS_PER_RECORD);

/// The ids of the record at `seq`. Each id depends only on the record and on the position of
/// what makes it: the person created by the batch's event `i`, the webhook event of the
/// record's decision `i`, one more event for the record as a whole. Whether a lookup found a
/// person or a replay skipped one (a fuzzy snapshot already held it) cannot move another id.
#[derive(Debug)]
pub struct RecordIds {
    seq: u64,
    /// Store format 2's counters, which made ids in the order they were asked for: only for
    /// replaying format 2 logs once, to migrate them.
    format_2: Option<Format2Counters>,
}

#[derive(Debug, Default)]
struct Format2Counters {
    people: u64,
    events: u64,
}

impl RecordIds {
    pub fn new(seq: u64) -> RecordIds {
        RecordIds {
            seq,
            format_2: None,
        }
    }

    /// The ids store format 2 gave the record at `seq`: 16 people and 64 events per record,
    /// counted as they were made, the last id reused past them. Only for replaying format 2
    /// logs into the format they migrate to, so that people keep the ids CRMs already hold.
    pub fn format_2(seq: u64) -> RecordIds {
        RecordIds {
            seq,
            format_2: Some(Format2Counters::default()),
        }
    }

    /// The log position of the record.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The person the batch's event at `event_index` creates.
    pub fn person(&mut self, event_index: usize) -> PersonId {
        let seq = self.seq;
        PersonId(match &mut self.format_2 {
            Some(counters) => format_2_id(seq, 16, &mut counters.people),
            None => self.at(event_index as u64),
        })
    }

    /// The webhook event of the record's decision at `decision_index` (an admin change is one
    /// decision).
    pub fn event(&mut self, decision_index: usize) -> u64 {
        let seq = self.seq;
        match &mut self.format_2 {
            Some(counters) => format_2_id(seq, 64, &mut counters.events),
            None => {
                assert!(
                    (decision_index as u64) < IDS_PER_RECORD - 1,
                    "record {seq}: decision {decision_index} is past the ids of a record"
                );
                self.at(decision_index as u64)
            }
        }
    }

    /// The one webhook event of the record as a whole (an MQL promotion): the last id.
    pub fn record_event(&mut self) -> u64 {
        let seq = self.seq;
        match &mut self.format_2 {
            Some(counters) => format_2_id(seq, 64, &mut counters.events),
            None => self.at(IDS_PER_RECORD - 1),
        }
    }

    /// The alert the record raises as its `index`th (alerts are their own kind of id: they
    /// live in their own table, apart from webhook events).
    pub fn alert(&self, index: usize) -> u64 {
        self.at(index as u64)
    }

    fn at(&self, index: u64) -> u64 {
        // The configured limits keep every index below the capacity (checked when the
        // configuration is read); an id past it would belong to the next record.
        assert!(
            index < IDS_PER_RECORD,
            "record {}: index {index} is past the {IDS_PER_RECORD} ids of a record",
            self.seq
        );
        self.seq * IDS_PER_RECORD + index
    }
}

/// Format 2's formula: `seq * per_record + n`, n counting up and stopping at the last.
fn format_2_id(seq: u64, per_record: u64, counter: &mut u64) -> u64 {
    let id = seq * per_record + (*counter).min(per_record - 1);
    *counter += 1;
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_depend_on_position_only_and_stay_below_the_next_records() {
        let mut ids = RecordIds::new(7);
        assert_eq!(ids.person(3).0, 7 * IDS_PER_RECORD + 3);
        assert_eq!(
            ids.person(3).0,
            7 * IDS_PER_RECORD + 3,
            "asked again, the same"
        );
        assert_eq!(ids.person(0).0, 7 * IDS_PER_RECORD, "no counter moved");
        assert_eq!(
            ids.event(0),
            7 * IDS_PER_RECORD,
            "events count on their own"
        );
        assert_eq!(ids.record_event(), 8 * IDS_PER_RECORD - 1);
        assert!(ids.record_event() < RecordIds::new(8).person(0).0);
    }

    #[test]
    #[should_panic(expected = "past the ids of a record")]
    fn a_decision_past_the_capacity_stops_rather_than_taking_the_records_own_event() {
        RecordIds::new(1).event(IDS_PER_RECORD as usize - 1);
    }

    /// Format 2 ids, as that format made them (the 17th person of a record reused the 16th's
    /// id), and always below the ids the current format gives later records.
    #[test]
    fn format_2_ids_are_reproduced_and_stay_below_current_ones() {
        let mut ids = RecordIds::format_2(3);
        let people: Vec<u64> = (0..17).map(|i| ids.person(i * 5).0).collect();
        assert_eq!(people[0], 48);
        assert_eq!(people[15], 63);
        assert_eq!(people[16], 63, "format 2 reused the last id");
        assert_eq!(ids.event(9), 3 * 64, "counted, whatever the position");
        assert_eq!(ids.record_event(), 3 * 64 + 1);
        assert!(3 * 64 + 63 < RecordIds::new(4).person(0).0);
    }
}
