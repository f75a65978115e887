//! The page and the package: from a directory given, never outside it, or
//! from the copy built into the program; and the headers every answer has.

use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::Site;

/// The page may run its own scripts and compile wasm, talk to this server,
/// and nothing else: no inline script, no other origin, no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The files built into the program (`build.rs`).
mod site {
    include!(concat!(env!("OUT_DIR"), "/site.rs"));
}

/// A directory given for the page or the package has what it must; a
/// program built without `pkg/` needs `--pkg`.
pub(super) fn check_site(www: Option<&Path>, pkg: Option<&Path>) -> io::Result<()> {
    for (dir, file, hint) in [
        (www, "index.html", "--www names the dashboard's directory"),
        (
            pkg,
            "browser.js",
            "build it with `make pkg`, or point --pkg at it",
        ),
    ] {
        if let Some(dir) = dir.filter(|dir| !dir.join(file).is_file()) {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{}: no {file} ({hint})", dir.display()),
            ));
        }
    }
    if pkg.is_none() && !site::HAS_PKG {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "this program was built without the npm package's browser build: \
             run `make pkg` before building it, or pass --pkg DIR",
        ));
    }
    Ok(())
}

pub(super) async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// A file of the page, or of the package under `/pkg/`: from the directory
/// given, never outside it, or from the copy built into the program.
pub(super) async fn file(State(site): State<Arc<Site>>, uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    let (dir, rest) = match path.strip_prefix("pkg/") {
        Some(rest) => (&site.pkg, rest),
        None => (&site.www, path),
    };
    let body = match dir {
        Some(root) => match contained(root, rest) {
            Some(file) => tokio::fs::read(&file).await.ok(),
            None => None,
        },
        None => site::FILES
            .iter()
            .find(|(name, _)| *name == path)
            .map(|(_, bytes)| bytes.to_vec()),
    };
    match body {
        Some(body) => (
            [(header::CONTENT_TYPE, content_type(Path::new(path)))],
            body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `root/relative` if `relative` has only plain components (no `..`, no
/// absolute part, no hidden files).
fn contained(root: &Path, relative: &str) -> Option<PathBuf> {
    let relative = Path::new(relative);
    let plain = relative.components().all(|c| match c {
        Component::Normal(part) => !part.to_string_lossy().starts_with('.'),
        _ => false,
    });
    plain.then(|| root.join(relative))
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}
