//! The program against a real `redis-server`: running its subcommands, and
//! `serve` with its feed, read over raw sockets. Included by the test files
//! that run the program (`#[path]`), as only they have its binary.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::redis_server::RedisServer;

pub const STREAM: &str = "maf:arena:crowd_simulation:output";

/// Where the program's Redis is: a server, or any URL (a cluster's, the
/// Sentinels').
pub trait RedisAt {
    fn redis_url(&self) -> String;
    /// A number that tells this Redis from others (for scratch names).
    fn tag(&self) -> u16;
}

impl RedisAt for RedisServer {
    fn redis_url(&self) -> String {
        self.url()
    }
    fn tag(&self) -> u16 {
        self.port
    }
}

/// A Redis by URL alone.
pub struct Url(pub String);

impl RedisAt for Url {
    fn redis_url(&self) -> String {
        self.0.clone()
    }
    fn tag(&self) -> u16 {
        self.0
            .bytes()
            .fold(0u16, |h, b| h.wrapping_mul(31).wrapping_add(b.into()))
    }
}

pub fn command(server: &impl RedisAt, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_crowd-envelope"));
    command
        .args(args)
        .env("CROWD_REDIS_URL", server.redis_url())
        .env_remove("CROWD_STREAM")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

pub fn run(server: &impl RedisAt, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = command(server, args).spawn().unwrap();
    // A command that fails before reading its input closes the pipe early.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

pub fn prediction(question: &str) -> String {
    serde_json::json!({
        "source_type": "polymarket_bet", "source_id": "m-1", "question": question,
        "probability": 0.7, "confidence": 0.8, "market_probability": 0.5,
        "crowd": {"agents": 10, "bullish": 6, "bearish": 3, "neutral": 1},
        "generated_at": "2026-01-01T00:00:00Z"
    })
    .to_string()
}

pub fn publish(server: &impl RedisAt, predictions: &[String]) -> Vec<String> {
    let input = predictions.join("\n");
    let out = run(server, &["publish", "--lines"], input.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout(&out).lines().map(str::to_owned).collect()
}

pub fn terminate(child: &mut Child) {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
}

/// `consume` in group `g` from the start of the stream, and `extra`.
pub fn consume<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "consume",
        "--group",
        "g",
        "--from",
        "0",
        "--block-ms",
        "100",
    ];
    args.extend_from_slice(extra);
    args
}

/// `crowd-envelope serve` on a free loopback port, with a stand-in package
/// directory (these tests are about the server, not the package).
pub struct Served {
    pub child: Child,
    pub addr: String,
    _pkg: PathBuf,
    /// What serve wrote to standard error besides its address line (drained
    /// as it comes, so serve never blocks on a full pipe).
    pub log: Arc<Mutex<String>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn serve(server: &impl RedisAt) -> Served {
    serve_with(server, &[])
}

pub fn serve_with(server: &impl RedisAt, extra: &[&str]) -> Served {
    let pkg = std::env::temp_dir().join(format!("crowd-pkg-{}", server.tag()));
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("browser.js"), "export {};\n").unwrap();
    let www = concat!(env!("CARGO_MANIFEST_DIR"), "/www");
    let mut child = command(server, &["serve", "--addr", "127.0.0.1:0", "--www", www])
        .arg("--pkg")
        .arg(&pkg)
        .args(extra)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    // The address line; a line its Redis check logs may come before it.
    let mut early = String::new();
    let addr = loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("serve ended before its address: {early}"))
            .unwrap();
        match line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
        {
            Some(addr) => break addr.to_owned(),
            None => {
                early.push_str(&line);
                early.push('\n');
            }
        }
    };
    let log = Arc::new(Mutex::new(early));
    let sink = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let mut log = sink.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    Served {
        child,
        addr,
        _pkg: pkg,
        log,
    }
}

