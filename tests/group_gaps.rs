//! A consumer group and the entries trimmed before it read them: told as a
//! gap with its exact count (also after Redis reloads its AOF), and `stats`
//! counting a lag that Redis left stale.

mod common;
#[path = "common/program.rs"]
mod program;

use std::process::Stdio;

use common::redis_server::RedisServer;
use program::*;
use serde_json::Value;

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

/// Redis 7.0 writes a group's reads to the AOF as XCLAIMs, without its
/// entries-read count; the soak (scripts/soak.py) found the next trim after
/// a restart told as a loss of everything read since. read.lua now writes
/// the count after each read.
#[test]
fn a_trim_after_a_restart_from_the_aof_is_told_as_only_what_was_lost() {
    let mut server = RedisServer::start();
    let questions = |n: usize| {
        (0..n)
            .map(|i| prediction(&format!("Q{i}?")))
            .collect::<Vec<_>>()
    };
    let group = ["--group", "g", "--from", "0", "--block-ms", "100"];
    publish(&server, &questions(50));
    let read = run(
        &server,
        &[&["consume", "--limit", "50"][..], &group].concat(),
        b"",
    );
    assert_eq!(stdout(&read).lines().count(), 50, "{}", stderr(&read));
    server.restart(); // kill -9, then the AOF (fsync always) read back
    publish(&server, &questions(30));
    server.cli(&["XTRIM", STREAM, "MAXLEN", "10"]);
    let read = run(
        &server,
        &[&["consume", "--limit", "10"][..], &group].concat(),
        b"",
    );
    let log = stderr(&read);
    assert_eq!(stdout(&read).lines().count(), 10, "{log}");
    assert!(log.contains("skipped: 20 entries after"), "{log}");
    assert!(log.contains("trimmed before read 20\n"), "{log}");
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
