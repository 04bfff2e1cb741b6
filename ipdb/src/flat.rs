//! A layer's networks as two sorted arrays, with every record decoded once.
//!
//! A lookup in the file walks its search tree one bit at a time: twenty to thirty nodes spread
//! over megabytes, most of them a cache miss for an address not seen lately, and then it
//! decodes the record (for a GeoLite2-ASN or GeoIP2 file, classifying the name again). Here
//! the same networks sit in address order, per family, in blocks of [`BLOCK`]; the first start
//! of every block sits in a small array that stays in cache, and a table by the address's first
//! sixteen bits says where in it to look. A lookup searches a few of those starts, then one
//! block, and borrows a record decoded when the layer was opened. The answers are the tree's,
//! network for network (a test in `resolver` holds the two to agree on real ASN rows and on
//! MaxMind's test files).
//!
//! Layers too large to copy (a commercial city or enterprise file) keep the tree walk; see
//! [`MAX_NETWORKS`] and [`MAX_RECORDS`].

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::NetworkKind;
use crate::classify::Confidence;
use crate::schema::Partial;

/// Layers with more networks than this are looked up in their tree: the copy costs 12 bytes a
/// network (IPv4) or 24 (IPv6) on top of the file, and its records decoded (about 40 bytes
/// and the record's text each).
pub(crate) const MAX_NETWORKS: usize = 4_000_000;
/// Layers with more distinct records than this are looked up in their tree.
pub(crate) const MAX_RECORDS: usize = 1_000_000;
/// Networks per block: sixteen IPv4 starts fill one cache line.
const BLOCK: usize = 16;

/// The copy of one layer.
pub(crate) struct Flat {
    v4: Table<u32>,
    v6: Table<V6>,
    records: Records,
}

/// What the copy says about an address.
pub(crate) enum Hit<'a> {
    /// The network holding the address, and what its record says.
    Found(Partial<'a>, IpNet),
    /// No network of the layer holds the address.
    Absent,
    /// The copy cannot tell; the tree can (IPv6 addresses the file maps onto its IPv4 tree,
    /// such as 6to4, which the tree answers through aliases that are not copied).
    AskTheTree,
}

impl Flat {
    /// Where `ip` falls. IPv4-mapped IPv6 addresses are expected already turned into IPv4.
    pub(crate) fn lookup(&self, ip: IpAddr) -> Hit<'_> {
        let found = match ip {
            IpAddr::V4(v4) => self
                .v4
                .find(u32::from(v4))
                .map(|e| (e.record, IpNet::new(IpAddr::V4(e.start.into()), e.prefix))),
            IpAddr::V6(v6) => self.v6.find(V6::from(u128::from(v6))).map(|e| {
                (
                    e.record,
                    IpNet::new(IpAddr::V6(u128::from(e.start).into()), e.prefix),
                )
            }),
        };
        match found {
            Some((record, Ok(net))) => match self.records.partial(record) {
                Some(partial) => Hit::Found(partial, net),
                None => Hit::AskTheTree,
            },
            Some((_, Err(_))) => Hit::AskTheTree,
            None if ip.is_ipv6() => Hit::AskTheTree,
            None => Hit::Absent,
        }
    }

    /// Networks held, both families.
    #[cfg(test)]
    pub(crate) fn networks(&self) -> usize {
        self.v4.networks() + self.v6.networks()
    }
}

/// Collects a layer's networks as they are read from its file, then builds the copy.
#[derive(Default)]
pub(crate) struct Builder {
    v4: Vec<Entry<u32>>,
    v6: Vec<Entry<V6>>,
    records: Records,
    /// Record number by the record's offset in the file: networks share records.
    by_offset: HashMap<usize, u32>,
    /// Set when the copy could not answer as the tree does; the layer keeps the tree walk.
    refused: bool,
}

impl Builder {
    /// Whether a network whose record sits at `offset` needs its record decoded.
    pub(crate) fn wants_record(&self, offset: usize) -> bool {
        !self.refused && !self.by_offset.contains_key(&offset)
    }

