//! `serve` against a real `redis-server`: the feed, `/metrics`, backfill,
//! slow and hostile clients, its headers and hosts, and the program copied
//! to an empty directory serving the dashboard.

mod common;
#[path = "common/program.rs"]
mod program;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::redis_server::RedisServer;
use program::*;
use serde_json::Value;

#[test]
fn serve_metrics_count_known_traffic_and_redis_down_is_said_in_the_terminal() {
    let mut server = RedisServer::start();
    let served = serve(&server);
    // Its follower starts at the stream's end: wait until it is there.
    metrics_when(&served.addr, |m| m.contains("crowd_envelope_redis_up 1"));
    std::thread::sleep(Duration::from_millis(300));
    publish(&server, &[prediction("A?"), prediction("B?")]);
    server.cli(&["XADD", STREAM, "*", "data", "[]"]);
    server.cli(&["XADD", STREAM, "*", "data", "{"]);
    server.cli(&["XADD", STREAM, "*", "other", "x"]);
    let feed = std::net::TcpStream::connect(&served.addr).unwrap();
    write!(&feed, "GET /feed HTTP/1.1\r\nHost: {}\r\n\r\n", served.addr).unwrap();
    // Once the last of the five is counted (the follower may still be
    // reading the others when the first scrape comes).
    let body = metrics_when(&served.addr, |m| {
        m.contains("crowd_envelope_entries_decoded_total 2\n")
            && m.contains("crowd_envelope_feed_clients 1\n")
            && m.contains("crowd_envelope_entries_rejected_total{reason=\"no_data\"} 1\n")
    });
    for line in [
        "crowd_envelope_entries_rejected_total{reason=\"invalid\"} 1\n",
        "crowd_envelope_entries_rejected_total{reason=\"invalid_json\"} 1\n",
        "crowd_envelope_entries_rejected_total{reason=\"no_data\"} 1\n",
        "# TYPE crowd_envelope_entries_decoded_total counter\n",
        "crowd_envelope_redis_up 1\n",
    ] {
        assert!(body.contains(line), "{line} in {body}");
    }
    let age: f64 = body
        .lines()
        .find_map(|l| l.strip_prefix("crowd_envelope_last_entry_age_seconds "))
        .unwrap()
        .parse()
        .unwrap();
    assert!((0.0..60.0).contains(&age), "{age}");
    drop(feed);
    metrics_when(&served.addr, |m| {
        m.contains("crowd_envelope_feed_clients 0\n")
    });

    server.kill();
    metrics_when(&served.addr, |m| m.contains("crowd_envelope_redis_up 0"));
    let log = served.log.lock().unwrap().clone();
    assert!(log.contains("does not answer"), "{log}");
    server.restart();
    metrics_when(&served.addr, |m| m.contains("crowd_envelope_redis_up 1"));
    let log = served.log.lock().unwrap().clone();
    assert!(log.contains("answers"), "{log}");
}

#[test]
fn serve_relays_an_entry_over_its_limit_without_its_data() {
    let server = RedisServer::start();
    let ids = publish(&server, &[prediction("Q?")]);
    let served = serve_with(&server, &["--max-payload-bytes", "100"]);
    let feed = feed_text(
        &served.addr,
        "Last-Event-ID: 0-0\r\n",
        Duration::from_millis(1500),
    );
    assert!(feed.contains(&ids[0]), "{feed}");
    assert!(feed.contains("\"too_large\":"), "{feed}");
    assert!(!feed.contains("Q?"), "the payload is not relayed: {feed}");
}

#[test]
fn a_resuming_client_catches_up_on_no_more_than_max_backfill() {
    let server = RedisServer::start();
    let ids = publish(
        &server,
        &(0..30)
            .map(|i| prediction(&format!("Q{i}?")))
            .collect::<Vec<_>>(),
    );
    let served = serve_with(&server, &["--max-backfill", "5"]);
    let wait = Duration::from_millis(1500);
    let from_start = feed_ids(&served.addr, "Last-Event-ID: 0-0\r\n", wait);
    assert_eq!(from_start, ids[25..], "the newest 5, oldest first");
    let recent = feed_ids(
        &served.addr,
        &format!("Last-Event-ID: {}\r\n", ids[27]),
        wait,
    );
    assert_eq!(
        recent,
        ids[28..],
        "only what came after the client's last id"
    );
    let bogus = feed_ids(
        &served.addr,
        "Last-Event-ID: 99999999999999999999-0\r\n",
        wait,
    );
    assert!(
        bogus.is_empty(),
        "an id Redis would refuse is ignored: {bogus:?}"
    );
}

