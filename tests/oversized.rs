//! Entries over the payload limit, from the issue 26 attack: every reader
//! (tail, consume and its claims and retries, dead list/show/replay, serve)
//! learns an entry's size inside Redis and never holds one, each measured
//! against the same command on small entries.

mod common;
#[path = "common/program.rs"]
mod program;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::redis_server::RedisServer;
use program::*;
use serde_json::Value;

/// 40 entries of 8 MiB (and one small one after them).
fn add_big_entries(server: &RedisServer, key: &str, extra: &[&str]) {
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(8 << 20));
    let fields: String = extra.iter().map(|f| format!("'{f}', ")).collect();
    let script =
        format!("for i = 1, 40 do redis.call('XADD', KEYS[1], '*', {fields}'data', ARGV[1]) end");
    server.eval_with_value(&script, key, big.as_bytes());
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
    let dead_len = server.cli(&["XLEN", &format!("{{{STREAM}}}:dead")]);
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
    let dead_memory = server.cli(&["MEMORY", "USAGE", &format!("{{{STREAM}}}:dead")]);
    let dead_memory: u64 = dead_memory.trim().parse().unwrap();
    assert!(
        dead_memory < 1 << 20,
        "no payload copied: {dead_memory} bytes"
    );

    // Dead letters that do hold 8 MiB each (an older consumer, or
    // --copy-oversized): listed and shown without their data.
    server.cli(&["DEL", &format!("{{{STREAM}}}:dead")]);
    add_big_entries(
        &server,
        &format!("{{{STREAM}}}:dead"),
        &["reason", "invalid_json"],
    );
    let (out, peak) = run_measured(&server, &["dead", "list", "--count", "40"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 40);
    eprintln!("dead list over 40 x 8 MiB dead letters: {peak} KiB");
    assert!(peak < bound, "dead list held {peak} KiB (small: {idle})");
    let first = server.cli(&[
        "XRANGE",
        &format!("{{{STREAM}}}:dead"),
        "-",
        "+",
        "COUNT",
        "1",
    ]);
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
    let dead = format!("{{{STREAM}}}:dead");
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
    // Measured growth: about 16 MiB (five /stats requests at once, the
    // feed, the allocator's arenas; 16.3 MiB at 51aefdb too). A reader that
    // read these entries whole would hold all 40 of them, over 300 MiB.
    assert!(
        peak < idle + 24 * 1024,
        "serve held {peak} KiB ({idle} KiB before)"
    );
}

/// Pending entries a consumer got under a higher limit: its own retries
/// (take.lua) and another consumer's claims (claim.lua) size them inside
/// Redis like a first read, and dead-letter them by reference.
#[test]
fn a_group_retries_and_claims_no_entry_over_its_limit() {
    let server = RedisServer::start();
    let group = |name: &str, consumer: &str, extra: &[&str]| -> Vec<String> {
        let args = [
            "consume",
            "--group",
            name,
            "--from",
            "0",
            "--consumer",
            consumer,
            "--block-ms",
            "100",
        ];
        args.iter().chain(extra).map(|a| (*a).to_owned()).collect()
    };
    let measured = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (out, peak) = run_measured(&server, &args);
        (stderr(&out), peak)
    };
    publish(
        &server,
        &(0..40)
            .map(|i| prediction(&format!("S{i}?")))
            .collect::<Vec<_>>(),
    );
    let (log, idle) = measured(group("base", "b", &["--limit", "40"]));
    assert!(log.contains("handled 40,"), "{log}");
    server.cli(&["DEL", STREAM]);
    add_big_entries(&server, STREAM, &[]);
    let bound = idle + 8 * 1024;
    // How many entries are pending in a group (0 before it exists: NOGROUP).
    let pending = |name: &str| -> usize {
        let summary = server.cli(&["XPENDING", STREAM, name]);
        summary
            .lines()
            .next()
            .unwrap_or("0")
            .trim()
            .parse()
            .unwrap_or(0)
    };
    // Each started under a 20 MB limit; `false` fails every entry (left
    // pending for a retry), `sleep` holds its batch; then kill -9.
    for (name, exec) in [("retried", "false"), ("claimed", "sleep 30")] {
        let extra = [
            "--max-payload-bytes",
            "20000000",
            "--exec",
            exec,
            "--retry-delay-ms",
            "60000",
        ];
        let args = group(name, "first", &extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut first = command(&server, &args).spawn().unwrap();
        wait_for(60, "entries pending", || pending(name) > 0);
        if exec == "false" {
            wait_for(60, "all 40 failed once", || pending(name) == 40);
        }
        std::thread::sleep(Duration::from_millis(300));
        first.kill().unwrap();
        first.wait().unwrap();
    }
    let held = pending("claimed");

    let limit = "40".to_owned();
    let (log, peak) = measured(group(
        "retried",
        "first",
        &["--retry-delay-ms", "100", "--limit", &limit],
    ));
    eprintln!("retries of 40 x 8 MiB: {peak} KiB (small: {idle})");
    assert!(log.contains("dead-lettered 40 (too_large 40)"), "{log}");
    assert!(peak < bound, "retries held {peak} KiB (small: {idle})");

    let (log, peak) = measured(group(
        "claimed",
        "second",
        &["--claim-idle-ms", "100", "--limit", &limit],
    ));
    eprintln!("claims of {held} of 40 x 8 MiB: {peak} KiB (small: {idle})");
    assert!(log.contains(&format!("claimed {held},")), "{log}");
    assert!(log.contains("dead-lettered 40 (too_large 40)"), "{log}");
    assert!(peak < bound, "claims held {peak} KiB (small: {idle})");
    assert_eq!(pending("retried") + pending("claimed"), 0);
}
