//! Email-click tokens: a backend puts `?mk_t=TOKEN` on links in mail; the tag sends the token
//! back and the edge learns who clicked. Signed and expiring, so that nobody can make one up
//! or reuse an old one forever.

use crate::signing::{PartTooLong, Signer, Unsealed};

#[derive(Clone)]
pub struct TokenCodec {
    signer: Signer,
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
        TokenCodec {
            signer: Signer::new(secret, "mikomi email token v1"),
        }
    }

    /// Refused when the site or the address is longer than a token can carry (a normalised
    /// address is at most 254 bytes and a site key 64, so it fits whatever `email::normalize`
    /// accepted).
    pub fn mint(&self, claim: &EmailClaim) -> Result<String, PartTooLong> {
        self.signer
            .seal(claim.expires_ms, &[&claim.site, &claim.email])
    }

    /// Checks signature (in constant time), expiry and site.
    pub fn verify(&self, token: &str, site: &str, now_ms: i64) -> Result<EmailClaim, InvalidToken> {
        let (expires_ms, parts) = self.signer.open(token, now_ms).map_err(|e| match e {
            Unsealed::Malformed => InvalidToken::Malformed,
            Unsealed::BadSignature => InvalidToken::BadSignature,
            Unsealed::Expired => InvalidToken::Expired,
        })?;
        let [token_site, email]: [String; 2] =
            parts.try_into().map_err(|_| InvalidToken::Malformed)?;
        if token_site != site {
            return Err(InvalidToken::WrongSite);
        }
        Ok(EmailClaim {
            site: token_site,
            email,
            expires_ms,
        })
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
        let token = codec.mint(&claim(2_000)).expect("mint");
        assert_eq!(codec.verify(&token, "demo", 1_000), Ok(claim(2_000)));
    }

    #[test]
    fn forged_expired_foreign_and_garbled_tokens_identify_nobody() {
        let codec = TokenCodec::new(b"secret");
        let token = codec.mint(&claim(2_000)).expect("mint");
        assert_eq!(
            codec.verify(&token, "demo", 2_000),
            Err(InvalidToken::Expired)
        );
        assert_eq!(
            codec.verify(&token, "other", 1_000),
            Err(InvalidToken::WrongSite)
        );
        let forged = TokenCodec::new(b"another secret")
            .mint(&claim(9_999_999))
            .expect("mint");
        assert_eq!(
            codec.verify(&forged, "demo", 1_000),
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