#[test]
fn clients_that_read_nothing_cost_serve_a_bounded_queue_each() {
    let server = RedisServer::start();
    let served = serve_with(&server, &["--max-payload-bytes", "2000000"]);
    let stalled: Vec<std::net::TcpStream> = (0..3).map(|_| stalled_feed(&served.addr)).collect();
    std::thread::sleep(Duration::from_millis(300));
    // 60 envelopes of 1 MB each (a big meta), relayed to three clients that
    // never read: without a bound, each would queue all of them.
    publish_big_envelopes(&server, 60);
    std::thread::sleep(Duration::from_secs(2));
    let peak = common::peak_kib(served.child.id());
    eprintln!("serve: {peak} KiB at peak for 3 stalled clients");
    assert!(
        peak < 160 * 1024,
        "serve held {peak} KiB for 3 stalled clients"
    );
    drop(stalled);
}

#[test]
fn serve_answers_only_requests_that_name_this_machine() {
    let server = RedisServer::start();
    let served = serve(&server);
    let port = served.addr.rsplit(':').next().unwrap();
    for host in [
        served.addr.clone(),
        format!("localhost:{port}"),
        format!("LOCALHOST:{port}"),
    ] {
        let page = http_to(&served.addr, &host, "GET / HTTP/1.1");
        assert!(page.starts_with("HTTP/1.1 200"), "{host}: {page}");
    }
    for host in [
        "evil.example",
        &format!("evil.example:{port}"),
        "localhost:1",
        "127.0.0.1",
    ] {
        for path in ["/", "/feed"] {
            let answer = http_to(&served.addr, host, &format!("GET {path} HTTP/1.1"));
            assert!(
                answer.starts_with("HTTP/1.1 421"),
                "{host} {path}: {answer}"
            );
        }
    }
}

#[test]
fn serve_answers_get_only_with_security_headers_and_nothing_outside_its_directories() {
    let server = RedisServer::start();
    let served = serve(&server);
    let page = http(&served.addr, "GET / HTTP/1.1");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    let head = page.to_ascii_lowercase();
    for header in [
        "content-security-policy: default-src 'none'; script-src 'self' 'wasm-unsafe-eval'",
        "x-content-type-options: nosniff",
        "x-frame-options: deny",
        "referrer-policy: no-referrer",
    ] {
        assert!(head.contains(header), "missing {header}");
    }
    assert!(
        !head.contains("access-control-allow-origin"),
        "no CORS by default"
    );
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        for path in ["/", "/feed", "/app.js"] {
            let response = http(&served.addr, &format!("{method} {path} HTTP/1.1"));
            assert!(
                response.starts_with("HTTP/1.1 405"),
                "{method} {path}: {response}"
            );
        }
    }
    for path in [
        "/pkg/../Cargo.toml",
        "/../Cargo.toml",
        "/.gitignore",
        "/pkg/%2e%2e/Cargo.toml",
        "/nope.js",
    ] {
        let response = http(&served.addr, &format!("GET {path} HTTP/1.1"));
        assert!(response.starts_with("HTTP/1.1 404"), "{path}: {response}");
    }
    let wasm_ok = http(&served.addr, "GET /pkg/browser.js HTTP/1.1");
    assert!(
        wasm_ok
            .to_ascii_lowercase()
            .contains("content-type: text/javascript"),
        "{wasm_ok}"
    );
}

