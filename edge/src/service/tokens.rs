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

/// A token that identifies `address` on `site` until `now_ms + ttl`.
pub fn mint(
    codec: &TokenCodec,
    site: &str,
    address: &str,
    ttl: Duration,
    now_ms: i64,
) -> Result<Minted, TokensError> {
    let address = email::normalize(address).ok_or(TokensError::InvalidEmail)?;
    let expires_ms = now_ms.saturating_add(ttl.as_millis() as i64);
    let token = codec.mint(&EmailClaim {
        site: site.to_string(),
        email: address,
        expires_ms,
    });
    Ok(Minted { token, expires_ms })
}