/// The body of `GET /metrics` once `ready` holds of it (within 10 s).
pub fn metrics_when(addr: &str, ready: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // Not listening yet is not ready yet.
        let response = try_http(addr, addr, "GET /metrics HTTP/1.1").unwrap_or_default();
        let body = response
            .split("\r\n\r\n")
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        if ready(&body) {
            assert!(response.contains("text/plain; version=0.0.4"), "{response}");
            return body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "metrics never ready: {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn http(addr: &str, request_line: &str) -> String {
    http_to(addr, addr, request_line)
}

/// The request, naming `host` in its `Host` header.
pub fn http_to(addr: &str, host: &str, request_line: &str) -> String {
    try_http(addr, host, request_line).unwrap()
}

pub fn try_http(addr: &str, host: &str, request_line: &str) -> std::io::Result<String> {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(addr)?;
    write!(
        stream,
        "{request_line}\r\nHost: {host}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )?;
    // Bytes (a wasm file, say) are shown lossily.
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    Ok(String::from_utf8_lossy(&response).into_owned())
}

/// The entries' ids `/feed` sends within `wait`, asked with `headers`.
pub fn feed_ids(addr: &str, headers: &str, wait: Duration) -> Vec<String> {
    entry_ids(&feed_text(addr, headers, wait))
}

/// The ids of the entries in a feed's text ([`feed_entries`]), in order.
pub fn entry_ids(text: &str) -> Vec<String> {
    feed_entries(text)
        .iter()
        .map(|entry| entry["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The entries of the `entries` events in a feed's text, in order; each
/// event's SSE id is checked to be its last entry's. What follows the last
/// blank line may be an event cut off by the read, and is left out.
pub fn feed_entries(text: &str) -> Vec<serde_json::Value> {
    let mut entries = Vec::new();
    let mut events: Vec<&str> = text.split("\n\n").collect();
    events.pop();
    for event in events {
        let field = |name: &str| {
            event
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .map(str::trim)
        };
        if field("event:") != Some("entries") {
            continue;
        }
        let batch: Vec<serde_json::Value> = serde_json::from_str(field("data:").unwrap()).unwrap();
        assert!(!batch.is_empty(), "{event}");
        assert_eq!(
            field("id:"),
            batch.last().unwrap()["id"].as_str(),
            "{event}"
        );
        entries.extend(batch);
    }
    entries
}

/// What `/feed` sends within `wait`, asked with `headers`.
pub fn feed_text(addr: &str, headers: &str, wait: Duration) -> String {
    feed_text_at(addr, "/feed", headers, wait)
}

/// What `target` (`/feed?backfill=N`, say) sends within `wait`.
pub fn feed_text_at(addr: &str, target: &str, headers: &str, wait: Duration) -> String {
    feed_text_until(addr, target, headers, wait, |_| false)
}

/// What `target` sends until `done` holds of it, or `wait` has passed: for
/// a read whose time on a loaded machine is not known.
pub fn feed_text_until(
    addr: &str,
    target: &str,
    headers: &str,
    wait: Duration,
    done: impl Fn(&str) -> bool,
) -> String {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\n{headers}\r\n"
    )
    .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let deadline = Instant::now() + wait;
    let mut received = Vec::new();
    let mut buffer = [0u8; 65536];
    while Instant::now() < deadline && !done(&String::from_utf8_lossy(&received)) {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(_) => {}
        }
    }
    String::from_utf8_lossy(&received).into_owned()
}

/// A client of `/feed` that asks and then reads nothing.
pub fn stalled_feed(addr: &str) -> std::net::TcpStream {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(stream, "GET /feed HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    stream
}

/// Publishes `count` envelopes of 1 MB each (a big `meta`).
pub fn publish_big_envelopes(server: &RedisServer, count: usize) {
    let big = "m".repeat(1 << 20);
    let envelope = serde_json::json!({
        "prediction": serde_json::from_str::<Value>(&prediction("Big?")).unwrap(),
        "decision": {"side": "yes", "edge": 0.2, "price": 0.5, "stake_fraction": 0.1, "reason": "r"},
        "decision_kind": "polymarket_side",
        "published_at": "2026-01-01T00:00:00Z",
        "correlation_id": "c",
        "meta": {"text": big},
    })
    .to_string();
    let input = vec![envelope; count].join("\n");
    let args = [
        "publish",
        "--envelope",
        "--lines",
        "--max-payload-bytes",
        "2000000",
    ];
    let out = run(server, &args, input.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// Waits up to `secs` for `condition`, checking every 50 ms.
pub fn wait_for(secs: u64, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
