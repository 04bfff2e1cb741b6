//! IP → company resolution over MaxMind DB files, and a builder for them.
//!
//! A [`Resolver`] holds an ordered list of databases ("layers"): typically our own company
//! database first, then an ASN database. Each lookup returns one [`Company`] that says who is
//! behind the address, which layer said so, and what kind of network it is — so a visitor on
//! home broadband or a cloud network is not reported as their carrier or cloud.
//!
//! The [`build`] module compiles company CSV and ip-location-db ASN CSV into `.mmdb` files, and
//! [`SharedResolver`] swaps databases atomically while serving.
//!
//! # Quick start
//!
//! ```
//! use std::net::IpAddr;
//! use ipdb::{build, LayerSpec, NetworkKind, Resolver, SizeBand};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let csv = dir.path().join("companies.csv");
//! std::fs::write(&csv, "network,name,domain,industry,employees,country\n\
//!                       192.0.2.0/24,見込み商事株式会社,mikomi-shoji.example,商社,250,JP\n")?;
//! let db = dir.path().join("companies.mmdb");
//! build::build_company_csv(&[csv.as_path()], &db)?;
//!
//! let resolver = Resolver::open(&[LayerSpec::new("companies", &db)])?;
//! let ip: IpAddr = "192.0.2.10".parse()?;
//! let company = resolver.lookup(ip).ok_or("not found")?;
//! assert_eq!(company.name.as_deref(), Some("見込み商事株式会社"));
//! assert_eq!(company.size_band, SizeBand::Mid);
//! assert_eq!(company.network_kind, NetworkKind::Business);
//! assert_eq!(company.source, "companies");
//! assert_eq!(company.network.to_string(), "192.0.2.0/24");
//! assert!(resolver.lookup("198.51.100.1".parse()?).is_none());
//! # Ok(())
//! # }
//! ```

pub mod build;
mod cache;
pub mod cells;
pub mod classify;
mod company;
mod error;
mod flat;
mod inspect;
mod resolver;
mod schema;
mod shared;

pub use classify::Confidence;
pub use company::{Company, NetworkKind, SizeBand};
pub use error::Error;
pub use inspect::{Inspection, inspect};
pub use resolver::{Layer, LayerSpec, Resolver};
pub use schema::Schema;
pub use shared::SharedResolver;
