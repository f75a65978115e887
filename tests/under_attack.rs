//! The promises an outside attack found broken (backfill, Host, stalled
//! clients, oversized entries, trimmed entries in groups, unsafe text), each
//! held here against the real program and a real `redis-server`.

mod common;
#[path = "common/program.rs"]
mod program;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::redis_server::RedisServer;
use program::*;
use serde_json::Value;
/// A request written as it is, over a raw socket; the whole answer.
fn raw(addr: &str, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

fn status_line(answer: &str) -> &str {
    answer.lines().next().unwrap_or_default()
}

#[test]
fn serve_answers_only_a_request_that_names_one_allowed_host() {
    let server = RedisServer::start();
    let served = serve_with(&server, &["--allow-host", "dash.example"]);
    let addr = served.addr.as_str();
    let port = addr.rsplit(':').next().unwrap();
    for path in ["/stats", "/feed", "/"] {
        for version in ["HTTP/1.0", "HTTP/1.1"] {
            for (what, request) in [
                ("without Host", format!("GET {path} {version}\r\n")),
                (
                    "with two Hosts",
                    format!("GET {path} {version}\r\nHost: {addr}\r\nHost: evil.example\r\n"),
                ),
                (
                    "absolute-form to another host",
                    format!("GET http://evil.example{path} {version}\r\nHost: {addr}\r\n"),
                ),
            ] {
                let answer = raw(addr, &format!("{request}Connection: close\r\n\r\n"));
                assert!(
                    status_line(&answer).contains(" 400 "),
                    "{path} {version} {what}: {answer}"
                );
            }
        }
    }
    // Lookalikes that a prefix, suffix or label match would let through.
    for host in [
        format!("localhost:{port}.evil.example"),
        format!("evil-localhost:{port}"),
        format!("localhost:{port}0"),
        format!("127.0.0.1:{port}:80"),
        "localhost".to_owned(),
        "dash.example.evil".to_owned(),
        "evil.dash.example".to_owned(),
        "dash.exampl".to_owned(),
    ] {
        let answer = http_to(addr, &host, "GET /stats HTTP/1.1");
        assert!(answer.starts_with("HTTP/1.1 421"), "Host {host}: {answer}");
    }
    for host in [
        addr.to_owned(),
        format!("LOCALHOST:{port}"),
        "dash.example".to_owned(),
    ] {
        let answer = http_to(addr, &host, "GET /stats HTTP/1.1");
        assert!(answer.starts_with("HTTP/1.1 200"), "Host {host}: {answer}");
    }
    let same = raw(
        addr,
        &format!("GET http://{addr}/stats HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    );
    assert!(
        same.starts_with("HTTP/1.1 200"),
        "absolute-form naming this host: {same}"
    );
}

/// The gap events of a feed's text, parsed.
fn gaps(text: &str) -> Vec<Value> {
    text.split("\n\n")
        .filter(|event| event.lines().any(|l| l == "event: gap"))
        .filter_map(|event| event.lines().find_map(|l| l.strip_prefix("data: ")))
        .map(|data| serde_json::from_str(data).unwrap())
        .collect()
}

#[test]
fn a_resume_id_above_the_newest_entry_replays_no_more_than_max_backfill() {
    let server = RedisServer::start();
    let ids = publish(
        &server,
        &(0..30)
            .map(|i| prediction(&format!("Q{i}?")))
            .collect::<Vec<_>>(),
    );
    let served = serve_with(&server, &["--max-backfill", "5"]);
    let wait = Duration::from_millis(1500);
    for future in [
        "9999999999999-0",
        "18446744073709551615-18446744073709551615",
    ] {
        let text = feed_text(&served.addr, &format!("Last-Event-ID: {future}\r\n"), wait);
        let got = entry_ids(&text);
        assert_eq!(
            got,
            ids[25..],
            "a future id gets the newest 5, not the stream"
        );
        let gap = &gaps(&text)[0];
        assert_eq!(gap["reason"], "stream_reset", "{text}");
        assert_eq!(gap["after"], future);
    }
    let asked = feed_ids(&served.addr, "", wait);
    assert!(asked.is_empty(), "no backfill unless asked: {asked:?}");
    let text = feed_text(&served.addr, "", wait);
    assert!(gaps(&text).is_empty());
    // ?backfill= above the limit is the limit.
    let served_big = serve_with(&server, &["--max-backfill", "7"]);
    let many = feed_text_at(&served_big.addr, "/feed?backfill=100000", "", wait);
    let many = feed_entries(&many).len();
    assert_eq!(many, 7, "?backfill is capped by --max-backfill");

    // A stream deleted and made anew: the old last id is above every new one.
    server.cli(&["DEL", STREAM]);
    for n in 1..=10 {
        let data = serde_json::json!({"n": n}).to_string();
        server.cli(&["XADD", STREAM, &format!("{n}-0"), "data", &data]);
    }
    let text = feed_text(
        &served.addr,
        &format!("Last-Event-ID: {}\r\n", ids[29]),
        wait,
    );
    let got = entry_ids(&text);
    assert_eq!(got, ["6-0", "7-0", "8-0", "9-0", "10-0"], "{text}");
    assert_eq!(gaps(&text)[0]["reason"], "stream_reset");
}

/// `feed_clients N` in `/metrics`, within `secs`.
fn wait_for_clients(addr: &str, n: usize, secs: u64) {
    let line = format!("crowd_envelope_feed_clients {n}\n");
    wait_for(secs, &line.clone(), || {
        try_http(addr, addr, "GET /metrics HTTP/1.1").is_ok_and(|m| m.contains(&line))
    });
}

#[test]
fn thirty_clients_that_never_read_are_closed_and_cost_a_bounded_amount() {
    let server = RedisServer::start();
    let served = serve_with(
        &server,
        &[
            "--drop-stalled-ms",
            "3000",
            "--max-payload-bytes",
            "2000000",
        ],
    );
    let mut stalled: Vec<TcpStream> = (0..30).map(|_| stalled_feed(&served.addr)).collect();
    wait_for_clients(&served.addr, 30, 10);
    // 40 entries of 1 MB each for 30 clients that read nothing: 1.2 GB if
    // each queued them all (716 MB were seen before the fix).
    publish_big_envelopes(&server, 40);
    let peak = common::peak_kib(served.child.id());
    eprintln!("serve: {peak} KiB at peak for 30 stalled clients");
    assert!(
        peak < 300 * 1024,
        "serve held {peak} KiB for 30 stalled clients"
    );
    // Closed once they took nothing for --drop-stalled-ms: their seats and
    // queues are free, and their sockets end.
    wait_for_clients(&served.addr, 0, 15);
    for stream in &mut stalled {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut sink = Vec::new();
        let ended = stream.read_to_end(&mut sink);
        assert!(
            ended.is_ok() || ended.is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset)
        );
    }
    // A reader that keeps up is still served.
    let newest = server.cli(&["XREVRANGE", STREAM, "+", "-", "COUNT", "1"]);
    let newest = newest.lines().next().unwrap().to_owned();
    let ids = publish(&server, &[prediction("After?")]);
    let text = feed_text_until(
        &served.addr,
        "/feed",
        &format!("Last-Event-ID: {newest}\r\n"),
        Duration::from_secs(20),
        |text| text.contains(&ids[0]),
    );
    assert!(text.contains(&ids[0]), "{}", &text[..text.len().min(500)]);
}

#[test]
fn a_thousand_dashboards_share_one_follower_and_never_exhaust_redis() {
    let server = RedisServer::start_with(&["--maxclients", "300"]);
    let served = serve_with(&server, &["--max-clients", "1000"]);
    let mut feeds: Vec<TcpStream> = (0..1000)
        .map(|_| {
            let mut s = TcpStream::connect(&served.addr).unwrap();
            write!(s, "GET /feed HTTP/1.1\r\nHost: {}\r\n\r\n", served.addr).unwrap();
            s.set_nonblocking(true).unwrap();
            s
        })
        .collect();
    wait_for_clients(&served.addr, 1000, 30);
    let over = http(&served.addr, "GET /feed HTTP/1.1");
    assert!(over.starts_with("HTTP/1.1 503"), "the 1001st: {over}");
    let clients = server.cli(&["INFO", "clients"]);
    let connected: u64 = clients
        .lines()
        .find_map(|l| l.strip_prefix("connected_clients:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        connected < 10,
        "Redis connections with 1000 viewers: {connected}"
    );
    // A producer keeps publishing meanwhile, and every viewer gets it.
    let mut published = Vec::new();
    for round in 0..5 {
        published.extend(publish(&server, &[prediction(&format!("R{round}?"))]));
        std::thread::sleep(Duration::from_millis(100));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut texts = vec![Vec::new(); feeds.len()];
    let last = published.last().unwrap().clone();
    let mut buffer = [0u8; 65536];
    while Instant::now() < deadline {
        let mut all = true;
        for (feed, text) in feeds.iter_mut().zip(texts.iter_mut()) {
            if let Ok(n) = feed.read(&mut buffer) {
                text.extend_from_slice(&buffer[..n]);
            }
            all &= String::from_utf8_lossy(text).contains(&last);
        }
        if all {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for text in &texts {
        let text = String::from_utf8_lossy(text);
        let got = entry_ids(&text);
        assert_eq!(got, published, "each viewer, every entry once, in order");
    }
}

#[test]
fn consume_waits_for_redis_at_its_start_unless_told_to_fail_fast() {
    let mut server = RedisServer::not_yet_started();
    let fast = run(&server, &["consume", "--group", "g", "--fail-fast"], b"");
    assert_eq!(fast.status.code(), Some(2));
    let mut child = command(
        &server,
        &["consume", "--group", "g", "--from", "0", "--limit", "1"],
    )
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "still waiting for Redis"
    );
    server.restart();
    let ids = publish(&server, &[prediction("Late?")]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "consume never got the entry");
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains(&ids[0]), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("reconnecting"),
        "it said it waited: {}",
        stderr(&out)
    );
}

#[test]
fn text_from_the_stream_cannot_reorder_or_drive_a_terminal_in_any_output() {
    let server = RedisServer::start();
    let hostile = "A\u{202e}B\u{9b}31mC\u{2066}D";
    publish(&server, &[prediction(hostile)]);
    let table = stdout(&run(&server, &["tail"], b""));
    let json = stdout(&run(&server, &["tail", "--json"], b""));
    let consumed = {
        let out = run(
            &server,
            &["consume", "--group", "g", "--from", "0", "--limit", "1"],
            b"",
        );
        stdout(&out)
    };
    for (what, text) in [
        ("table", &table),
        ("tail --json", &json),
        ("consume", &consumed),
    ] {
        for c in ['\u{202e}', '\u{9b}', '\u{2066}'] {
            assert!(!text.contains(c), "{what} printed {c:?} raw: {text:?}");
        }
    }
    assert!(table.contains("\\u{202e}"), "{table}");
    for line in [json.trim(), consumed.trim()] {
        assert!(
            line.contains("\\u202e") && line.contains("\\u009b"),
            "{line}"
        );
        let parsed: Value = serde_json::from_str(line).unwrap();
        assert_eq!(
            parsed["envelope"]["prediction"]["question"], hostile,
            "the same value"
        );
    }
}

#[test]
fn a_client_resuming_while_the_stream_is_gone_gets_the_new_stream() {
    let server = RedisServer::start();
    // serve starts (or restarts) while the stream does not exist; a page
    // resumes with an id of the stream that was.
    let served = serve(&server);
    wait_for(10, "serve to answer", || {
        try_http(&served.addr, &served.addr, "GET /stats HTTP/1.1").is_ok()
    });
    let text = std::thread::scope(|scope| {
        let feed = scope.spawn(|| {
            feed_text_until(
                &served.addr,
                "/feed",
                "Last-Event-ID: 5000-0\r\n",
                Duration::from_secs(20),
                |text| text.contains("\"id\":\"2-0\""),
            )
        });
        std::thread::sleep(Duration::from_millis(800));
        for n in 1..=2 {
            let data = serde_json::json!({"n": n}).to_string();
            server.cli(&["XADD", STREAM, &format!("{n}-0"), "data", &data]);
        }
        feed.join().unwrap()
    });
    let got = entry_ids(&text);
    assert_eq!(got, ["1-0", "2-0"], "{text}");
}
