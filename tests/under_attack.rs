//! The promises an outside attack found broken (backfill, Host, stalled
//! clients, oversized entries, trimmed entries in groups, unsafe text), each
//! held here against the real program and a real `redis-server`.

mod common;
#[path = "common/program.rs"]
mod program;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
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

/// 40 entries of 8 MiB (and one small one after them).
fn add_big_entries(server: &RedisServer, key: &str, extra: &[&str]) {
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(8 << 20));
    let fields: String = extra.iter().map(|f| format!("'{f}', ")).collect();
    let script =
        format!("for i = 1, 40 do redis.call('XADD', KEYS[1], '*', {fields}'data', ARGV[1]) end");
    let mut cli = Command::new("redis-cli")
        .args([
            "-p",
            &server.port.to_string(),
            "-x",
            "EVAL",
            &script,
            "1",
            key,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    cli.stdin.take().unwrap().write_all(big.as_bytes()).unwrap();
    assert!(cli.wait().unwrap().success());
}

/// Runs the program to its end; its output and its peak memory in KiB.
/// A child started from this process (which the other tests share, and
/// which holds their big strings) would count this process's memory in
/// its own peak: a small Python parent forks it afresh and writes `wait4`'s
/// maximum resident set to the file `CROWD_RSS_REPORT` names.
fn run_measured(server: &RedisServer, args: &[&str]) -> (Output, u64) {
    const FORK: &str = "import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
with open(os.environ['CROWD_RSS_REPORT'], 'w') as report:
    report.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
";
    let report = std::env::temp_dir().join(format!(
        "crowd-rss-{}-{}-{}",
        std::process::id(),
        server.port,
        args.join("_").replace('/', "")
    ));
    let output = Command::new("python3")
        .args(["-c", FORK, env!("CARGO_BIN_EXE_crowd-envelope")])
        .args(args)
        .env("CROWD_REDIS_URL", server.url())
        .env("CROWD_RSS_REPORT", &report)
        .env_remove("CROWD_STREAM")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let peak = std::fs::read_to_string(&report)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let _ = std::fs::remove_file(&report);
    (output, peak)
}

#[test]
fn no_reader_of_the_stream_holds_an_entry_over_its_limit() {
    let server = RedisServer::start();
    // What the same commands hold on small entries: the bound's base.
    publish(
        &server,
        &(0..40)
            .map(|i| prediction(&format!("S{i}?")))
            .collect::<Vec<_>>(),
    );
    let (small, idle) = run_measured(&server, &["tail", "-n", "40"]);
    assert_eq!(small.status.code(), Some(0));
    server.cli(&["DEL", STREAM]);
    add_big_entries(&server, STREAM, &[]);
    let bound = idle + 8 * 1024;
    eprintln!("tail -n 40 on small entries: {idle} KiB");

    let (out, peak) = run_measured(&server, &["tail", "-n", "40"]);
    eprintln!("tail -n 40 over 40 x 8 MiB: {peak} KiB");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr)
            .matches("too_large")
            .count(),
        40
    );
    assert!(peak < bound, "tail -n held {peak} KiB (small: {idle})");

    // A group: every one dead-lettered as too_large, by reference.
    let (out, peak) = run_measured(
        &server,
        &[
            "consume",
            "--group",
            "g",
            "--from",
            "0",
            "--limit",
            "40",
            "--block-ms",
            "100",
        ],
    );
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!("consume over 40 x 8 MiB: {peak} KiB");
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(log.contains("dead-lettered 40 (too_large 40)"), "{log}");
    assert!(peak < bound, "consume held {peak} KiB (small: {idle})");
    let dead_len = server.cli(&["XLEN", &format!("{STREAM}:dead")]);
    assert_eq!(dead_len.trim(), "40");
    let (out, peak) = run_measured(&server, &["dead", "list", "--json", "--count", "40"]);
    eprintln!("dead list: {peak} KiB");
    let letters: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(letters.len(), 40);
    let stream_ids = server.cli(&["XRANGE", STREAM, "-", "+", "COUNT", "1"]);
    for letter in &letters {
        assert_eq!(letter["reason"], "too_large");
        assert_eq!(
            letter["size"],
            (8 << 20) + 11,
            "its size, by reference: {letter}"
        );
    }
    assert!(
        stream_ids.contains(letters[0]["entry_id"].as_str().unwrap()),
        "left in the stream"
    );
    let dead_memory = server.cli(&["MEMORY", "USAGE", &format!("{STREAM}:dead")]);
    let dead_memory: u64 = dead_memory.trim().parse().unwrap();
    assert!(
        dead_memory < 1 << 20,
        "no payload copied: {dead_memory} bytes"
    );

    // Dead letters that do hold 8 MiB each (an older consumer, or
    // --copy-oversized): listed and shown without their data.
    server.cli(&["DEL", &format!("{STREAM}:dead")]);
    add_big_entries(
        &server,
        &format!("{STREAM}:dead"),
        &["reason", "invalid_json"],
    );
    let (out, peak) = run_measured(&server, &["dead", "list", "--count", "40"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 40);
    eprintln!("dead list over 40 x 8 MiB dead letters: {peak} KiB");
    assert!(peak < bound, "dead list held {peak} KiB (small: {idle})");
    let first = server.cli(&["XRANGE", &format!("{STREAM}:dead"), "-", "+", "COUNT", "1"]);
    let first_id = first.lines().next().unwrap().to_owned();
    let (out, peak) = run_measured(&server, &["dead", "show", &first_id]);
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["data"], Value::Null);
    assert_eq!(shown["size"], (8 << 20) + 11);
    assert!(peak < bound, "dead show held {peak} KiB (small: {idle})");
    let (out, peak) = run_measured(&server, &["dead", "replay", "--all"]);
    eprintln!(
        "dead replay --all: {peak} KiB, {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        peak < bound,
        "dead replay --all held {peak} KiB (small: {idle})"
    );
}

