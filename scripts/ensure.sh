#!/usr/bin/env bash
# Installs what a build or test needs, once: each step checks first and skips
# what is already there, so running it again costs a few milliseconds.
#
#   scripts/ensure.sh native-deps wasm-target wasm-bindgen node-modules redis chromium
#
# wasm-target prints nothing on stdout; use scripts/wasm-cargo.sh to build.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "ensure: $*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else
        log "need root to run: $*"
        log "install it by hand, then run this again"
        exit 2
    fi
}

APT_UPDATED=0
apt_install() {
    if ! command -v apt-get >/dev/null; then
        log "missing $*, and this is not a Debian machine: install the equivalent of the Debian packages '$*'"
        exit 2
    fi
    if [ "$APT_UPDATED" = 0 ]; then
        log "apt-get update"
        as_root apt-get update -qq
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# A wasm32 standard library: rustup's when it has one (an ordinary laptop),
# else Debian's rustc-web with the library source, built with -Zbuild-std
# (see scripts/wasm-cargo.sh). `rustup target add` can hang without
# internet, so it gets a short timeout.
wasm_target() {
    if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
        return
    fi
    if [ -x /usr/bin/cargo ] && [ -d /usr/lib/rustlib/src/rust/library ] && [ -e /usr/bin/rust-lld ] && [ -e "$(readlink -f /usr/bin/rust-lld)" ]; then
        return
    fi
    if command -v rustup >/dev/null && timeout 30 rustup target add wasm32-unknown-unknown >/dev/null 2>&1; then
        return
    fi
    log "no wasm32 target from rustup; using Debian's rustc-web and building std from source"
    apt_install rustc-web cargo-web rust-web-src rust-web-llvm
    # rust-lld is a link to lld-<llvm version>, which rust-web-llvm does not pull in.
    local lld
    lld="$(basename "$(readlink /usr/bin/rust-lld)")"
    [ -e "/usr/bin/$lld" ] || apt_install "$lld"
}

# The wasm-bindgen CLI must be exactly the version in Cargo.lock.
wasm_bindgen() {
    local want
    want="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[" ]/, ""); sub("version=", ""); print; exit }' Cargo.lock)"
    if [ -z "$want" ]; then
        log "cannot find the wasm-bindgen version in Cargo.lock"
        exit 2
    fi
    if [ "$(wasm-bindgen --version 2>/dev/null)" = "wasm-bindgen $want" ]; then
        return
    fi
    log "cargo install wasm-bindgen-cli $want (about 3 minutes)"
    cargo install --quiet wasm-bindgen-cli --version "=$want"
}

node_modules() {
    if ! command -v npm >/dev/null; then
        apt_install nodejs npm
    fi
    if [ node_modules/.package-lock.json -nt package-lock.json ]; then
        return
    fi
    log "npm ci"
    npm ci --no-audit --no-fund --loglevel=error
}

# What the native build links: OpenSSL, for feature redis-tls (native-tls),
# which --all-features and its own TLS test build.
native_deps() {
    if ! pkg-config --exists openssl 2>/dev/null; then
        apt_install pkg-config libssl-dev
    fi
}

redis() {
    command -v redis-server >/dev/null || apt_install redis-server
    # The rediss:// test makes its CA and certificate with openssl.
    command -v openssl >/dev/null || apt_install openssl
    # Debian starts a system-wide server on 6379; the tests start their own.
}

chromium() {
    [ -x /usr/bin/chromium ] || apt_install chromium
}

for what in "$@"; do
    case "$what" in
        wasm-target) wasm_target ;;
        wasm-bindgen) wasm_bindgen ;;
        node-modules) node_modules ;;
        native-deps) native_deps ;;
        redis) redis ;;
        chromium) chromium ;;
        *) log "unknown: $what"; exit 2 ;;
    esac
done
