//! Who is signed in to the console. Users come from `[[console.users]]` and are replaced when
//! the configuration reloads. A sign-in is a sealed cookie naming the user and a fingerprint
//! of their entry, so changing a user's password, role or sites (or removing them) and
//! reloading ends every session they had. State-changing forms carry a token bound to the
//! session (CSRF), and sign-in attempts are rate-limited per user name and per address.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{Config, ConsoleRole};
use crate::signing::Signer;

/// The session cookie's name; scoped to `/console/`.
pub const SESSION_COOKIE: &str = "mk_console";

/// A console user as the configuration has them.
#[derive(Clone, Debug)]
pub struct User {
    pub name: String,
    password_hash: String,
    pub sites: Vec<Arc<str>>,
    pub role: ConsoleRole,
    /// Changes whenever the entry does: sessions carry it.
    fingerprint: String,
}

impl User {
    pub fn can_edit(&self) -> bool {
        self.role == ConsoleRole::Editor
    }

    pub fn sees(&self, site: &str) -> bool {
        self.sites.iter().any(|s| &**s == site)
    }
}

/// A signed-in request: the user, and the token its forms must carry.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub user: User,
    pub csrf: String,
}

/// Why a sign-in was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum LoginRefused {
    WrongPassword,
    /// Too many attempts; try again after this long.
    RateLimited(Duration),
}

pub struct Auth {
    users: ArcSwap<Vec<User>>,
    sessions: Signer,
    csrf: Signer,
    pub ttl: Duration,
    per_user: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
}

fn users_of(config: &Config) -> Vec<User> {
    config
        .console
        .users
        .iter()
        .map(|entry| {
            let u = entry.get_ref();
            let sites: Vec<Arc<str>> = u
                .sites
                .iter()
                .map(|s| s.get_ref().as_str().into())
                .collect();
            let mut digest = Sha256::new();
            for part in [
                u.name.as_str(),
                u.password_hash.as_str(),
                &format!("{:?}", u.role),
            ] {
                digest.update(part.as_bytes());
                digest.update([0]);
            }
            for site in &sites {
                digest.update(site.as_bytes());
                digest.update([0]);
            }
            User {
                name: u.name.clone(),
                password_hash: u.password_hash.clone(),
                sites,
                role: u.role,
                fingerprint: URL_SAFE_NO_PAD.encode(&digest.finalize()[..12]),
            }
        })
        .collect()
}

fn quota(burst: u32, every: Duration) -> Quota {
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(every.max(Duration::from_millis(1)))
        .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
        .allow_burst(burst)
}

impl Auth {
    pub fn new(config: &Config, secret: &[u8]) -> Auth {
        let console = &config.console;
        Auth {
            users: ArcSwap::from_pointee(users_of(config)),
            sessions: Signer::new(secret, "console-session"),
            csrf: Signer::new(secret, "console-csrf"),
            ttl: console.session_ttl.0,
            per_user: RateLimiter::keyed(quota(console.login_burst, console.login_every.0)),
            per_address: RateLimiter::keyed(quota(
                console.login_burst_per_address,
                console.login_every.0,
            )),
        }
    }

    /// Takes the users of a reloaded configuration: sessions of changed or removed users end.
    pub fn reload(&self, config: &Config) {
        self.users.store(Arc::new(users_of(config)));
    }

    pub fn has_users(&self) -> bool {
        !self.users.load().is_empty()
    }

    /// Checks a sign-in attempt. Rate limits are counted before the (slow) password check, so a
    /// guessing client costs little; an unknown name takes as long as a known one.
    pub async fn login(
        &self,
        name: &str,
        password: &str,
        address: IpAddr,
    ) -> Result<User, LoginRefused> {
        let name: String = name.trim().chars().take(64).collect();
        for check in [
            self.per_address.check_key(&address),
            self.per_user.check_key(&name),
        ] {
            if let Err(not_until) = check {
                let now = governor::clock::Clock::now(&governor::clock::DefaultClock::default());
                return Err(LoginRefused::RateLimited(not_until.wait_time_from(now)));
            }
        }
        let user = self.users.load().iter().find(|u| u.name == name).cloned();
        let password = password.to_string();
        let checked = tokio::task::spawn_blocking(move || match user {
            Some(user) if crate::password::verify(&password, &user.password_hash) => Some(user),
            Some(_) => None,
            None => {
                crate::password::verify_against_nobody(&password);
                None
            }
        })
        .await
        .ok()
        .flatten();
        checked.ok_or(LoginRefused::WrongPassword)
    }

    /// The cookie value that signs `user` in until `now_ms` + the session lifetime. `None`
    /// cannot happen for a name the configuration accepted (at most 64 bytes).
    pub fn session_for(&self, user: &User, now_ms: i64) -> Option<String> {
        let nonce: [u8; 12] = rand::random();
        self.sessions
            .seal(
                now_ms.saturating_add(self.ttl.as_millis() as i64),
                &[
                    &user.name,
                    &user.fingerprint,
                    &URL_SAFE_NO_PAD.encode(nonce),
                ],
            )
            .ok()
    }

    /// The user a session cookie signs in, if it is genuine, unexpired and still matches the
    /// user's current entry.
    pub fn session(&self, cookie: &str, now_ms: i64) -> Option<SignedIn> {
        let (_, parts) = self.sessions.open(cookie, now_ms).ok()?;
        let [name, fingerprint, _nonce] = parts.as_slice() else {
            return None;
        };
        let user = self
            .users
            .load()
            .iter()
            .find(|u| &u.name == name && &u.fingerprint == fingerprint)
            .cloned()?;
        Some(SignedIn {
            user,
            csrf: self.csrf_token(cookie),
        })
    }

    fn csrf_token(&self, cookie: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.csrf.tag::<16>(cookie.as_bytes()))
    }

    /// Whether a form's token belongs to this session, compared in constant time.
    pub fn csrf_ok(signed_in: &SignedIn, presented: Option<&str>) -> bool {
        presented.is_some_and(|p| bool::from(p.as_bytes().ct_eq(signed_in.csrf.as_bytes())))
    }

    /// Forgets attempt counters that are full again.
    pub fn sweep(&self) {
        self.per_user.retain_recent();
        self.per_address.retain_recent();
    }
}
