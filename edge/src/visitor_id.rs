//! Visitor ids: 128 random bits plus a keyed MAC, so the edge only ever writes into records it
//! minted itself. A client cannot guess another visitor's id, and cannot make one up.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::signing::Signer;

/// The random part: the key of the visitor's record.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct VisitorId(pub [u8; 16]);

impl fmt::Debug for VisitorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VisitorId({})", URL_SAFE_NO_PAD.encode(self.0))
    }
}

/// Bytes of MAC kept: 96 bits cannot be found by trying.
const TAG_LEN: usize = 12;
const TOKEN_BYTES: usize = 16 + TAG_LEN;
/// Base64url length of a token, without padding.
pub const TOKEN_LEN: usize = (TOKEN_BYTES * 4).div_ceil(3);

/// Mints and checks visitor tokens with the edge's secret.
#[derive(Clone)]
pub struct VisitorIdCodec {
    signer: Signer,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidVisitorId {
    #[error("a visitor id is {TOKEN_LEN} base64url characters")]
    Malformed,
    #[error("this visitor id was not issued by this service")]
    BadSignature,
}

impl VisitorIdCodec {
    pub fn new(secret: &[u8]) -> Self {
        VisitorIdCodec {
            signer: Signer::new(secret, "mikomi visitor v1"),
        }
    }

    /// A fresh random id and the token the client keeps.
    pub fn mint(&self) -> (VisitorId, String) {
        let id = VisitorId(rand::random());
        (id, self.token(id))
    }

    /// The token for an id.
    pub fn token(&self, id: VisitorId) -> String {
        let mut bytes = [0u8; TOKEN_BYTES];
        bytes[..16].copy_from_slice(&id.0);
        bytes[16..].copy_from_slice(&self.signer.tag::<TAG_LEN>(&id.0));
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Checks a token in constant time and returns the id it carries. A token that verifies
    /// is exactly `token(id)`: the decoder refuses non-zero trailing bits, so no second
    /// spelling of the same bytes gets through, and collect hands a verified token back as is.
    pub fn verify(&self, token: &str) -> Result<VisitorId, InvalidVisitorId> {
        if token.len() != TOKEN_LEN {
            return Err(InvalidVisitorId::Malformed);
        }
        // Room for the decoder's conservative estimate; the exact length is checked below.
        let mut bytes = [0u8; TOKEN_BYTES + 3];
        match URL_SAFE_NO_PAD.decode_slice(token, &mut bytes) {
            Ok(TOKEN_BYTES) => {}
            _ => return Err(InvalidVisitorId::Malformed),
        }
        let mut id = [0u8; 16];
        id.copy_from_slice(&bytes[..16]);
        let id = VisitorId(id);
        if self
            .signer
            .verify::<TAG_LEN>(&id.0, &bytes[16..TOKEN_BYTES])
        {
            Ok(id)
        } else {
            Err(InvalidVisitorId::BadSignature)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_verify_and_are_url_safe() {
        let codec = VisitorIdCodec::new(b"secret one");
        let (id, token) = codec.mint();
        assert_eq!(token.len(), TOKEN_LEN);
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(codec.verify(&token), Ok(id));
        assert_ne!(codec.mint().0, id, "ids are random");
    }

    #[test]
    fn another_secret_or_a_changed_byte_is_refused() {
        let codec = VisitorIdCodec::new(b"secret one");
        let (_, token) = codec.mint();
        let other = VisitorIdCodec::new(b"secret two");
        assert_eq!(other.verify(&token), Err(InvalidVisitorId::BadSignature));
        let mut chars: Vec<char> = token.chars().collect();
        chars[3] = if chars[3] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert_eq!(codec.verify(&tampered), Err(InvalidVisitorId::BadSignature));
    }

    #[test]
    fn only_the_canonical_spelling_of_a_token_verifies() {
        let codec = VisitorIdCodec::new(b"secret one");
        let (id, token) = codec.mint();
        assert_eq!(codec.token(id), token);
        // The last character carries 2 bits of the tag and 4 unused bits; setting an unused
        // bit spells the same bytes differently.
        let last = token.chars().last().expect("a character");
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let index = alphabet.find(last).expect("base64url");
        let other = alphabet.chars().nth(index ^ 1).expect("in range");
        let respelled = format!("{}{other}", &token[..token.len() - 1]);
        assert_eq!(codec.verify(&respelled), Err(InvalidVisitorId::Malformed));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let codec = VisitorIdCodec::new(b"k");
        for bad in [
            "",
            "short",
            &"!".repeat(TOKEN_LEN),
            &"A".repeat(TOKEN_LEN + 1),
        ] {
            assert_eq!(codec.verify(bad), Err(InvalidVisitorId::Malformed), "{bad}");
        }
    }
}
