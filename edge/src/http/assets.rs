//! Static files, read into memory once at start-up: the tag (loader, glue, wasm module) and the
//! demo website. Serving them never touches the disk, so it never blocks the runtime.

use std::collections::HashMap;
use std::path::Path;

use bytes::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{HeaderMap, Response, StatusCode};
use sha2::{Digest, Sha256};

use super::response::{self, Body};
use crate::config::AssetsConfig;

#[derive(Clone)]
pub struct Asset {
    body: Bytes,
    content_type: &'static str,
    cache_control: &'static str,
    etag: HeaderValue,
    /// Loaded by pages of other origins (the tag): answered with CORS and CORP headers.
    cross_origin: bool,
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const SHORT: &str = "public, max-age=300";
const NO_CACHE: &str = "no-cache";

impl Asset {
    fn new(body: Bytes, content_type: &'static str, cache_control: &'static str) -> Asset {
        let digest = Sha256::digest(&body);
        let etag = format!("\"{}\"", hex(&digest[..8]));
        Asset {
            body,
            content_type,
            cache_control,
            // Hex digits and quotes are always a valid header value.
            etag: HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"0\"")),
            cross_origin: false,
        }
    }

    /// A file of the tag. A customer's page on its own origin loads the glue with `import()`
    /// and the module with `fetch`, both CORS requests: without `Access-Control-Allow-Origin`
    /// the browser refuses them. The files are public and the same for everyone, and they are
    /// requested without credentials, so `*` is right (and lets caches share one copy).
    fn tag_file(body: Bytes, content_type: &'static str, cache_control: &'static str) -> Asset {
        Asset {
            cross_origin: true,
            ..Asset::new(body, content_type, cache_control)
        }
    }

    /// Answers with the file, or 304 when the client already has this version.
    pub fn respond(&self, request_headers: &HeaderMap) -> Response<Body> {
        let fresh = request_headers
            .get(header::IF_NONE_MATCH)
            .is_some_and(|tag| tag == self.etag);
        let mut response = if fresh {
            response::empty(StatusCode::NOT_MODIFIED)
        } else {
            response::with_type(StatusCode::OK, self.content_type, self.body.clone())
        };
        let headers = response.headers_mut();
        headers.insert(header::ETAG, self.etag.clone());
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(self.cache_control),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if self.cross_origin {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
            // Pages that isolate themselves (COEP) may still embed the tag.
            headers.insert(
                "cross-origin-resource-policy",
                HeaderValue::from_static("cross-origin"),
            );
        }
        response
    }
}

/// The built tag, by the public file name it is served under.
#[derive(Default)]
pub struct TagAssets {
    files: HashMap<String, Asset>,
    pub loader_name: String,
}

impl TagAssets {
    /// Loads the tag from the assets folder. A missing build is not an error: the edge still
    /// serves collect and the demo pages, and says so in the log.
    pub fn load(config: &AssetsConfig) -> std::io::Result<TagAssets> {
        let dir = &config.dir;
        let loader_path = dir.join(config.loader.as_str());
        if !loader_path.exists() {
            tracing::warn!(dir = %dir.display(), "the tag is not built; `cargo xtask demo` builds it");
            return Ok(TagAssets {
                files: HashMap::new(),
                loader_name: config.loader.as_str().to_string(),
            });
        }
        let mut files = HashMap::new();
        let glue = std::fs::read(dir.join(config.glue.as_str()))?;
        let wasm = std::fs::read(dir.join(config.wasm.as_str()))?;
        let glue_hashed = hashed_name(config.glue.as_str(), &glue);
        let wasm_hashed = hashed_name(config.wasm.as_str(), &wasm);
        let loader = std::fs::read_to_string(&loader_path)?
            .replace("__MIKOMI_GLUE__", &glue_hashed)
            .replace("__MIKOMI_WASM__", &wasm_hashed)
            .replace("__MIKOMI_COLLECT__", "v1/collect");
        let glue = Bytes::from(glue);
        let wasm = Bytes::from(wasm);
        files.insert(
            glue_hashed,
            Asset::tag_file(glue.clone(), "text/javascript", IMMUTABLE),
        );
        files.insert(
            wasm_hashed,
            Asset::tag_file(wasm.clone(), "application/wasm", IMMUTABLE),
        );
        files.insert(
            config.glue.as_str().to_string(),
            Asset::tag_file(glue, "text/javascript", SHORT),
        );
        files.insert(
            config.wasm.as_str().to_string(),
            Asset::tag_file(wasm, "application/wasm", SHORT),
        );
        files.insert(
            config.loader.as_str().to_string(),
            Asset::tag_file(Bytes::from(loader), "text/javascript", SHORT),
        );
        Ok(TagAssets {
            files,
            loader_name: config.loader.as_str().to_string(),
        })
    }

    pub fn get(&self, name: &str) -> Option<&Asset> {
        self.files.get(name)
    }

    pub fn is_built(&self) -> bool {
        !self.files.is_empty()
    }
}

/// The demo website, by path below `/demo/`.
#[derive(Default)]
pub struct DemoSite {
    files: HashMap<String, Asset>,
}

