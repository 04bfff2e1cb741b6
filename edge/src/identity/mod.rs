//! Identity: email addresses as person keys, signed email-click tokens, and the stitching rules
//! that join visitors (devices) to people.

pub mod email;
pub mod people;
pub mod stitch;
pub mod token;

pub use stitch::Decision;
pub use token::{EmailClaim, InvalidToken, TokenCodec};
