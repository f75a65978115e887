//! The program's batches. `consume` settles a batch in one script call: a
//! consumer killed with `kill -9` while that call waits in Redis leaves the
//! whole batch pending, none of it half settled, and it is handled again
//! after a restart. `publish` pipelines its `XADD`s: results still come in
//! input order, a refusal by Redis is told on its line, and a producer
//! writing now and then gets each id at once.

mod common;
#[path = "common/program.rs"]
mod program;

use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

use common::redis_server::RedisServer;
use program::*;

fn handled(log: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_consumer_killed_mid_settle_leaves_its_batch_pending_and_it_is_handled_again() {
    let server = RedisServer::start();
    let predictions: Vec<String> = (0..10).map(|n| prediction(&format!("Q{n}?"))).collect();
    let ids = publish(&server, &predictions);
    let dir = std::env::temp_dir().join(format!("crowd-mid-settle-{}", server.port));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("handled");
    let record = format!("echo \"$CROWD_ENTRY_ID\" >> {}", log.display());
    // The last entry's handler pauses Redis's writes before it returns, so
    // the batch's settle is sent and waits in Redis, not yet applied.
    let pausing = format!(
        "{record}; if [ \"$CROWD_ENTRY_ID\" = {} ]; then redis-cli -p {} CLIENT PAUSE 20000 WRITE >/dev/null; fi",
        ids[9], server.port
    );
    let mut first = command(
        &server,
        &consume(&["--consumer", "first", "--count", "10", "--exec", &pausing]),
    )
    .spawn()
    .unwrap();
    wait_for(30, "the batch handled", || handled(&log).len() == 10);
    // The settle is in Redis, held by the pause: a blocked client whose
    // command is a script.
    wait_for(10, "the settle waiting in Redis", || {
        server
            .cli(&["CLIENT", "LIST"])
            .lines()
            .any(|client| client.contains(" flags=b ") && client.contains(" cmd=evalsha "))
    });
    first.kill().unwrap(); // kill -9
    first.wait().unwrap();
    server.cli(&["CLIENT", "UNPAUSE"]);
    let pending = server.cli(&["XPENDING", STREAM, "g"]);
    assert_eq!(
        pending.lines().next(),
        Some("10"),
        "none settled: {pending}"
    );

    let out = run(
        &server,
        &consume(&["--consumer", "first", "--limit", "10", "--exec", &record]),
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let seen = handled(&log);
    assert_eq!(seen[..10], ids[..], "first run");
    assert_eq!(
        seen[10..],
        ids[..],
        "handled again, in order, after the restart"
    );
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        server.cli(&["XPENDING", STREAM, "g"]).lines().next(),
        Some("0")
    );
    let dead = format!("{{{STREAM}}}:dead");
    assert_eq!(server.cli(&["XLEN", &dead]).trim(), "0");
    std::fs::remove_dir_all(dir).unwrap();
}

/// The entry ids in the stream, oldest first, and each entry's question.
fn stream_questions(server: &RedisServer) -> Vec<(String, String)> {
    let out = server.cli(&["XRANGE", STREAM, "-", "+"]);
    let lines: Vec<&str> = out.lines().collect();
    let mut entries = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        if let Some(payload) = line.strip_prefix('{') {
            let envelope: serde_json::Value =
                serde_json::from_str(&format!("{{{payload}")).unwrap();
            let question = envelope["prediction"]["question"]
                .as_str()
                .unwrap()
                .to_owned();
            // redis-cli prints the id, then the field name, then the payload.
            entries.push((lines[n - 2].to_owned(), question));
        }
    }
    entries
}

#[test]
fn publish_pipelined_keeps_input_order_and_tells_each_line() {
    let server = RedisServer::start();
    // More than the window of entries in flight, with rejections among them.
    let input: Vec<String> = (0..1000)
        .map(|n| match n % 97 {
            13 => "{\"source_type\": 1}".to_owned(),
            _ => prediction(&format!("Q{n}?")),
        })
        .collect();
    let out = run(
        &server,
        &["publish", "--lines", "--json"],
        input.join("\n").as_bytes(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let results: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), 1000, "one result per line");
    let lines: Vec<u64> = results
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, (1..=1000).collect::<Vec<u64>>(), "in input order");
    let entries = stream_questions(&server);
    let published: Vec<(String, String)> = results
        .iter()
        .filter(|r| r["ok"] == true)
        .map(|r| {
            let line = r["line"].as_u64().unwrap() as usize;
            (
                r["id"].as_str().unwrap().to_owned(),
                format!("Q{}?", line - 1),
            )
        })
        .collect();
    assert_eq!(published.len(), 1000 - 11);
    assert_eq!(
        entries, published,
        "each id is its line's entry, in the stream in input order"
    );
    for rejected in results.iter().filter(|r| r["ok"] == false) {
        assert_eq!(rejected["line"].as_u64().unwrap() % 97, 14, "{rejected}");
        assert_eq!(rejected["reason"], "invalid");
    }
}

