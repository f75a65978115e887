//! `consume`, `stats` and `dead` against a real `redis-server`: handlers,
//! dead letters, limits, metrics, a consumer killed with entries
//! unacknowledged, and two consumer processes racing.

mod common;
#[path = "common/program.rs"]
mod program;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::redis_server::RedisServer;
use program::*;
use serde_json::Value;

#[test]
fn consume_pipes_each_envelope_to_a_command_and_acks_it() {
    let server = RedisServer::start();
    publish(
        &server,
        &[prediction("A?"), prediction("B?"), prediction("C?")],
    );
    let dir = std::env::temp_dir().join(format!("crowd-consume-{}", server.port));
    std::fs::create_dir_all(&dir).unwrap();
    let sink = dir.join("out.jsonl");
    let exec = format!("cat >> {}", sink.display());
    let out = run(&server, &consume(&["--exec", &exec, "--limit", "3"]), b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let written = std::fs::read_to_string(&sink).unwrap();
    let questions: Vec<String> = written
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["prediction"]["question"].to_string())
        .collect();
    assert_eq!(questions, ["\"A?\"", "\"B?\"", "\"C?\""]);
    assert!(stderr(&out).contains("handled 3"), "{}", stderr(&out));
    assert!(server.cli(&["XPENDING", STREAM, "g"]).starts_with('0'));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn consume_dead_letters_entries_whose_command_keeps_failing() {
    let server = RedisServer::start();
    publish(&server, &[prediction("Poison?")]);
    server.cli(&["XADD", STREAM, "*", "data", "[]"]);
    let out = run(
        &server,
        &consume(&["--exec", "exit 3", "--max-deliveries", "1", "--limit", "2"]),
        b"",
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "a handler failed: {}",
        stderr(&out)
    );
    let log = stderr(&out);
    assert!(
        log.contains("handler failed"),
        "each failure is logged: {log}"
    );
    assert!(
        log.contains("dead-lettered 2 (handler_failed 1, invalid 1)"),
        "reasons by their wire names: {log}"
    );
    assert!(
        log.lines().all(|line| line.starts_with("crowd-envelope: ")),
        "one log format: {log}"
    );
    let dead = server.cli(&["XRANGE", &format!("{{{STREAM}}}:dead"), "-", "+"]);
    assert!(
        dead.contains("handler_failed") && dead.contains("exited with exit status: 3"),
        "{dead}"
    );
    assert!(dead.contains("invalid"), "{dead}");
}

#[test]
fn consume_limit_handles_exactly_that_many_and_fetches_no_more() {
    let server = RedisServer::start();
    let questions: Vec<String> = (0..14).map(|i| prediction(&format!("Q{i}?"))).collect();
    publish(&server, &questions);
    server.cli(&["XADD", STREAM, "*", "data", "[]"]);
    let dir = std::env::temp_dir().join(format!("crowd-limit-{}", server.port));
    std::fs::create_dir_all(&dir).unwrap();
    let sink = dir.join("out.jsonl");
    let exec = format!("cat >> {}", sink.display());
    for limit in ["1", "2"] {
        let out = run(&server, &consume(&["--exec", &exec, "--limit", limit]), b"");
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("handled {limit}, ")),
            "{}",
            stderr(&out)
        );
    }
    let handled = std::fs::read_to_string(&sink).unwrap();
    assert_eq!(handled.lines().count(), 3, "1 then 2: {handled}");
    // Nothing fetched beyond the limit: no entry waits in this consumer's list.
    assert!(server.cli(&["XPENDING", STREAM, "g"]).starts_with('0'));
    assert_eq!(
        server.cli(&["XLEN", &format!("{{{STREAM}}}:dead")]).trim(),
        "0"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn exec_handlers_do_not_inherit_the_redis_url() {
    let server = RedisServer::start();
    publish(&server, &[prediction("Secret?")]);
    let dir = std::env::temp_dir().join(format!("crowd-env-{}", server.port));
    std::fs::create_dir_all(&dir).unwrap();
    let sink = dir.join("env.txt");
    let exec = format!("env > {}", sink.display());
    let out = run(&server, &consume(&["--exec", &exec, "--limit", "1"]), b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let env = std::fs::read_to_string(&sink).unwrap();
    assert!(env.contains("CROWD_ENTRY_ID="), "{env}");
    assert!(!env.contains("CROWD_REDIS_URL"), "{env}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_invalid_start_id_is_refused_with_status_2() {
    let server = RedisServer::start();
    for args in [
        &["tail", "-f", "--from", "bogus"][..],
        &["consume", "--group", "g", "--from", "bogus"][..],
        &["consume", "--group", "g", "--from", "1-x"][..],
        &["tail", "-f", "--from", "99999999999999999999-0"][..],
    ] {
        let out = run(&server, args, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("--from"), "{}", stderr(&out));
    }
}

#[test]
fn a_killed_consumer_leaves_its_entries_to_another() {
    let server = RedisServer::start();
    publish(&server, &[prediction("Slow?"), prediction("Later?")]);
    let mut slow = command(
        &server,
        &[
            "consume",
            "--group",
            "g",
            "--consumer",
            "slow",
            "--from",
            "0",
            "--exec",
            "sleep 60",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.cli(&["XPENDING", STREAM, "g"]).starts_with('2') {
        assert!(
            Instant::now() < deadline,
            "the slow consumer read its entries"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    slow.kill().unwrap(); // kill -9 before it could acknowledge
    slow.wait().unwrap();

    std::thread::sleep(Duration::from_millis(300));
    let out = run(
        &server,
        &[
            "consume",
            "--group",
            "g",
            "--consumer",
            "rescuer",
            "--claim-idle-ms",
            "200",
            "--limit",
            "2",
            "--block-ms",
            "100",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let questions: Vec<String> = stdout(&out)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["envelope"]["prediction"]["question"]
                .to_string()
        })
        .collect();
    assert_eq!(questions, ["\"Slow?\"", "\"Later?\""]);
    assert!(stderr(&out).contains("claimed 2"), "{}", stderr(&out));
}

#[test]
fn consume_metrics_give_its_counts_and_its_group_s_state() {
    let server = RedisServer::start();
    publish(
        &server,
        &[prediction("A?"), prediction("B?"), prediction("C?")],
    );
    let addr = format!("127.0.0.1:{}", common::free_port());
    // Fails B? each time: it is retried, then dead-lettered.
    let exec = "grep -q B? && exit 1; exit 0";
    let mut child = command(
        &server,
        &consume(&[
            "--exec",
            exec,
            "--max-deliveries",
            "2",
            "--retry-delay-ms",
            "50",
            "--metrics-addr",
            &addr,
        ]),
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    // A handler's success is counted before its entry is acknowledged: a
    // scrape may fall between the two, so wait for the acknowledgements.
    let body = metrics_when(&addr, |m| {
        m.contains("crowd_envelope_dead_letters 1\n")
            && m.contains("crowd_envelope_group_pending{group=\"g\"} 0\n")
    });
    for line in [
        "crowd_envelope_entries_handled_total 2\n",
        "crowd_envelope_handler_failures_total{reason=\"handler_failed\"} 2\n",
        "crowd_envelope_group_lag{group=\"g\"} 0\n",
        "crowd_envelope_group_consumers{group=\"g\"} 1\n",
        "crowd_envelope_redis_up 1\n",
    ] {
        assert!(body.contains(line), "{line} in {body}");
    }
    terminate(&mut child);
    child.wait().unwrap();
}

#[test]
fn two_racing_consumer_processes_handle_every_entry_and_dead_letter_each_bad_one_once() {
    let server = RedisServer::start();
    // 40 rounds of two good entries, one whose handler always fails and
    // one that does not decode: every batch holds some of each.
    for round in 0..40 {
        publish(
            &server,
            &[
                prediction(&format!("good-{round}-a")),
                prediction(&format!("good-{round}-b")),
                prediction(&format!("fail-{round}")),
            ],
        );
        server.cli(&["XADD", STREAM, "*", "data", "{not json"]);
    }
    let dir = std::env::temp_dir().join(format!("crowd-race-{}", server.port));
    std::fs::create_dir_all(&dir).unwrap();
    let sink = dir.join("handled.txt");
    // ~25 ms an entry: a batch of 100 takes far longer than the claim time.
    let exec = format!(
        "sleep 0.02; if grep -q '\"fail-'; then exit 1; fi; echo \"$CROWD_ENTRY_ID\" >> {}",
        sink.display()
    );
    let racer = |name: &str| {
        command(
            &server,
            &consume(&[
                "--consumer",
                name,
                "--exec",
                &exec,
                "--claim-idle-ms",
                "200",
                "--retry-delay-ms",
                "20",
                "--max-deliveries",
                "1",
            ]),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
    };
    let mut racers = [racer("a"), racer("b")];
    let dead_letters = || {
        server
            .cli(&["XLEN", &format!("{{{STREAM}}}:dead")])
            .trim()
            .parse::<usize>()
            .unwrap()
    };
    let handled = || {
        std::fs::read_to_string(&sink)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    wait_for(90, "every entry settled", || {
        dead_letters() >= 50
            && handled()
                .iter()
                .collect::<std::collections::BTreeSet<_>>()
                .len()
                >= 80
            && server.cli(&["XPENDING", STREAM, "g"]).starts_with('0')
    });
    // Until both are idle: a consumer still working through a batch would
    // handle or dead-letter an entry every ~25 ms.
    let activity = || (handled().len(), dead_letters());
    let mut last = activity();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(Instant::now() < deadline, "the racers never went idle");
        std::thread::sleep(Duration::from_millis(1500));
        let now = activity();
        if now == last {
            break;
        }
        last = now;
    }
    for racer in &mut racers {
        terminate(racer);
        racer.wait().unwrap();
    }
    let dead = server.cli(&["XRANGE", &format!("{{{STREAM}}}:dead"), "-", "+"]);
    let mut dead_ids: Vec<&str> = dead
        .lines()
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|pair| pair[0] == "id")
        .map(|pair| pair[1])
        .collect();
    assert_eq!(dead_ids.len(), 80, "{dead}");
    dead_ids.sort_unstable();
    dead_ids.dedup();
    assert_eq!(dead_ids.len(), 80, "each bad entry dead-lettered once");
    let handled = handled();
    let distinct: std::collections::BTreeSet<_> = handled.iter().collect();
    assert_eq!(distinct.len(), 80, "every good entry handled");
    eprintln!(
        "good entries handled twice: {} of 80",
        handled.len() - distinct.len()
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn consume_kills_a_handler_past_its_timeout_and_counts_it_failed() {
    let server = RedisServer::start();
    publish(&server, &[prediction("Slow?")]);
    let started = Instant::now();
    let out = run(
        &server,
        &consume(&[
            "--exec",
            "exec sleep 30",
            "--exec-timeout-ms",
            "200",
            "--max-deliveries",
            "1",
            "--limit",
            "1",
        ]),
        b"",
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "not waited out"
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let dead = server.cli(&["XRANGE", &format!("{{{STREAM}}}:dead"), "-", "+"]);
    assert!(dead.contains("did not finish within 200 ms"), "{dead}");
}

#[test]
fn stats_and_dead_list_show_replay_and_purge_the_dead_letters() {
    let server = RedisServer::start();
    let missing = run(&server, &["stats"], b"");
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("does not exist"),
        "{}",
        stderr(&missing)
    );

    publish(&server, &[prediction("Poison?")]);
    server.cli(&["XADD", STREAM, "*", "data", "[]"]);
    server.cli(&["XADD", STREAM, "*", "other", "x"]);
    let out = run(
        &server,
        &consume(&["--exec", "exit 3", "--max-deliveries", "1", "--limit", "3"]),
        b"",
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    let stats = run(&server, &["stats", "--json"], b"");
    assert_eq!(stats.status.code(), Some(0), "{}", stderr(&stats));
    let stats: Value = serde_json::from_str(&stdout(&stats)).unwrap();
    assert_eq!(stats["length"], 3);
    assert_eq!(stats["entries_added"], 3);
    assert_eq!(stats["dead_letters"], 3);
    let group = &stats["groups"][0];
    assert_eq!(
        (&group["name"], &group["pending"], &group["lag"]),
        (&"g".into(), &0.into(), &0.into())
    );
    assert_eq!(group["consumers"].as_array().unwrap().len(), 1);
    let text = stdout(&run(&server, &["stats"], b""));
    assert!(text.contains("dead letters  3"), "{text}");
    assert!(text.contains("group g: lag 0, pending 0"), "{text}");

    let list = run(&server, &["dead", "list", "--json"], b"");
    let letters: Vec<Value> = stdout(&list)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let reasons: Vec<&str> = letters
        .iter()
        .map(|l| l["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["handler_failed", "invalid", "no_data"]);
    let table = stdout(&run(&server, &["dead", "list"], b""));
    assert!(
        table.lines().nth(1).unwrap().contains("invalid  g/"),
        "{table}"
    );
    let id = |n: usize| letters[n]["id"].as_str().unwrap().to_owned();

    let shown = run(&server, &["dead", "show", &id(1)], b"");
    let shown: Value = serde_json::from_str(&stdout(&shown)).unwrap();
    assert_eq!(shown["data"], "[]");
    let absent = run(&server, &["dead", "show", "1-1"], b"");
    assert_eq!(absent.status.code(), Some(1));

    // Replayed: the raw data is a new entry, and the dead letter is gone;
    // one without data stays, and the status says so.
    let replayed = run(&server, &["dead", "replay", &id(0), &id(2)], b"");
    assert_eq!(replayed.status.code(), Some(1));
    let line = stdout(&replayed);
    let (dead_id, new_id) = line.trim().split_once(' ').unwrap();
    assert_eq!(dead_id, id(0));
    let again = server.cli(&["XRANGE", STREAM, new_id, new_id]);
    assert!(again.contains("Poison?"), "{again}");
    assert!(
        stderr(&replayed).contains("holds no data"),
        "{}",
        stderr(&replayed)
    );
    assert_eq!(
        server.cli(&["XLEN", &format!("{{{STREAM}}}:dead")]).trim(),
        "2"
    );

    let purged = run(&server, &["dead", "purge", &id(1)], b"");
    assert_eq!(
        (purged.status.code(), stdout(&purged).trim()),
        (Some(0), "1")
    );
    let all = run(&server, &["dead", "purge", "--all"], b"");
    assert_eq!(stdout(&all).trim(), "1");
    assert_eq!(
        server
            .cli(&["EXISTS", &format!("{{{STREAM}}}:dead")])
            .trim(),
        "0"
    );
    let bare = run(&server, &["dead", "purge"], b"");
    assert_eq!(bare.status.code(), Some(2), "purge needs ids or --all");
}
