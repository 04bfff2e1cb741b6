//! The Mikomi edge.