#[test]
fn publish_tells_a_refusal_by_redis_on_its_line_and_exits_two() {
    let server = RedisServer::start();
    server.cli(&["SET", STREAM, "not a stream"]);
    let input = [prediction("a?"), "[1]".to_owned(), prediction("c?")].join("\n");
    let out = run(&server, &["publish", "--lines", "--json"], input.as_bytes());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let results: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), 3, "{}", stdout(&out));
    for (result, line) in [(&results[0], 1), (&results[2], 3)] {
        assert_eq!(result["line"], line);
        assert_eq!(result["reason"], "not_published", "{result}");
        assert!(
            result["message"].as_str().unwrap().contains("WRONGTYPE"),
            "{result}"
        );
    }
    assert_eq!(results[1]["reason"], "invalid");

    let out = run(&server, &["publish", "--lines"], input.as_bytes());
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    let told = stderr(&out);
    assert!(
        told.contains("line 1: not published:") && told.contains("WRONGTYPE"),
        "{told}"
    );
    assert!(told.contains("line 2: invalid prediction:"), "{told}");
    assert!(told.contains("line 3: not published:"), "{told}");
    assert_eq!(
        server.cli(&["GET", STREAM]).trim(),
        "not a stream",
        "untouched"
    );
}

#[test]
fn publish_gives_each_id_as_soon_as_redis_does_while_its_input_is_open() {
    let server = RedisServer::start();
    let mut child = command(&server, &["publish", "--lines"]).spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    let mut ids = BufReader::new(child.stdout.take().unwrap());
    for n in 0..3 {
        writeln!(input, "{}", prediction(&format!("Q{n}?"))).unwrap();
        input.flush().unwrap();
        // Blocks until the id comes: the input is still open.
        let mut id = String::new();
        ids.read_line(&mut id).unwrap();
        let entries = stream_questions(&server);
        assert_eq!(entries.len(), n + 1);
        assert_eq!(
            id.trim_end(),
            entries[n].0,
            "line {n}'s id before the next line"
        );
    }
    drop(input);
    assert!(child.wait().unwrap().success());
}

/// How many `write` calls the process has made (`syscw` in /proc/PID/io).
fn writes(pid: u32) -> u64 {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap();
    io.lines()
        .find_map(|l| l.strip_prefix("syscw: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// `tail -f --json --from 0` over `count` entries: the lines it printed and
/// the writes it made to print them.
fn follow_writes(server: &RedisServer, extra: &[&str], count: usize) -> (usize, u64) {
    let mut args = vec!["tail", "--follow", "--json", "--from", "0"];
    args.extend_from_slice(extra);
    let mut child = command(server, &args).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    let mut seen = 0;
    let mut line = String::new();
    while seen < count {
        line.clear();
        assert!(lines.read_line(&mut line).unwrap() > 0, "tail ended early");
        seen += 1;
    }
    let made = writes(child.id());
    terminate(&mut child);
    assert!(child.wait().unwrap().success());
    (seen, made)
}

#[test]
fn tail_follow_writes_a_burst_at_a_time_unless_line_buffered() {
    let server = RedisServer::start();
    let predictions: Vec<String> = (0..2000).map(|n| prediction(&format!("Q{n}?"))).collect();
    publish(&server, &predictions);
    let (seen, buffered) = follow_writes(&server, &[], 2000);
    assert_eq!(seen, 2000);
    // Redis commands are writes too: a few per read of many entries.
    assert!(buffered < 400, "{buffered} writes for 2000 lines");
    let (_, per_line) = follow_writes(&server, &["--line-buffered"], 2000);
    assert!(
        per_line >= 2000,
        "{per_line} writes for 2000 lines with --line-buffered"
    );

    // Buffered, an entry published while following still comes at once:
    // the output is written when the follower has nothing more at hand.
    let mut child = command(&server, &["tail", "--follow", "--json"])
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    wait_for(10, "the follower reading", || {
        server.cli(&["CLIENT", "LIST"]).contains("cmd=xread")
            || server.cli(&["CLIENT", "LIST"]).contains("cmd=evalsha")
    });
    publish(&server, &[prediction("Late?")]);
    let mut line = String::new();
    lines.read_line(&mut line).unwrap();
    assert!(line.contains("Late?"), "{line}");
    terminate(&mut child);
    assert!(child.wait().unwrap().success());
}
