//! Email-click tokens for links in mail: minted for an address and a site, valid for a while.

use std::time::Duration;

use crate::identity::{EmailClaim, TokenCodec, email};

/// The longest a token may live (the configured default is held to the same bound).
pub use crate::config::MAX_TOKEN_TTL as MAX_TTL;

#[derive(Debug, thiserror::Error)]
pub enum TokensError {
    #[error("not an email address (at most 254 bytes)")]
    InvalidEmail,
    #[error("a token lives from 1 second to 365 days")]
    InvalidTtl,
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
pub fn mint(
    codec: &TokenCodec,
    site: &str,
    address: String,
    ttl: Duration,
    now_ms: i64,
) -> Result<Minted, TokensError> {
    if ttl < Duration::from_secs(1) || ttl > MAX_TTL {
        return Err(TokensError::InvalidTtl);
    }
    // At most a year of milliseconds: the cast cannot overflow, and neither can the sum.
    let expires_ms = now_ms.saturating_add(ttl.as_millis() as i64);
    let token = codec
        .mint(&EmailClaim {
            site: site.to_string(),
            email: address,
            expires_ms,
        })
        .map_err(|_| TokensError::InvalidEmail)?;
    Ok(Minted { token, expires_ms })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ttl_over_a_year_is_refused_and_a_year_is_not() {
        let codec = TokenCodec::new(b"secret");
        let year = mint(&codec, "demo", "a@b.jp".into(), MAX_TTL, 0).expect("a year");
        assert_eq!(year.expires_ms, 365 * 86_400_000);
        for ttl in [
            MAX_TTL + Duration::from_secs(1),
            Duration::from_secs(u64::MAX),
            Duration::ZERO,
        ] {
            assert!(
                matches!(
                    mint(&codec, "demo", "a@b.jp".into(), ttl, 0),
                    Err(TokensError::InvalidTtl)
                ),
                "{ttl:?}"
            );
        }
    }
}
