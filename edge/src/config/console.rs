//! `[console]`: who may sign in to the sales and marketing console, and for how long.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::values::{HumanDuration, SiteKey};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// How long a sign-in lasts; the user signs in again after it.
    pub session_ttl: HumanDuration,
    /// Sign-in attempts one user name may make: a burst, then one per `login_every`.
    pub login_burst: u32,
    /// Sign-in attempts one client address may make in a burst, across all user names.
    pub login_burst_per_address: u32,
    /// After a burst, one more attempt per this long.
    pub login_every: HumanDuration,
    pub users: Vec<Spanned<ConsoleUserConfig>>,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            session_ttl: HumanDuration(Duration::from_secs(12 * 3600)),
            login_burst: 5,
            login_burst_per_address: 20,
            login_every: HumanDuration(Duration::from_secs(60)),
            users: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleUserConfig {
    pub name: String,
    /// An argon2id hash in PHC form, as `mikomi-edge hash-password` prints it.
    pub password_hash: String,
    /// Sites whose data this user sees.
    pub sites: Vec<Spanned<SiteKey>>,
    pub role: ConsoleRole,
}

/// What a console user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsoleRole {
    /// Reads every page and exports.
    Viewer,
    /// Also changes stages, splits and merges people and creates preview links.
    Editor,
}

/// Why a console user entry cannot be used: the message for `check-config`.
pub fn check_user(user: &ConsoleUserConfig) -> Result<(), String> {
    let name = user.name.trim();
    if name.is_empty() || name.len() > 64 || name != user.name {
        return Err("name is 1 to 64 characters without surrounding spaces".into());
    }
    if name.chars().any(char::is_control) {
        return Err("name has a control character".into());
    }
    match argon2::PasswordHash::new(&user.password_hash) {
        Ok(hash) if hash.algorithm.as_str() == "argon2id" => {}
        Ok(hash) => {
            return Err(format!(
                "password_hash is {}, not argon2id: make one with `mikomi-edge hash-password`",
                hash.algorithm
            ));
        }
        Err(e) => {
            return Err(format!(
                "password_hash is not a PHC hash string ({e}): make one with `mikomi-edge \
                 hash-password`"
            ));
        }
    }
    if user.sites.is_empty() {
        return Err("list at least one site the user may see".into());
    }
    Ok(())
}
