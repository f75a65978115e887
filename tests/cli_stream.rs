//! `publish`, `tail` and `consume` against a real `redis-server`: output,
//! exit status, errors, and a consumer killed with entries unacknowledged.

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
fn publish_builds_envelopes_and_prints_their_ids() {
    let server = RedisServer::start();
    let out = run(
        &server,
        &[
            "publish",
            "--correlation-id",
            "cli-1",
            "--meta",
            r#"{"run":3}"#,
        ],
        prediction("Rain?").as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let id = stdout(&out).trim().to_owned();
    assert!(id.contains('-'), "{id}");

    let tail = run(&server, &["tail", "--json", "-n", "1"], b"");
    let line: Value = serde_json::from_str(stdout(&tail).trim()).unwrap();
    assert_eq!(line["id"], id.as_str());
    assert_eq!(line["envelope"]["correlation_id"], "cli-1");
    assert_eq!(line["envelope"]["meta"]["run"], 3);
    assert_eq!(line["envelope"]["decision"]["side"], "yes");
}

#[test]
fn publish_reports_each_invalid_item_and_exits_one() {
    let server = RedisServer::start();
    let input = [
        prediction("a?"),
        "{\"source_type\": 1}".to_owned(),
        prediction("c?"),
    ]
    .join("\n");
    let out = run(&server, &["publish", "--lines"], input.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out).lines().count(),
        2,
        "the valid ones are published"
    );
    assert!(
        stderr(&out).contains("line 2: invalid prediction: source_type: expected"),
        "{}",
        stderr(&out)
    );
    assert_eq!(server.cli(&["XLEN", STREAM]).trim(), "2");
}