    /// Adds one network with data. `record` is its decoded record when
    /// [`Builder::wants_record`] said so, else `None`.
    pub(crate) fn add(&mut self, network: IpNet, offset: usize, record: Option<Partial<'_>>) {
        if self.refused {
            return;
        }
        let number = match (self.by_offset.get(&offset), record) {
            (Some(&n), _) => n,
            (None, Some(p)) => {
                let Some(n) = self.records.push(&p) else {
                    return self.refuse();
                };
                self.by_offset.insert(offset, n);
                n
            }
            (None, None) => return self.refuse(),
        };
        match network {
            IpNet::V4(net) => self.v4.push(Entry {
                start: u32::from(net.network()),
                record: number,
                prefix: net.prefix_len(),
            }),
            // A network above the IPv4 subtree (`::/96`) answers IPv4 lookups in the tree,
            // which the IPv4 array would not know.
            IpNet::V6(net) if net.prefix_len() <= 96 && u128::from(net.network()) == 0 => {
                self.refuse()
            }
            IpNet::V6(net) => self.v6.push(Entry {
                start: V6::from(u128::from(net.network())),
                record: number,
                prefix: net.prefix_len(),
            }),
        }
        if self.v4.len() + self.v6.len() > MAX_NETWORKS || self.records.heads.len() > MAX_RECORDS {
            self.refuse();
        }
    }

    /// Gives up the copy: the layer is looked up in its tree.
    pub(crate) fn refuse(&mut self) {
        *self = Builder {
            refused: true,
            ..Builder::default()
        };
    }

    /// The copy, or `None` when it was refused or its networks overlap (a tree's cannot).
    pub(crate) fn finish(self) -> Option<Flat> {
        if self.refused {
            return None;
        }
        Some(Flat {
            v4: Table::new(self.v4)?,
            v6: Table::new(self.v6)?,
            records: self.records,
        })
    }
}

/// One network: where it starts, how long its prefix is, and its record.
struct Entry<K> {
    start: K,
    record: u32,
    prefix: u8,
}

/// The address types of the two families.
trait Key: Copy + Ord {
    /// The largest address, which pads a block's unused starts.
    const MAX: Self;
    /// The address's first sixteen bits, which pick its slot in [`Table::slots`].
    fn top(self) -> usize;
    /// The first address whose first sixteen bits are `top`.
    fn from_top(top: usize) -> Self;
    /// The last address of the network starting at `self` with `prefix` bits.
    fn last(self, prefix: u8) -> Self;
}

impl Key for u32 {
    const MAX: u32 = u32::MAX;
    fn top(self) -> usize {
        (self >> 16) as usize
    }
    fn from_top(top: usize) -> u32 {
        (top as u32) << 16
    }
    fn last(self, prefix: u8) -> u32 {
        self | u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0)
    }
}

/// An IPv6 address as two halves, high first: ordered as the address is, and aligned to 8
/// bytes rather than a `u128`'s 16.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct V6([u64; 2]);

impl From<u128> for V6 {
    fn from(a: u128) -> V6 {
        V6([(a >> 64) as u64, a as u64])
    }
}

impl From<V6> for u128 {
    fn from(V6([high, low]): V6) -> u128 {
        (u128::from(high) << 64) | u128::from(low)
    }
}

impl Key for V6 {
    const MAX: V6 = V6([u64::MAX; 2]);
    fn top(self) -> usize {
        (self.0[0] >> 48) as usize
    }
    fn from_top(top: usize) -> V6 {
        V6([(top as u64) << 48, 0])
    }
    fn last(self, prefix: u8) -> V6 {
        V6::from(u128::from(self) | u128::MAX.checked_shr(u32::from(prefix)).unwrap_or(0))
    }
}

/// [`BLOCK`] consecutive networks, laid out so that a search reads the starts' cache line(s)
/// and then the line beside them: the starts first (one 64-byte line for IPv4), then the
/// records and prefix lengths.
#[repr(C, align(64))]
struct Block<K> {
    starts: [K; BLOCK],
    records: [u32; BLOCK],
    prefixes: [u8; BLOCK],
    /// Networks in use; only the last block holds fewer than [`BLOCK`].
    len: u8,
}

/// One family's networks in address order, in blocks, and the first start of each block.
struct Table<K> {
    blocks: Vec<Block<K>>,
    fences: Vec<K>,
    /// For each value of an address's first sixteen bits, the first block the address can be
    /// in (and, one slot on, the last): the search over `fences` starts narrowed to those,
    /// usually one or two for IPv4.
    slots: Vec<u32>,
}

/// Slots of [`Table::slots`]: one per value of the first sixteen bits, and one past the end.
const SLOTS: usize = (1 << 16) + 1;

