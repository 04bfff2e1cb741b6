//! The binary search tree of a MaxMind DB file, built in memory and serialised.
//!
//! Everything is kept in one IPv6 tree (`ip_version` 6); IPv4 networks live under `::/96` as
//! the spec describes, so one file answers both families. Inputs are disjoint (the CSV readers
//! check overlaps with line numbers), so an insert never has to split an existing record.

use ipnet::IpNet;

/// A child slot: empty, another node, or a record id.
const EMPTY: u32 = u32::MAX;
const DATA: u32 = 1 << 31;

/// The tree under construction.
pub struct Tree {
    nodes: Vec<[u32; 2]>,
}

impl Default for Tree {
    fn default() -> Self {
        Tree {
            nodes: vec![[EMPTY, EMPTY]],
        }
    }
}

/// The 128-bit key and depth of a network in the IPv6 tree.
fn key(net: &IpNet) -> (u128, u8) {
    match net {
        IpNet::V4(n) => (u128::from(u32::from(n.network())), 96 + n.prefix_len()),
        IpNet::V6(n) => (u128::from(n.network()), n.prefix_len()),
    }
}

impl Tree {
    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Points `net` at the record at data offset `record`. Fails if the network is the whole
    /// address space or collides with one already inserted.
    pub fn insert(&mut self, net: &IpNet, record: u32) -> Result<(), String> {
        if record >= DATA {
            return Err("data section over 2 GiB".into());
        }
        let (bits, depth) = key(net);
        if depth == 0 {
            return Err("covers the whole address space".into());
        }
        let mut node = 0usize;
        for i in 0..depth {
            let bit = ((bits >> (127 - i)) & 1) as usize;
            let child = self.nodes[node][bit];
            if i + 1 == depth {
                if child != EMPTY {
                    return Err("overlaps a network already inserted".into());
                }
                self.nodes[node][bit] = DATA | record;
                return Ok(());
            }
            if child == EMPTY {
                let next = u32::try_from(self.nodes.len())
                    .ok()
                    .filter(|n| *n < DATA)
                    .ok_or_else(|| "search tree over 2^31 nodes".to_owned())?;
                self.nodes.push([EMPTY, EMPTY]);
                self.nodes[node][bit] = next;
                node = next as usize;
            } else if child & DATA != 0 {
                return Err("lies inside a network already inserted".into());
            } else {
                node = child as usize;
            }
        }
        Ok(())
    }

    /// Serialises the tree; record ids are data-section offsets. Returns the bytes and the
    /// record size in bits (24, 28 or 32: the smallest that fits).
    pub fn serialise(&self, data_len: usize) -> Result<(Vec<u8>, u16), String> {
        let count = self.nodes.len() as u64;
        let max = count + 16 + data_len as u64;
        let record_size: u16 = if max < 1 << 24 {
            24
        } else if max < 1 << 28 {
            28
        } else if max < 1 << 32 {
            32
        } else {
            return Err("search tree and data section exceed 32-bit records".into());
        };
        let resolve = |slot: u32| -> u32 {
            if slot == EMPTY {
                count as u32
            } else if slot & DATA != 0 {
                (count + 16 + u64::from(slot & !DATA)) as u32
            } else {
                slot
            }
        };
        let mut out = Vec::with_capacity(self.nodes.len() * usize::from(record_size) / 4);
        for [l, r] in &self.nodes {
            let (l, r) = (resolve(*l), resolve(*r));
            match record_size {
                24 => {
                    out.extend_from_slice(&l.to_be_bytes()[1..]);
                    out.extend_from_slice(&r.to_be_bytes()[1..]);
                }
                28 => {
                    out.extend_from_slice(&l.to_be_bytes()[1..]);
                    out.push((((l >> 24) & 0x0F) << 4) as u8 | ((r >> 24) & 0x0F) as u8);
                    out.extend_from_slice(&r.to_be_bytes()[1..]);
                }
                _ => {
                    out.extend_from_slice(&l.to_be_bytes());
                    out.extend_from_slice(&r.to_be_bytes());
                }
            }
        }
        Ok((out, record_size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap_or_else(|_| IpNet::V4(Default::default()))
    }

    #[test]
    fn rejects_collisions_and_the_whole_space() {
        let mut t = Tree::default();
        assert!(t.insert(&net("10.0.0.0/8"), 0).is_ok());
        assert!(t.insert(&net("10.1.0.0/16"), 1).is_err());
        assert!(t.insert(&net("10.0.0.0/8"), 1).is_err());
        assert!(t.insert(&net("11.0.0.0/8"), 1).is_ok());
        assert!(t.insert(&net("::/0"), 2).is_err());
        // 96 zero bits, then 8 more for each /8.
        assert_eq!(t.node_count(), 96 + 7 + 1);
    }

    #[test]
    fn picks_the_smallest_record_size() {
        let mut t = Tree::default();
        assert!(t.insert(&net("2001:db8::/32"), 0).is_ok());
        let small = t.serialise(10).map(|(_, s)| s);
        assert_eq!(small, Ok(24));
        let mid = t.serialise(1 << 25).map(|(_, s)| s);
        assert_eq!(mid, Ok(28));
        let big = t.serialise(1 << 29).map(|(_, s)| s);
        assert_eq!(big, Ok(32));
        let (bytes, _) = t.serialise(10).unwrap_or_default();
        assert_eq!(bytes.len(), t.node_count() * 6);
    }
}