#[test]
fn serve_listens_on_loopback_only_unless_asked() {
    let server = RedisServer::start();
    let help = run(&server, &["serve", "--help"], b"");
    assert!(
        stdout(&help).contains("[default: 127.0.0.1:8080]"),
        "{}",
        stdout(&help)
    );
    let served = serve(&server);
    assert!(served.addr.starts_with("127.0.0.1:"), "{}", served.addr);
    let port = served.addr.rsplit(':').next().unwrap();
    // Every address of this machine other than loopback must refuse.
    let out = Command::new("hostname").arg("-I").output().unwrap();
    let others: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter(|ip| !ip.starts_with("127.") && !ip.contains(':'))
        .map(str::to_owned)
        .collect();
    for ip in &others {
        let reached = std::net::TcpStream::connect_timeout(
            &format!("{ip}:{port}").parse().unwrap(),
            Duration::from_secs(2),
        );
        assert!(reached.is_err(), "reachable on {ip}:{port}");
    }
    // And it answers on loopback, so the refusals above mean something.
    assert!(http(&served.addr, "GET / HTTP/1.1").starts_with("HTTP/1.1 200"));
}

#[test]
fn serve_closes_connections_that_never_finish_their_headers() {
    use std::io::Read;
    let server = RedisServer::start();
    let served = serve(&server);
    let mut halves: Vec<std::net::TcpStream> = (0..50)
        .map(|_| {
            let mut stream = std::net::TcpStream::connect(&served.addr).unwrap();
            write!(stream, "GET / HTTP/1.1\r\nHost: {}\r\n", served.addr).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(20)))
                .unwrap();
            stream
        })
        .collect();
    let started = Instant::now();
    for stream in &mut halves {
        let mut rest = Vec::new();
        // Closed by the server (an error response, or nothing), not left open.
        let _ = stream.read_to_end(&mut rest);
        assert!(
            started.elapsed() < Duration::from_secs(19),
            "the connection was left open"
        );
    }
    // Whole requests are still answered.
    assert!(http(&served.addr, "GET / HTTP/1.1").starts_with("HTTP/1.1 200"));
}

#[test]
fn serve_tells_the_page_of_a_stream_made_anew() {
    let server = RedisServer::start();
    let data = serde_json::json!({"x": 1}).to_string();
    server.cli(&["XADD", STREAM, "5000-0", "data", &data]);
    // A wait for entries after 5000-0 ends only with its block time.
    let served = serve_with(&server, &["--block-ms", "200"]);
    let remake = std::thread::scope(|scope| {
        let feed = scope.spawn(|| feed_text(&served.addr, "", Duration::from_secs(3)));
        std::thread::sleep(Duration::from_millis(800));
        server.cli(&["DEL", STREAM]);
        server.cli(&["XADD", STREAM, "1-0", "data", &data]);
        feed.join().unwrap()
    });
    let gap = remake
        .lines()
        .skip_while(|line| !line.starts_with("event: gap"))
        .find_map(|line| line.strip_prefix("data: "))
        .unwrap_or_else(|| panic!("a gap event: {remake}"));
    let gap: Value = serde_json::from_str(gap).unwrap();
    assert_eq!(gap["reason"], "stream_reset");
    assert_eq!(gap["after"], "5000-0");
    assert!(remake.contains("id: 1-0"), "then the new entry: {remake}");
}

#[test]
fn serve_sends_a_burst_several_entries_to_an_event_in_order_and_whole() {
    let server = RedisServer::start();
    let served = serve_with(&server, &[]);
    let out = run(&server, &["build"], prediction("Q?").as_bytes());
    let envelope = stdout(&out).trim().to_owned();
    // 200 entries added at once (a script runs whole): a burst the
    // follower finds waiting.
    let burst = "for i = 1, 200 do redis.call('XADD', KEYS[1], '*', 'data', ARGV[1]) end";
    let text = std::thread::scope(|scope| {
        let feed = scope.spawn(|| feed_text(&served.addr, "", Duration::from_secs(3)));
        std::thread::sleep(Duration::from_millis(800));
        server.cli(&["EVAL", burst, "1", STREAM, &envelope]);
        feed.join().unwrap()
    });
    let added = server.cli(&["XRANGE", STREAM, "-", "+"]);
    let is_id = |line: &&str| {
        line.split_once('-').is_some_and(|(ms, seq)| {
            [ms, seq]
                .iter()
                .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
        })
    };
    let ids: Vec<&str> = added.lines().filter(is_id).collect();
    assert_eq!(ids.len(), 200, "{added}");
    let entries = feed_entries(&text);
    let relayed: Vec<&str> = entries.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(relayed, ids, "every entry once, in order");
    assert!(entries.iter().all(|e| e["data"] == envelope.as_str()));
    let events = text.matches("event: entries").count();
    assert!(
        events <= ids.len() / 4,
        "{events} events for {} entries",
        ids.len()
    );
}