impl<K: Key> Table<K> {
    /// `None` if two networks overlap.
    fn new(mut entries: Vec<Entry<K>>) -> Option<Table<K>> {
        entries.sort_unstable_by_key(|e| e.start);
        let disjoint = entries
            .windows(2)
            .all(|w| w[0].start.last(w[0].prefix) < w[1].start);
        if !disjoint {
            return None;
        }
        let blocks: Vec<Block<K>> = entries
            .chunks(BLOCK)
            .map(|chunk| {
                let mut block = Block {
                    starts: [K::MAX; BLOCK],
                    records: [0; BLOCK],
                    prefixes: [0; BLOCK],
                    len: chunk.len() as u8,
                };
                for (i, e) in chunk.iter().enumerate() {
                    block.starts[i] = e.start;
                    block.records[i] = e.record;
                    block.prefixes[i] = e.prefix;
                }
                block
            })
            .collect();
        let fences: Vec<K> = blocks.iter().map(|b| b.starts[0]).collect();
        let slots = (0..SLOTS)
            .map(|top| {
                let first = if top < SLOTS - 1 {
                    K::from_top(top)
                } else {
                    K::MAX
                };
                let blocks_at_or_below = fences.partition_point(|f| *f <= first);
                u32::try_from(blocks_at_or_below.saturating_sub(1)).ok()
            })
            .collect::<Option<Vec<u32>>>()?;
        Some(Table {
            blocks,
            fences,
            slots,
        })
    }

    #[cfg(test)]
    fn networks(&self) -> usize {
        self.blocks.iter().map(|b| usize::from(b.len)).sum()
    }

    /// The network holding `key`.
    fn find(&self, key: K) -> Option<Entry<K>> {
        // The key's block is among those from the one holding the first address of its slot
        // to the one holding the first address of the next.
        let from = *self.slots.get(key.top())? as usize;
        let to = (*self.slots.get(key.top() + 1)? as usize + 1).min(self.fences.len());
        let fences = self.fences.get(from..to)?;
        let block = from + fences.partition_point(|s| *s <= key).checked_sub(1)?;
        let block = self.blocks.get(block)?;
        // Counting the starts at or below the key finds the last of them without a branch
        // per step (the padding is the largest address, so it is never counted but for it).
        let at_or_below = block.starts.iter().filter(|s| **s <= key).count();
        let i = at_or_below.min(usize::from(block.len)).checked_sub(1)?;
        let entry = Entry {
            start: *block.starts.get(i)?,
            record: *block.records.get(i)?,
            prefix: *block.prefixes.get(i)?,
        };
        (key <= entry.start.last(entry.prefix)).then_some(entry)
    }
}

/// The fields of a [`Partial`], in the order their text is kept.
const FIELDS: usize = 5;

/// A record decoded once. Its strings sit back to back in the copy's text, so a lookup reads
/// this small head and one run of text rather than a heap allocation per field.
struct Record {
    /// Where the record's text starts in [`Records::text`].
    text: u32,
    /// Where each field's text ends, from `text`; a field is absent when its bit in
    /// `present` is clear.
    ends: [u16; FIELDS],
    present: u8,
    kind: Option<NetworkKind>,
    confidence: Confidence,
    employees: Option<u32>,
    asn: Option<u32>,
}

/// Every record of a layer, decoded.
#[derive(Default)]
struct Records {
    heads: Vec<Record>,
    text: String,
}

impl Records {
    /// Keeps `p`; `None` when its text does not fit the head's 16-bit offsets or the copy's
    /// text its 32-bit ones (no real record comes near either).
    fn push(&mut self, p: &Partial<'_>) -> Option<u32> {
        let number = u32::try_from(self.heads.len()).ok()?;
        let start = self.text.len();
        let text = u32::try_from(start).ok()?;
        let fields = [p.name, p.domain, p.industry, p.country, p.as_org];
        let (mut ends, mut present) = ([0u16; FIELDS], 0u8);
        for (i, field) in fields.into_iter().enumerate() {
            if let Some(value) = field {
                self.text.push_str(value);
                present |= 1 << i;
            }
            ends[i] = u16::try_from(self.text.len() - start).ok()?;
        }
        u32::try_from(self.text.len()).ok()?;
        self.heads.push(Record {
            text,
            ends,
            present,
            kind: p.kind,
            confidence: p.confidence,
            employees: p.employees,
            asn: p.asn,
        });
        Some(number)
    }

