//! `publish` and `tail` against a real `redis-server`: output, exit status,
//! errors, escaping, following, and the deadline every wait of these tests has.

mod common;
#[path = "common/program.rs"]
mod program;

use std::io::{BufRead, BufReader};
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