#[test]
fn serve_drops_a_client_that_reads_nothing() {
    use std::io::Read;
    let server = RedisServer::start();
    let served = serve_with(
        &server,
        &[
            "--drop-stalled-ms",
            "1000",
            "--max-payload-bytes",
            "2000000",
        ],
    );
    let mut stalled = stalled_feed(&served.addr);
    std::thread::sleep(Duration::from_millis(300));
    // Far more than the socket buffers and the client's queue hold.
    publish_big_envelopes(&server, 40);
    std::thread::sleep(Duration::from_secs(3));
    // Dropped: what was sent before ends, and the connection closes.
    stalled
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut received = Vec::new();
    let ended = stalled.read_to_end(&mut received);
    assert!(ended.is_ok(), "the server closed the feed: {ended:?}");
    let text = String::from_utf8_lossy(&received);
    assert!(
        feed_entries(&text).len() < 40,
        "not every entry was queued for it"
    );
    // Others are still served.
    assert!(http(&served.addr, "GET / HTTP/1.1").starts_with("HTTP/1.1 200"));
}

#[test]
fn the_program_copied_to_an_empty_directory_serves_the_dashboard_and_the_wasm() {
    let built = concat!(env!("CARGO_MANIFEST_DIR"), "/pkg/browser.js");
    assert!(
        std::path::Path::new(built).is_file(),
        "pkg/ must be built before the program (make test-rust builds it first)"
    );
    let server = RedisServer::start();
    let dir = std::env::temp_dir().join(format!("crowd-bare-{}", server.port));
    std::fs::create_dir_all(&dir).unwrap();
    let program = dir.join("crowd-envelope");
    std::fs::copy(env!("CARGO_BIN_EXE_crowd-envelope"), &program).unwrap();
    let mut child = Command::new(&program)
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--redis-url",
            &server.url(),
        ])
        .current_dir(&dir)
        .env_remove("CROWD_STREAM")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let line = BufReader::new(child.stderr.take().unwrap())
        .lines()
        .next()
        .unwrap()
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap()
        .to_owned();
    for (path, content_type, holds) in [
        ("/", "text/html", "<title>"),
        ("/app.js", "text/javascript", "./js/feed.js"),
        ("/js/state.js", "text/javascript", "decodeStreamEntry"),
        (
            "/pkg/browser.js",
            "text/javascript",
            "crowd_envelope_bg.wasm",
        ),
        ("/pkg/dist/entry.js", "text/javascript", "decodeStreamEntry"),
        (
            "/pkg/wasm/web/crowd_envelope_bg.wasm",
            "application/wasm",
            "\0asm",
        ),
    ] {
        let response = http(&addr, &format!("GET {path} HTTP/1.1"));
        assert!(
            response.starts_with("HTTP/1.1 200"),
            "{path}: {}",
            &response[..80.min(response.len())]
        );
        assert!(
            response.contains(&format!("content-type: {content_type}")),
            "{path}"
        );
        assert!(response.contains(holds), "{path} holds {holds:?}");
    }
    for missing in ["/pkg/dist/cjs/index.js", "/pkg/../Cargo.toml", "/nope.js"] {
        let response = http(&addr, &format!("GET {missing} HTTP/1.1"));
        assert!(
            response.starts_with("HTTP/1.1 404"),
            "{missing}: {response}"
        );
    }
    let _ = child.kill();
    let _ = child.wait();
    std::fs::remove_dir_all(dir).unwrap();
}