    fn partial(&self, number: u32) -> Option<Partial<'_>> {
        let r = self.heads.get(number as usize)?;
        let text = self.text.get(r.text as usize..)?;
        let mut fields = [None; FIELDS];
        let mut from = 0;
        for (i, slot) in fields.iter_mut().enumerate() {
            let to = usize::from(r.ends[i]);
            if r.present & (1 << i) != 0 {
                *slot = Some(text.get(from..to)?);
            }
            from = to;
        }
        let [name, domain, industry, country, as_org] = fields;
        Some(Partial {
            name,
            domain,
            industry,
            employees: r.employees,
            country,
            asn: r.asn,
            as_org,
            kind: r.kind,
            confidence: r.confidence,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(nets: &[&str]) -> Option<Table<u32>> {
        let entries = nets
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let n: ipnet::Ipv4Net = n.parse().expect("network");
                Entry {
                    start: u32::from(n.network()),
                    record: i as u32,
                    prefix: n.prefix_len(),
                }
            })
            .collect();
        Table::new(entries)
    }

    fn at(t: &Table<u32>, ip: &str) -> Option<u32> {
        let ip: std::net::Ipv4Addr = ip.parse().expect("address");
        t.find(u32::from(ip)).map(|e| e.record)
    }

    #[test]
    fn records_keep_every_field_and_tell_absent_from_empty() {
        let mut records = Records::default();
        let full = Partial {
            name: Some("見込み商事株式会社"),
            domain: Some("mikomi-shoji.example"),
            industry: Some(""),
            employees: Some(250),
            country: Some("JP"),
            asn: Some(64500),
            as_org: None,
            kind: Some(NetworkKind::Business),
            confidence: Confidence::High,
        };
        let a = records.push(&full).expect("fits");
        let b = records.push(&Partial::default()).expect("fits");
        assert_eq!(records.partial(a), Some(full));
        assert_eq!(records.partial(b), Some(Partial::default()));
        assert_eq!(records.partial(2), None);
        let long = "x".repeat(70_000);
        let too_long = Partial {
            name: Some(&long),
            ..Partial::default()
        };
        assert_eq!(records.push(&too_long), None);
    }

    #[test]
    fn finds_the_network_holding_an_address_and_nothing_in_the_gaps() {
        // More than a block's worth, so the search crosses blocks and ends in a short one.
        let mut nets: Vec<String> = (0..100).map(|i| format!("10.{i}.0.0/24")).collect();
        nets.push("0.0.0.0/8".into());
        nets.push("255.255.255.255/32".into());
        let refs: Vec<&str> = nets.iter().map(String::as_str).collect();
        let t = table(&refs).expect("disjoint");
        assert_eq!(at(&t, "10.0.0.0"), Some(0));
        assert_eq!(at(&t, "10.41.0.255"), Some(41));
        assert_eq!(at(&t, "10.41.1.0"), None);
        assert_eq!(at(&t, "10.99.0.7"), Some(99));
        assert_eq!(at(&t, "0.1.2.3"), Some(100));
        assert_eq!(at(&t, "9.255.255.255"), None);
        assert_eq!(at(&t, "255.255.255.255"), Some(101));
        assert_eq!(at(&t, "255.255.255.254"), None);
    }

    #[test]
    fn the_whole_space_and_the_empty_table() {
        let all = table(&["0.0.0.0/0"]).expect("one network");
        assert_eq!(at(&all, "0.0.0.0"), Some(0));
        assert_eq!(at(&all, "255.255.255.255"), Some(0));
        let empty = table(&[]).expect("no networks");
        assert_eq!(at(&empty, "1.2.3.4"), None);
    }

    #[test]
    fn ipv6_halves_keep_the_order_and_the_last_address() {
        let a = V6::from(0x2001_0db8_u128 << 96);
        let b = V6::from((0x2001_0db8_u128 << 96) | 1);
        let c = V6::from(0x2001_0db9_u128 << 96);
        assert!(a < b && b < c);
        assert_eq!(
            u128::from(a.last(32)),
            (0x2001_0db8_u128 << 96) | (u128::MAX >> 32)
        );
        assert_eq!(u128::from(a.last(128)), u128::from(a));
        assert_eq!(u128::from(V6::from(0).last(0)), u128::MAX);
        assert_eq!(std::mem::size_of::<Block<u32>>(), 192);
        assert_eq!(std::mem::size_of::<Block<V6>>(), 384);
    }

    #[test]
    fn overlapping_networks_are_refused() {
        assert!(table(&["10.0.0.0/8", "10.1.0.0/16"]).is_none());
    }
}
