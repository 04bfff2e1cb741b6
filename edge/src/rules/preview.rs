//! Preview links: a site owner forces one rule's popup on their own browser with
//! `?mk_preview=TOKEN`, minted by the API. The token is signed with the edge's secret (as
//! visitor ids are, under another label) and expires, so it cannot be forged or kept forever;
//! a previewed popup is never recorded, so it touches neither caps nor results.

use crate::signing::{PartTooLong, Signer, Unsealed};

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
    signer: Signer,
}

impl PreviewCodec {
    pub fn new(secret: &[u8]) -> Self {
        PreviewCodec {
            signer: Signer::new(secret, "mikomi preview v1"),
        }
    }

    /// Ids are at most 64 bytes (checked where rules and sites are configured), so a grant for
    /// a configured rule always fits.
    pub fn mint(&self, grant: &PreviewGrant) -> Result<String, PartTooLong> {
        self.signer.seal(
            grant.expires_ms,
            &[
                &grant.site,
                &grant.rule,
                grant.variant.as_deref().unwrap_or(""),
            ],
        )
    }

    /// Checks the signature in constant time, then the expiry.
    pub fn verify(&self, token: &str, now_ms: i64) -> Result<PreviewGrant, InvalidPreview> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(InvalidPreview::Malformed);
        }
        let (expires_ms, parts) = self.signer.open(token, now_ms).map_err(|e| match e {
            Unsealed::Malformed => InvalidPreview::Malformed,
            Unsealed::BadSignature => InvalidPreview::BadSignature,
            Unsealed::Expired => InvalidPreview::Expired,
        })?;
        let [site, rule, variant]: [String; 3] =
            parts.try_into().map_err(|_| InvalidPreview::Malformed)?;
        Ok(PreviewGrant {
            site,
            rule,
            variant: Some(variant).filter(|v| !v.is_empty()),
            expires_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

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
        let token = codec.mint(&grant()).expect("mint");
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
        assert_eq!(
            codec.verify(&codec.mint(&plain).expect("mint"), 0),
            Ok(plain)
        );
    }

    #[test]
    fn forged_or_broken_tokens_are_refused() {
        let codec = PreviewCodec::new(b"edge secret");
        let token = codec.mint(&grant()).expect("mint");
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
