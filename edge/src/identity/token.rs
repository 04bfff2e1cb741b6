//! Email-click tokens: a backend puts `?mk_t=TOKEN` on links in mail; the tag sends the token
//! back and the edge learns who clicked. Signed and expiring, so that nobody can make one up
//! or reuse an old one forever.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

const TAG_LEN: usize = 16;
const VERSION: u8 = 1;

#[derive(Clone)]
pub struct TokenCodec {
    key: Hmac<Sha256>,
}

/// What a valid token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailClaim {
    pub site: String,
    pub email: String,
    pub expires_ms: i64,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidToken {
    #[error("the token is not in the expected format")]
    Malformed,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is for another site")]
    WrongSite,
}

impl TokenCodec {
    pub fn new(secret: &[u8]) -> Self {
        let mut key = Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
        // Domain-separate from the visitor-id MAC that uses the same secret.
        key.update(b"mikomi email token v1\0");
        TokenCodec { key }
    }

    /// `version ‖ expires_ms ‖ site_len ‖ site ‖ email ‖ tag`, base64url.
    pub fn mint(&self, claim: &EmailClaim) -> String {
        let mut bytes = Vec::with_capacity(16 + claim.site.len() + claim.email.len() + TAG_LEN);
        bytes.push(VERSION);
        bytes.extend_from_slice(&claim.expires_ms.to_le_bytes());
        bytes.push(claim.site.len().min(255) as u8);
        bytes.extend_from_slice(&claim.site.as_bytes()[..claim.site.len().min(255)]);
        bytes.extend_from_slice(claim.email.as_bytes());
        let tag = self.tag(&bytes);
        bytes.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Checks signature (in constant time), expiry and site.
    pub fn verify(&self, token: &str, site: &str, now_ms: i64) -> Result<EmailClaim, InvalidToken> {
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| InvalidToken::Malformed)?;
        if bytes.len() < 1 + 8 + 1 + TAG_LEN {
            return Err(InvalidToken::Malformed);
        }
        let (body, tag) = bytes.split_at(bytes.len() - TAG_LEN);
        if !bool::from(self.tag(body).ct_eq(tag)) {
            return Err(InvalidToken::BadSignature);
        }
        if body[0] != VERSION {
            return Err(InvalidToken::Malformed);
        }
        let mut expires = [0u8; 8];
        expires.copy_from_slice(&body[1..9]);
        let expires_ms = i64::from_le_bytes(expires);
        let site_len = usize::from(body[9]);
        let rest = &body[10..];
        if rest.len() < site_len {
            return Err(InvalidToken::Malformed);
        }
        let (token_site, email) = rest.split_at(site_len);
        let token_site = std::str::from_utf8(token_site).map_err(|_| InvalidToken::Malformed)?;
        let email = std::str::from_utf8(email).map_err(|_| InvalidToken::Malformed)?;
        if now_ms >= expires_ms {
            return Err(InvalidToken::Expired);
        }
        if token_site != site {
            return Err(InvalidToken::WrongSite);
        }
        Ok(EmailClaim {
            site: token_site.to_string(),
            email: email.to_string(),
            expires_ms,
        })
    }

    fn tag(&self, body: &[u8]) -> [u8; TAG_LEN] {
        let mut mac = self.key.clone();
        mac.update(body);
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&full[..TAG_LEN]);
        tag
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(expires_ms: i64) -> EmailClaim {
        EmailClaim {
            site: "demo".into(),
            email: "taro@example.co.jp".into(),
            expires_ms,
        }
    }

    #[test]
    fn a_valid_token_names_its_email() {
        let codec = TokenCodec::new(b"secret");
        let token = codec.mint(&claim(2_000));
        assert_eq!(codec.verify(&token, "demo", 1_000), Ok(claim(2_000)));
    }

    #[test]
    fn forged_expired_foreign_and_garbled_tokens_identify_nobody() {
        let codec = TokenCodec::new(b"secret");
        let token = codec.mint(&claim(2_000));
        assert_eq!(
            codec.verify(&token, "demo", 2_000),
            Err(InvalidToken::Expired)
        );
        assert_eq!(
            codec.verify(&token, "other", 1_000),
            Err(InvalidToken::WrongSite)
        );
        let forged = TokenCodec::new(b"another secret").mint(&claim(9_999_999));
        assert_eq!(
            codec.verify(&forged, "demo", 1_000),
            Err(InvalidToken::BadSignature)
        );
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).expect("base64");
        bytes[12] ^= 1; // change the email
        let tampered = URL_SAFE_NO_PAD.encode(bytes);
        assert_eq!(
            codec.verify(&tampered, "demo", 1_000),
            Err(InvalidToken::BadSignature)
        );
        for garbage in ["", "!!!", "AAAA"] {
            assert_eq!(
                codec.verify(garbage, "demo", 0),
                Err(InvalidToken::Malformed),
                "{garbage}"
            );
        }
    }
}