#[test]
fn publish_json_gives_each_item_s_id_or_its_rejection_by_line() {
    let server = RedisServer::start();
    let input = [
        prediction("a?"),
        String::new(),
        "[1]".to_owned(),
        prediction("c?"),
    ]
    .join("\n");
    let out = run(
        &server,
        &[
            "publish",
            "--lines",
            "--json",
            "--correlation-id",
            "fixed-id",
        ],
        input.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(1));
    let results: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<String> = server
        .cli(&["XRANGE", STREAM, "-", "+"])
        .lines()
        .filter(|l| l.contains('-') && l.bytes().all(|b| b.is_ascii_digit() || b == b'-'))
        .map(str::to_owned)
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(
        results,
        [
            serde_json::json!({"line": 1, "ok": true, "id": ids[0], "correlation_id": "fixed-id"}),
            serde_json::json!({"line": 3, "ok": false, "reason": "invalid", "errors": [
                {"path": "", "code": "model_type", "message": "expected an object, found an array"}
            ]}),
            serde_json::json!({"line": 4, "ok": true, "id": ids[1], "correlation_id": "fixed-id"}),
        ]
    );
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

#[test]
fn publish_envelope_validates_a_ready_envelope_and_keeps_it() {
    let server = RedisServer::start();
    let build = run(
        &server,
        &["build", "--correlation-id", "ready"],
        prediction("Ready?").as_bytes(),
    );
    let envelope = stdout(&build);
    let out = run(&server, &["publish", "--envelope"], envelope.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let id = stdout(&out).trim().to_owned();
    let raw = server.cli(&["XRANGE", STREAM, &id, &id]);
    assert_eq!(raw.lines().nth(2), Some(envelope.trim()));

    let tampered = envelope.replace("\"side\":\"yes\"", "\"side\":\"maybe\"");
    let out = run(&server, &["publish", "--envelope"], tampered.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("decision.side"), "{}", stderr(&out));
}

#[test]
fn tail_shows_a_table_newest_first_and_reports_skips_on_stderr() {
    let server = RedisServer::start();
    publish(&server, &[prediction("First?"), prediction("Second?")]);
    server.cli(&["XADD", STREAM, "*", "data", "{\"schema_version\":\"2\"}"]);
    publish(
        &server,
        &[prediction(
            "Red \u{1b}[31malert\u{1b}[0m <script>x</script>?",
        )],
    );

    let out = run(&server, &["tail", "--count", "10"], b"");
    assert_eq!(out.status.code(), Some(0));
    let mut rows: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    let header = rows.remove(0);
    assert!(
        header.starts_with("TIME (UTC)           SOURCE"),
        "{header}"
    );
    assert!(header.ends_with("QUESTION"), "{header}");
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows[0].contains("polymarket_bet") && rows[0].contains("yes, edge +0.200"));
    assert!(
        rows[0].contains(r"\u{1b}[31malert"),
        "control characters escaped: {}",
        rows[0]
    );
    assert!(!stdout(&out).contains('\u{1b}'));
    assert!(rows[2].contains("First?") && rows[1].contains("Second?"));
    assert!(
        stderr(&out).contains("unsupported_version"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn tail_colours_decisions_only_when_asked_or_on_a_terminal_without_no_color() {
    let server = RedisServer::start();
    publish(&server, &[prediction("Yes?")]);
    // Piped (as here), auto is off; NO_COLOR does not override --color always.
    let plain = run(&server, &["tail"], b"");
    assert!(!stdout(&plain).contains('\u{1b}'));
    let always = command(&server, &["tail", "--color", "always"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = stdout(&always);
    let mut lines = text.lines();
    assert!(
        lines.next().unwrap().starts_with("\u{1b}[1mTIME (UTC)"),
        "{text}"
    );
    let row = lines.next().unwrap();
    // A yes is green, and the escape codes do not shift the columns.
    assert!(row.contains("\u{1b}[32myes, edge +0.200"), "{row}");
    let unpainted = row.replace("\u{1b}[32m", "").replace("\u{1b}[0m", "");
    let plain_row = stdout(&plain).lines().nth(1).unwrap().to_owned();
    assert_eq!(unpainted.len(), plain_row.len());
    let never = run(&server, &["tail", "--color", "never"], b"");
    assert!(!stdout(&never).contains('\u{1b}'));
}

#[test]
fn tail_follow_prints_new_entries_as_json_until_interrupted() {
    let server = RedisServer::start();
    let first = publish(&server, &[prediction("Before?")]);
    let mut child = command(
        &server,
        &["tail", "--follow", "--json", "--from", &first[0]],
    )
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    publish(&server, &[prediction("One?"), prediction("Two?")]);
    let one: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let two: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(one["envelope"]["prediction"]["question"], "One?");
    assert_eq!(two["envelope"]["prediction"]["question"], "Two?");
    terminate(&mut child);
    assert_eq!(
        child.wait().unwrap().code(),
        Some(0),
        "SIGTERM ends it cleanly"
    );
}

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
fn tail_escapes_every_text_from_the_payload() {
    let server = RedisServer::start();
    let hostile = "\u{1b}[2J\u{1b}]0;TITLE\u{7}\u{1b}[31mRED\r\nFAKE LINE";
    let prediction = serde_json::from_str::<Value>(&prediction("Q?")).unwrap();
    let envelope = serde_json::json!({
        "prediction": prediction,
        "decision": {"side": "yes", "edge": 0.2, "price": 0.5, "stake_fraction": 0.1, "reason": hostile},
        "decision_kind": "polymarket_side",
        "published_at": "2026-01-01T00:00:00Z",
        "correlation_id": "c",
    });
    server.cli(&["XADD", STREAM, "*", "data", &envelope.to_string()]);
    let out = run(&server, &["tail"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let shown = stdout(&out);
    assert!(shown.contains("FAKE LINE"), "{shown}");
    assert!(
        !shown.bytes().any(|b| b == 0x1b || b == 0x07 || b == b'\r'),
        "{shown:?}"
    );
    assert_eq!(
        shown.lines().count(),
        2,
        "a header and one row, no forged line: {shown:?}"
    );
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
fn publish_refuses_a_max_len_of_zero() {
    let server = RedisServer::start();
    let out = run(
        &server,
        &["publish", "--max-len", "0"],
        prediction("Q?").as_bytes(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--max-len"), "{}", stderr(&out));
    assert_eq!(server.cli(&["XLEN", STREAM]).trim(), "0");
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
fn redis_unreachable_is_one_line_naming_the_url_without_password_and_exit_2() {
    let server = RedisServer::start(); // only for the command builder
    for args in [
        vec!["publish"],
        vec!["tail"],
        vec!["tail", "--follow"],
        vec!["consume", "--group", "g", "--fail-fast"],
    ] {
        let mut all = args.clone();
        all.extend(["--redis-url", "redis://bot:hunter2@127.0.0.1:1"]);
        let out = run(&server, &all, prediction("x").as_bytes());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains("redis://bot:***@127.0.0.1:1"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
}

#[test]
fn every_subcommand_has_help() {
    let server = RedisServer::start();
    for sub in [
        "decode", "build", "schema", "publish", "tail", "consume", "stats", "dead",
    ] {
        let out = run(&server, &[sub, "--help"], b"");
        assert_eq!(out.status.code(), Some(0), "{sub}");
        assert!(stdout(&out).contains("Usage: crowd-envelope"), "{sub}");
    }
}

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
fn tail_follow_never_holds_entries_over_its_limit() {
    let server = RedisServer::start();
    // Ten entries of 8 MB: a read of them all would hold 80 MB and more.
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(8 << 20));
    let script = "for i = 1, 10 do redis.call('XADD', KEYS[1], '*', 'data', ARGV[1]) end";
    server.eval_with_value(script, STREAM, big.as_bytes());
    let ids = publish(&server, &[prediction("After?")]);

    let mut child = command(&server, &["tail", "--follow", "--json", "--from", "0"])
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(
        line["id"],
        ids[0].as_str(),
        "the small entry after the big ones"
    );
    let peak = common::peak_kib(child.id());
    terminate(&mut child);
    let out = child.wait_with_output().unwrap();
    let log = stderr(&out);
    assert_eq!(log.matches("too_large").count(), 10, "{log}");
    eprintln!("tail --follow: {peak} KiB at peak over 10 entries of 8 MB");
    assert!(peak < 40 * 1024, "tail held {peak} KiB");
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
fn tail_follow_reports_a_stream_made_anew_and_reads_it_from_its_start() {
    let server = RedisServer::start();
    let envelope = |question: &str| {
        let out = run(&server, &["build"], prediction(question).as_bytes());
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let (old, new) = (envelope("Old?"), envelope("New?"));
    server.cli(&["XADD", STREAM, "5000-0", "data", &old]);
    let mut child = command(
        &server,
        &[
            "tail",
            "--follow",
            "--json",
            "--from",
            "0",
            "--block-ms",
            "200",
        ],
    )
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["id"], "5000-0");
    server.cli(&["DEL", STREAM]);
    server.cli(&["XADD", STREAM, "1-0", "data", &new]);
    let second: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(second["id"], "1-0");
    assert_eq!(second["envelope"]["prediction"]["question"], "New?");
    terminate(&mut child);
    let out = child.wait_with_output().unwrap();
    let log = stderr(&out);
    assert!(
        log.contains("skipped 5000-0..1-0: stream_reset: the stream was made anew"),
        "the gap is said on standard error: {log}"
    );
}

#[test]
fn tail_says_when_the_stream_does_not_exist() {
    let server = RedisServer::start();
    let out = run(&server, &["tail", "--stream", "no:such:stream"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    assert!(
        stderr(&out).contains("stream \"no:such:stream\" does not exist"),
        "{}",
        stderr(&out)
    );
    publish(&server, &[prediction("Here?")]);
    let out = run(&server, &["tail"], b"");
    assert!(!stderr(&out).contains("does not exist"), "{}", stderr(&out));
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
        ("/app.js", "text/javascript", "decodeStreamEntry"),
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

/// Every wait in these tests has a deadline: the helper fails, in time, when
/// what it waits for never comes (`make test-timeouts` checks the other
/// runners' timeouts).
#[test]
fn wait_for_gives_up_at_its_deadline() {
    let start = Instant::now();
    let outcome = std::panic::catch_unwind(|| wait_for(1, "what never comes", || false));
    let message = outcome
        .expect_err("it gives up")
        .downcast::<String>()
        .unwrap();
    assert!(
        message.contains("timed out waiting for what never comes"),
        "{message}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}