#[test]
fn serve_reads_no_entry_or_dead_letter_over_its_limit() {
    let server = RedisServer::start();
    let dead = format!("{STREAM}:dead");
    let served = serve(&server);
    // What it holds having answered each once, on small entries.
    publish(&server, &[prediction("Small?")]);
    server.cli(&["XADD", &dead, "*", "reason", "invalid_json", "data", "{"]);
    wait_for(10, "serve to answer", || {
        try_http(&served.addr, &served.addr, "GET /stats HTTP/1.1")
            .is_ok_and(|s| s.contains("invalid_json"))
    });
    let small = feed_text(
        &served.addr,
        "Last-Event-ID: 0-0\r\n",
        Duration::from_millis(500),
    );
    assert_eq!(feed_entries(&small).len(), 1);
    let idle = common::peak_kib(served.child.id());
    server.cli(&["DEL", STREAM, &dead]);
    add_big_entries(&server, STREAM, &[]);
    add_big_entries(&server, &dead, &["reason", "invalid_json"]);
    let newest = server.cli(&["XREVRANGE", STREAM, "+", "-", "COUNT", "1"]);
    let newest = newest.lines().next().unwrap().to_owned();
    std::thread::scope(|scope| {
        let asks: Vec<_> = (0..5)
            .map(|_| {
                scope.spawn(|| {
                    let stats = http(&served.addr, "GET /stats HTTP/1.1");
                    assert!(stats.starts_with("HTTP/1.1 200"), "{stats}");
                    let body: Value =
                        serde_json::from_str(stats.split("\r\n\r\n").nth(1).unwrap()).unwrap();
                    assert_eq!(body["dead"].as_array().map(Vec::len), Some(20), "{body}");
                })
            })
            .collect();
        for ask in asks {
            ask.join().unwrap();
        }
    });
    // Each read copies the 8 MiB values inside Redis to size them: one at a
    // time, so that a loaded machine stays within the command timeout.
    let older = http(
        &served.addr,
        &format!("GET /entries?before={newest}&count=39 HTTP/1.1"),
    );
    let body: Value = serde_json::from_str(older.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    let entries = body.as_array().unwrap_or_else(|| panic!("{older}"));
    assert_eq!(entries.len(), 39);
    assert!(entries.iter().all(|e| e["too_large"] == (8 << 20) + 11));
    let text = feed_text_until(
        &served.addr,
        "/feed",
        "Last-Event-ID: 0-0\r\n",
        Duration::from_secs(20),
        |text| feed_entries(text).len() == 40,
    );
    assert_eq!(feed_entries(&text).len(), 40);
    let peak = common::peak_kib(served.child.id());
    eprintln!("serve: {peak} KiB at peak over 5 x /stats, /entries and a backfill of 40 x 8 MiB ({idle} KiB before)");
    assert!(
        peak < idle + 16 * 1024,
        "serve held {peak} KiB ({idle} KiB before)"
    );
}

#[test]
fn a_group_reports_entries_trimmed_before_it_read_them() {
    let server = RedisServer::start();
    let addr = format!("127.0.0.1:{}", common::free_port());
    // The group is made on an empty stream, then 2,000 entries are added
    // and all but the newest 300 trimmed before it reads.
    let mut maker = command(&server, &["consume", "--group", "g", "--block-ms", "100"])
        .spawn()
        .unwrap();
    wait_for(10, "the group", || {
        server
            .cli(&["XINFO", "GROUPS", STREAM])
            .contains("entries-read")
    });
    terminate(&mut maker);
    maker.wait().unwrap();
    let data = serde_json::json!({"x": 1}).to_string();
    let script =
        "for i = 1, 2000 do redis.call('XADD', KEYS[1], 'MAXLEN', 300, '*', 'data', ARGV[1]) end";
    server.cli(&["EVAL", script, "1", STREAM, &data]);
    let first = server.cli(&["XRANGE", STREAM, "-", "+", "COUNT", "1"]);
    let first = first.lines().next().unwrap().to_owned();
    let mut child = command(
        &server,
        &[
            "consume",
            "--group",
            "g",
            "--block-ms",
            "100",
            "--metrics-addr",
            &addr,
        ],
    )
    .stdout(Stdio::null())
    .spawn()
    .unwrap();
    let metrics = metrics_when(&addr, |m| {
        m.contains("crowd_envelope_handler_failures_total{reason=\"handler_failed\"}")
            || m.contains("crowd_envelope_entries_missed_total 1700\n")
    });
    assert!(
        metrics.contains("crowd_envelope_entries_missed_total 1700\n"),
        "{metrics}"
    );
    // The 300 left are not envelopes: read, and each dead-lettered.
    metrics_when(&addr, |m| {
        m.contains("crowd_envelope_group_lag{group=\"g\"} 0\n")
            && m.contains("crowd_envelope_group_pending{group=\"g\"} 0\n")
            && m.contains("crowd_envelope_dead_letters 300\n")
    });
    terminate(&mut child);
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    let told = log.lines().filter(|l| l.contains("trimmed")).count();
    assert_eq!(told, 2, "one gap line and the summary: {log}");
    assert!(log.contains(&format!("0-0..{first}")), "{log}");
    assert!(log.contains("1700"), "{log}");
    // stats: Redis's own lag for the group is right again (0).
    let stats = run(&server, &["stats", "--json"], b"");
    let stats: Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert_eq!(stats["groups"][0]["lag"], 0, "{stats}");
    assert_eq!(stats["groups"][0]["lag_counted"], false, "{stats}");
}

#[test]
fn stats_counts_the_lag_itself_when_redis_s_is_stale() {
    let mut server = RedisServer::start();
    publish(
        &server,
        &(0..20)
            .map(|i| prediction(&format!("Q{i}?")))
            .collect::<Vec<_>>(),
    );
    // Redis's counter made stale by hand, as an AOF reload can leave it.
    server.cli(&["XGROUP", "CREATE", STREAM, "stale", "$", "ENTRIESREAD", "0"]);
    server.cli(&[
        "XGROUP",
        "CREATE",
        STREAM,
        "behind",
        "0",
        "ENTRIESREAD",
        "0",
    ]);
    let ids = publish(
        &server,
        &[prediction("A?"), prediction("B?"), prediction("C?")],
    );
    server.cli(&[
        "XGROUP",
        "SETID",
        STREAM,
        "behind",
        &ids[0],
        "ENTRIESREAD",
        "0",
    ]);
    server.restart(); // and through a real AOF reload
    let stats = run(&server, &["stats", "--json"], b"");
    let stats: Value = serde_json::from_slice(&stats.stdout).unwrap();
    let group = |name: &str| {
        stats["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == name)
            .unwrap()
            .clone()
    };
    // "stale" was at the end before the 3 new ones: 3 wait, not 23.
    assert_eq!(group("stale")["lag"], 3, "{stats}");
    assert_eq!(group("stale")["lag_counted"], true, "{stats}");
    assert_eq!(group("behind")["lag"], 2, "{stats}");
    let table = stdout(&run(&server, &["stats"], b""));
    assert!(
        table.contains("lag 3 (counted: Redis's figure was stale)"),
        "{table}"
    );
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
