//! The domain's data: visitors and their sessions, people, what one collect adds (`Batch`) and
//! the changes the backend API makes. Plain types with the rules that change one value at a
//! time; the engine keeps the tables of them and applies log records across them.

pub mod company;
pub mod ids;
pub mod ledger;
pub mod offline;
pub mod person;
pub mod record;
mod visitor;

use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::event::TimedEvent;
use crate::visitor_id::VisitorId;

pub use visitor::{Link, PendingClick, Session, SessionRules, StoredEvent, VisitSummary, Visitor};

/// Everything one accepted collect request adds: the unit of durability.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    pub site: Arc<str>,
    pub visitor: VisitorId,
    /// The edge's clock when the request arrived; sessions are cut on it.
    pub received_ms: i64,
    /// The client's network, truncated (/24, /48): the full address is never kept.
    pub network: Option<IpNet>,
    /// Who the address belongs to, resolved once when the request arrived.
    #[serde(with = "crate::model::company::stored")]
    pub company: Option<Arc<ipdb::Company>>,
    pub events: Vec<TimedEvent>,
}

/// A visitor record's key: visitor ids are per site.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VisitorKey {
    pub site: Arc<str>,
    pub id: VisitorId,
}

/// The network an address belongs to, coarse enough not to identify a household.
pub fn truncate_ip(ip: IpAddr) -> IpNet {
    let prefix = match ip {
        IpAddr::V4(_) => 24,
        IpAddr::V6(_) => 48,
    };
    // Both prefixes are in range for their family.
    IpNet::new(ip, prefix)
        .map(|net| net.trunc())
        .unwrap_or_else(|_| IpNet::from(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_truncated() {
        let v4: IpAddr = "203.0.113.77".parse().expect("ip");
        assert_eq!(truncate_ip(v4).to_string(), "203.0.113.0/24");
        let v6: IpAddr = "2001:db8:1:2:3::4".parse().expect("ip");
        assert_eq!(truncate_ip(v6).to_string(), "2001:db8:1::/48");
    }
}
