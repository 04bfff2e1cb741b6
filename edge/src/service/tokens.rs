//! Email-click tokens for links in mail: minted for an address and a site, valid for a while.

use std::time::Duration;

use crate::identity::{EmailClaim, TokenCodec, email};

#[derive(Debug, thiserror::Error)]
pub enum TokensError {
    #[error("not an email address")]
    InvalidEmail,
}

pub struct Minted {
    pub token: String,
    pub expires_ms: i64,
}

/// The address a token may name, normalised.
pub fn address(text: &str) -> Result<String, TokensError> {
    email::normalize(text).ok_or(TokensError::InvalidEmail)
}

/// A token that identifies `address` (as `address` returned it) on `site` until
/// `now_ms + ttl`.
pub fn mint(codec: &TokenCodec, site: &str, address: String, ttl: Duration, now_ms: i64) -> Minted {
    let expires_ms = now_ms.saturating_add(ttl.as_millis() as i64);
    let token = codec.mint(&EmailClaim {
        site: site.to_string(),
        email: address,
        expires_ms,
    });
    Minted { token, expires_ms }
}
