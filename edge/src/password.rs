//! Console passwords: argon2id hashes in PHC form, made by `mikomi-edge hash-password` and kept
//! in the configuration, so no password is ever stored or logged.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// RFC 9106's second recommended option (64 MiB would make every sign-in hold that much memory
/// on a small edge): 19 MiB, 2 passes, one lane, as OWASP recommends for argon2id.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("a password has 8 to 1024 characters")]
    Length,
    #[error("hashing failed: {0}")]
    Hash(String),
}

/// The PHC string to put in `[[console.users]] password_hash`.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    if !(8..=1024).contains(&password.chars().count()) {
        return Err(PasswordError::Length);
    }
    let bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&bytes).map_err(|e| PasswordError::Hash(e.to_string()))?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches `phc`. Slow on purpose (tens of milliseconds): call it off the
/// async runtime. The parameters are read from the hash, so older hashes keep verifying.
pub fn verify(password: &str, phc: &str) -> bool {
    if password.len() > 4096 {
        return false;
    }
    match PasswordHash::new(phc) {
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash that verifies nothing, checked when a user name is unknown so that the answer takes
/// as long as for a known name and does not tell which names exist.
pub fn verify_against_nobody(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let phc = DUMMY.get_or_init(|| hash("not-a-password-anyone-has").unwrap_or_default());
    let _ = verify(password, phc);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only_and_is_argon2id() {
        let phc = hash("correct horse").expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("correct horse", &phc));
        assert!(!verify("correct horse ", &phc));
        assert!(!verify("correct horse", "not a hash"));
        assert_ne!(hash("correct horse").expect("hash"), phc, "salted");
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(matches!(hash("short"), Err(PasswordError::Length)));
    }
}
