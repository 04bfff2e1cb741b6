//! `[outgoing]`: how the edge's outgoing HTTPS client (webhooks, Slack, Teams) trusts receivers.

use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutgoingConfig {
    /// The certificate authorities trusted for `https://` receivers.
    pub roots: TrustRoots,
    /// PEM files of further root certificates, for receivers behind a private CA. Relative
    /// paths are taken from the configuration file's folder.
    pub extra_roots: Vec<Spanned<PathBuf>>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrustRoots {
    /// Mozilla's list, built into the edge: the same on every machine.
    #[default]
    Webpki,
    /// The operating system's store (`/etc/ssl/certs` on Debian), read at start.
    System,
}
