//! With feature `cli`: the dashboard (`www/`) and the browser build of the
//! npm package (`pkg/`, when `make pkg` has made it) are built into the
//! program, so that `serve` runs from any directory, or after
//! `cargo install`. The library is not touched.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_FEATURE_CLI").is_none() {
        return;
    }
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let mut files = Vec::new();
    let www = root.join("www");
    println!("cargo:rerun-if-changed={}", www.display());
    collect(&www, "", &mut files, &|_| true);
    let pkg = root.join("pkg");
    // A missing pkg/ is watched too: `make pkg` then rebuilds with it.
    println!("cargo:rerun-if-changed={}", pkg.display());
    let has_pkg = pkg.join("browser.js").is_file();
    if has_pkg {
        // What browser.js loads: the ES modules and the web glue and wasm.
        let browser = |p: &Path| {
            let name = p.to_string_lossy();
            name.ends_with("browser.js")
                || (name.contains("/dist/")
                    && !name.contains("/dist/cjs/")
                    && name.ends_with(".js"))
                || (name.contains("/wasm/web/")
                    && (name.ends_with(".js") || name.ends_with(".wasm")))
        };
        collect(&pkg, "pkg/", &mut files, &browser);
    }
    files.sort();
    let mut code = String::from("/// The site's files by URL path (no leading `/`).\n");
    code.push_str("pub(super) static FILES: &[(&str, &[u8])] = &[\n");
    for (url, path) in &files {
        let _ = writeln!(
            code,
            "    ({url:?}, include_bytes!({:?})),",
            path.display().to_string()
        );
    }
    code.push_str("];\n");
    let _ = writeln!(
        code,
        "/// Whether `pkg/` was built when the program was.\npub(super) const HAS_PKG: bool = {has_pkg};"
    );
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("site.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}

/// The plain files under `dir` (no hidden ones), as (URL path, file).
fn collect(
    dir: &Path,
    prefix: &str,
    files: &mut Vec<(String, PathBuf)>,
    keep: &dyn Fn(&Path) -> bool,
) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect(&path, &format!("{prefix}{name}/"), files, keep);
        } else if keep(&path) {
            files.push((format!("{prefix}{name}"), path));
        }
    }
}
