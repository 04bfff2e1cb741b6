//! Preview links: a site owner forces one rule's popup on their own browser with
//! `?mk_preview=TOKEN`, minted by the API. The token is signed with the edge's secret (as
//! visitor ids are, under another label) and expires, so it cannot be forged or kept forever;
//! a previewed popup is never recorded, so it touches neither caps nor results.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Bytes of MAC kept.
const TAG_LEN: usize = 16;
/// Tokens longer than this are refused before decoding.
pub const MAX_TOKEN_LEN: usize = 512;

/// What a valid preview token grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreviewGrant {
    pub site: String,
    pub rule: String,
    pub variant: Option<String>,
    pub expires_ms: i64,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidPreview {
    #[error("the preview token is malformed")]
    Malformed,
    #[error("the preview token was not issued by this service")]
    BadSignature,
    #[error("the preview token has expired")]
    Expired,
}

#[derive(Clone)]
pub struct PreviewCodec {
    key: Hmac<Sha256>,
}

impl PreviewCodec {
    pub fn new(secret: &[u8]) -> Self {
        // HMAC takes keys of any length; this cannot fail.
        let key = Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
        PreviewCodec { key }
    }

    pub fn mint(&self, grant: &PreviewGrant) -> String {
        let mut bytes = Vec::with_capacity(64);
        bytes.extend_from_slice(&grant.expires_ms.to_le_bytes());
        for part in [
            grant.site.as_str(),
            grant.rule.as_str(),
            grant.variant.as_deref().unwrap_or(""),
        ] {
            // Ids are at most 64 bytes (checked where rules and sites are configured).
            let part = &part.as_bytes()[..part.len().min(255)];
            bytes.push(part.len() as u8);
            bytes.extend_from_slice(part);
        }
        let tag = self.tag(&bytes);
        bytes.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Checks the signature in constant time, then the expiry.
    pub fn verify(&self, token: &str, now_ms: i64) -> Result<PreviewGrant, InvalidPreview> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(InvalidPreview::Malformed);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| InvalidPreview::Malformed)?;
        if bytes.len() < 8 + 3 + TAG_LEN {
            return Err(InvalidPreview::Malformed);
        }
        let (payload, tag) = bytes.split_at(bytes.len() - TAG_LEN);
        if !bool::from(self.tag(payload).ct_eq(tag)) {
            return Err(InvalidPreview::BadSignature);
        }
        let mut expires = [0u8; 8];
        expires.copy_from_slice(&payload[..8]);
        let expires_ms = i64::from_le_bytes(expires);
        let mut rest = &payload[8..];
        let mut parts = Vec::with_capacity(3);
        for _ in 0..3 {
            let (&len, after) = rest.split_first().ok_or(InvalidPreview::Malformed)?;
            let len = usize::from(len);
            if after.len() < len {
                return Err(InvalidPreview::Malformed);
            }
            let text = std::str::from_utf8(&after[..len]).map_err(|_| InvalidPreview::Malformed)?;
            parts.push(text.to_string());
            rest = &after[len..];
        }
        if now_ms >= expires_ms {
            return Err(InvalidPreview::Expired);
        }
        let variant = parts.pop().filter(|v| !v.is_empty());
        let rule = parts.pop().unwrap_or_default();
        let site = parts.pop().unwrap_or_default();
        Ok(PreviewGrant {
            site,
            rule,
            variant,
            expires_ms,
        })
    }

    fn tag(&self, payload: &[u8]) -> [u8; TAG_LEN] {
        let mut mac = self.key.clone();
        mac.update(b"mikomi preview v1\0");
        mac.update(payload);
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&full[..TAG_LEN]);
        tag
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> PreviewGrant {
        PreviewGrant {
            site: "demo".into(),
            rule: "brochure-repeat".into(),
            variant: Some("b".into()),
            expires_ms: 1_000,
        }
    }

    #[test]
    fn a_minted_token_verifies_until_it_expires() {
        let codec = PreviewCodec::new(b"edge secret");
        let token = codec.mint(&grant());
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(codec.verify(&token, 999), Ok(grant()));
        assert_eq!(codec.verify(&token, 1_000), Err(InvalidPreview::Expired));
        let plain = PreviewGrant {
            variant: None,
            ..grant()
        };
        assert_eq!(codec.verify(&codec.mint(&plain), 0), Ok(plain));
    }

    #[test]
    fn forged_or_broken_tokens_are_refused() {
        let codec = PreviewCodec::new(b"edge secret");
        let token = codec.mint(&grant());
        let other = PreviewCodec::new(b"another secret");
        assert_eq!(other.verify(&token, 0), Err(InvalidPreview::BadSignature));
        // A longer expiry written into the payload breaks the signature.
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).expect("base64");
        bytes[2] ^= 0x40;
        let tampered = URL_SAFE_NO_PAD.encode(bytes);
        assert_eq!(
            codec.verify(&tampered, 0),
            Err(InvalidPreview::BadSignature)
        );
        for bad in ["", "!!!", "AAAA", &"A".repeat(MAX_TOKEN_LEN + 1)] {
            assert_eq!(
                codec.verify(bad, 0),
                Err(InvalidPreview::Malformed),
                "{bad}"
            );
        }
    }
}
