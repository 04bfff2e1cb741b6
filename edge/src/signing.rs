//! Keyed MACs over the edge's secret, for everything the edge hands out and must recognise
//! later: visitor ids, email-click tokens, preview links. Each use has its own label, so a value
//! minted for one purpose never verifies as another.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

#[derive(Clone)]
pub struct Signer {
    key: Hmac<Sha256>,
}

/// Why a sealed token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unsealed {
    Malformed,
    BadSignature,
    Expired,
}

/// Bytes of MAC on sealed tokens: 128 bits.
const SEAL_TAG: usize = 16;

/// The longest part a sealed token carries: its length is one byte.
pub const MAX_PART: usize = 255;

/// A part longer than `MAX_PART` was given to `seal`. It is refused, never cut: a token naming
/// the first 255 bytes of a longer address would vouch for another address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a sealed part is longer than {MAX_PART} bytes")]
pub struct PartTooLong;

impl Signer {
    pub fn new(secret: &[u8], label: &str) -> Signer {
        // HMAC takes keys of any length; this cannot fail.
        let mut key = Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
        key.update(label.as_bytes());
        key.update(b"\0");
        Signer { key }
    }

    /// The first `N` bytes of the MAC of `body`.
    pub fn tag<const N: usize>(&self, body: &[u8]) -> [u8; N] {
        let mut mac = self.key.clone();
        mac.update(body);
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; N];
        tag.copy_from_slice(&full[..N]);
        tag
    }

    /// Whether `tag` is the MAC of `body`, compared in constant time.
    pub fn verify<const N: usize>(&self, body: &[u8], tag: &[u8]) -> bool {
        bool::from(self.tag::<N>(body).ct_eq(tag))
    }

    /// A URL-safe token carrying an expiry and short text parts:
    /// `expires ‖ (len ‖ part)* ‖ tag`, base64url. A part longer than `MAX_PART` bytes is
    /// refused.
    pub fn seal(&self, expires_ms: i64, parts: &[&str]) -> Result<String, PartTooLong> {
        let mut bytes = Vec::with_capacity(64);
        bytes.extend_from_slice(&expires_ms.to_le_bytes());
        for part in parts {
            let len = u8::try_from(part.len()).map_err(|_| PartTooLong)?;
            bytes.push(len);
            bytes.extend_from_slice(part.as_bytes());
        }
        let tag = self.tag::<SEAL_TAG>(&bytes);
        bytes.extend_from_slice(&tag);
        Ok(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Checks a sealed token's signature (first) and expiry; returns its expiry and parts.
    pub fn open(&self, token: &str, now_ms: i64) -> Result<(i64, Vec<String>), Unsealed> {
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| Unsealed::Malformed)?;
        if bytes.len() < 8 + SEAL_TAG {
            return Err(Unsealed::Malformed);
        }
        let (body, tag) = bytes.split_at(bytes.len() - SEAL_TAG);
        if !self.verify::<SEAL_TAG>(body, tag) {
            return Err(Unsealed::BadSignature);
        }
        let mut expires = [0u8; 8];
        expires.copy_from_slice(&body[..8]);
        let expires_ms = i64::from_le_bytes(expires);
        let mut parts = Vec::new();
        let mut rest = &body[8..];
        while let Some((&len, tail)) = rest.split_first() {
            let len = usize::from(len);
            if tail.len() < len {
                return Err(Unsealed::Malformed);
            }
            let (part, after) = tail.split_at(len);
            parts.push(String::from_utf8(part.to_vec()).map_err(|_| Unsealed::Malformed)?);
            rest = after;
        }
        if now_ms >= expires_ms {
            return Err(Unsealed::Expired);
        }
        Ok((expires_ms, parts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_tokens_round_trip_and_refuse_tampering_expiry_and_other_labels() {
        let signer = Signer::new(b"secret", "test");
        let token = signer
            .seal(2_000, &["demo", "山田@example.jp", ""])
            .expect("short parts");
        assert_eq!(
            signer.open(&token, 1_000),
            Ok((
                2_000,
                vec!["demo".into(), "山田@example.jp".into(), String::new()]
            ))
        );
        assert_eq!(signer.open(&token, 2_000), Err(Unsealed::Expired));
        assert_eq!(
            Signer::new(b"secret", "other").open(&token, 0),
            Err(Unsealed::BadSignature)
        );
        assert_eq!(
            Signer::new(b"secret2", "test").open(&token, 0),
            Err(Unsealed::BadSignature)
        );
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).expect("base64");
        bytes[10] ^= 1;
        assert_eq!(
            signer.open(&URL_SAFE_NO_PAD.encode(bytes), 0),
            Err(Unsealed::BadSignature)
        );
        for garbage in ["", "!!!", "AAAA"] {
            assert_eq!(
                signer.open(garbage, 0),
                Err(Unsealed::Malformed),
                "{garbage}"
            );
        }
    }

    #[test]
    fn a_part_too_long_for_its_length_byte_is_refused_not_cut() {
        let signer = Signer::new(b"secret", "test");
        let longest = "a".repeat(MAX_PART);
        let token = signer.seal(2_000, &[&longest]).expect("255 bytes fit");
        assert_eq!(signer.open(&token, 0), Ok((2_000, vec![longest])));
        let too_long = format!("{}@example.jp", "a".repeat(250));
        assert_eq!(signer.seal(2_000, &[&too_long]), Err(PartTooLong));
    }
}