impl DemoSite {
    pub fn load(dir: &Path) -> std::io::Result<DemoSite> {
        let mut files = HashMap::new();
        load_tree(dir, "", &mut files)?;
        tracing::info!(dir = %dir.display(), files = files.len(), "demo site loaded");
        Ok(DemoSite { files })
    }

    /// `""` and `"en/"` are folders: their `index.html` answers.
    pub fn get(&self, path: &str) -> Option<&Asset> {
        if path.is_empty() || path.ends_with('/') {
            self.files.get(&format!("{path}index.html"))
        } else {
            self.files.get(path)
        }
    }
}

/// Reads every file below `dir`. Symbolic links are skipped, files and folders alike: a link
/// can point anywhere on the machine (`secret.key`, `/etc`), and whatever it names would be
/// served to anyone under `/demo/`. `file_type` of a directory entry does not follow links, so
/// the check sees the link itself.
fn load_tree(dir: &Path, prefix: &str, files: &mut HashMap<String, Asset>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let file_type = entry.file_type()?;
        if file_type.is_symlink() {
            tracing::warn!(path = %path.display(), "a symbolic link in the demo site is not served");
            continue;
        }
        if file_type.is_dir() {
            load_tree(&path, &format!("{prefix}{name}/"), files)?;
        } else {
            let body = Bytes::from(std::fs::read(&path)?);
            files.insert(
                format!("{prefix}{name}"),
                Asset::new(body, content_type(&name), NO_CACHE),
            );
        }
    }
    Ok(())
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript",
        "wasm" => "application/wasm",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "ico" => "image/x-icon",
        "pdf" => "application/pdf",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// `tracker.js` → `tracker.1a2b3c4d.js`: a new build gets a new name, so old copies can be
/// cached forever.
fn hashed_name(name: &str, content: &[u8]) -> String {
    let digest = hex(&Sha256::digest(content)[..4]);
    match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{digest}.{ext}"),
        None => format!("{name}.{digest}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AssetName;

    #[test]
    fn the_loader_learns_the_hashed_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("t.js"),
            "load('__MIKOMI_GLUE__','__MIKOMI_WASM__','__MIKOMI_COLLECT__')",
        )
        .expect("write");
        std::fs::write(dir.path().join("tracker.js"), "glue").expect("write");
        std::fs::write(dir.path().join("tracker_bg.wasm"), b"\0asm").expect("write");
        let config = AssetsConfig {
            dir: dir.path().to_path_buf(),
            loader: AssetName::new("t.js"),
            glue: AssetName::new("tracker.js"),
            wasm: AssetName::new("tracker_bg.wasm"),
        };
        let tag = TagAssets::load(&config).expect("load");
        let glue = hashed_name("tracker.js", b"glue");
        let wasm = hashed_name("tracker_bg.wasm", b"\0asm");
        let loader = tag.get("t.js").expect("loader");
        assert_eq!(
            loader.body,
            Bytes::from(format!("load('{glue}','{wasm}','v1/collect')"))
        );
        let hashed = tag
            .get(&wasm)
            .expect("hashed wasm")
            .respond(&HeaderMap::new());
        assert_eq!(hashed.headers()[header::CONTENT_TYPE], "application/wasm");
        assert_eq!(hashed.headers()[header::CACHE_CONTROL], IMMUTABLE);
        // Every file of the tag is usable from a page on another origin.
        for name in ["t.js", "tracker.js", "tracker_bg.wasm", &glue, &wasm] {
            let answer = tag
                .get(name)
                .expect("a tag file")
                .respond(&HeaderMap::new());
            let headers = answer.headers();
            assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*", "{name}");
            assert_eq!(headers["cross-origin-resource-policy"], "cross-origin");
            assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        }
    }

    #[test]
    fn a_matching_etag_gets_304() {
        let asset = Asset::new(Bytes::from_static(b"x"), "text/plain", SHORT);
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, asset.etag.clone());
        assert_eq!(asset.respond(&headers).status(), StatusCode::NOT_MODIFIED);
        assert_eq!(asset.respond(&HeaderMap::new()).status(), StatusCode::OK);
    }

    #[test]
    fn symbolic_links_in_the_demo_site_are_not_served() {
        let outside = tempfile::tempdir().expect("tempdir");
        std::fs::write(outside.path().join("secret.key"), "secret").expect("write");
        let site = tempfile::tempdir().expect("tempdir");
        std::fs::write(site.path().join("index.html"), "<p>hello</p>").expect("write");
        std::os::unix::fs::symlink(
            outside.path().join("secret.key"),
            site.path().join("key.txt"),
        )
        .expect("symlink to a file");
        std::os::unix::fs::symlink(outside.path(), site.path().join("up")).expect("symlink");
        let demo = DemoSite::load(site.path()).expect("load");
        assert!(demo.get("").is_some(), "the real file is served");
        assert!(demo.get("key.txt").is_none(), "a link to a file is skipped");
        assert!(
            demo.get("up/secret.key").is_none(),
            "a link to a folder is skipped"
        );
    }

    #[test]
    fn a_missing_build_is_empty_not_an_error() {
        let config = AssetsConfig {
            dir: "/nonexistent".into(),
            ..AssetsConfig::default()
        };
        assert!(!TagAssets::load(&config).expect("load").is_built());
    }
}
