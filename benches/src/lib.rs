//! Shared helpers for the benchmarks: starting servers as child processes and driving them with
//! a hyper client over loopback.

pub mod edge;
pub mod faults;
pub mod load;
pub mod process;
pub mod rules_case;
pub mod steal;
