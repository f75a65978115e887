//! Reading from a time: `tail -f --since` and `consume --from-time`
//! against a real `redis-server`, on entries whose ids say they were added
//! 3 hours, 90 minutes and 10 minutes ago.

mod common;
#[path = "common/program.rs"]
mod program;

use std::io::{BufRead, BufReader};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::redis_server::RedisServer;
use program::*;
use serde_json::Value;

/// The stream with three envelopes ("3h", "90m", "10m") added that long ago.
fn stream_of_the_last_hours() -> RedisServer {
    let server = RedisServer::start();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    for (question, ago_ms) in [
        ("3h", 3 * 3_600_000),
        ("90m", 90 * 60_000),
        ("10m", 10 * 60_000),
    ] {
        let out = run(&server, &["build"], prediction(question).as_bytes());
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let id = format!("{}-0", now - ago_ms);
        server.cli(&["XADD", STREAM, &id, "data", stdout(&out).trim()]);
    }
    server
}

fn questions(lines: &str) -> Vec<String> {
    lines
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let envelope = if v["envelope"].is_object() {
                &v["envelope"]
            } else {
                &v
            };
            envelope["prediction"]["question"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn consume_from_time_starts_a_new_group_at_the_entries_added_since() {
    let server = stream_of_the_last_hours();
    let out = run(
        &server,
        &[
            "consume",
            "--group",
            "two-hours",
            "--from-time",
            "2h",
            "--limit",
            "2",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(questions(&stdout(&out)), ["90m", "10m"]);
    // Before the stream's first entry: from its first entry, and no gap told.
    let out = run(
        &server,
        &[
            "consume",
            "--group",
            "all",
            "--from-time",
            "1d",
            "--limit",
            "3",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(questions(&stdout(&out)), ["3h", "90m", "10m"]);
    assert!(!stderr(&out).contains("trimmed"), "{}", stderr(&out));
}

#[test]
fn tail_since_follows_from_the_entries_added_since() {
    let server = stream_of_the_last_hours();
    let when = {
        let at = SystemTime::now() - Duration::from_secs(100 * 60);
        let micros = at.duration_since(UNIX_EPOCH).unwrap().as_micros() as i64;
        crowd_envelope::Timestamp::from_unix_micros(micros)
            .unwrap()
            .to_string()
    };
    for since in ["2h", when.as_str()] {
        let mut child = command(
            &server,
            &["tail", "-f", "--json", "--line-buffered", "--since", since],
        )
        .spawn()
        .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Two lines, or the follower is stopped after 30 s (its output then
        // ends, and the assertion says what came).
        let (done, stop) = std::sync::mpsc::channel::<()>();
        let pid = child.id().to_string();
        let watchdog = std::thread::spawn(move || {
            if stop.recv_timeout(Duration::from_secs(30)).is_err() {
                let _ = std::process::Command::new("kill")
                    .args(["-TERM", &pid])
                    .status();
            }
        });
        let got: Vec<String> = lines.by_ref().take(2).map_while(Result::ok).collect();
        let _ = done.send(());
        watchdog.join().unwrap();
        terminate(&mut child);
        child.wait().unwrap();
        assert_eq!(
            questions(&got.join("\n")),
            ["90m", "10m"],
            "--since {since}"
        );
    }
}

#[test]
fn a_time_in_the_future_or_not_a_time_is_refused() {
    let server = stream_of_the_last_hours();
    for args in [
        &["tail", "-f", "--since", "2999-01-01T00:00:00Z"][..],
        &["consume", "--group", "g", "--from-time", "2999-01-01"][..],
    ] {
        let out = run(&server, args, b"");
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        assert!(
            stderr(&out).contains("is in the future"),
            "{}",
            stderr(&out)
        );
    }
    for args in [
        &["tail", "-f", "--since", "yesterday"][..],
        &["consume", "--group", "g", "--from-time", "5x"][..],
        &["tail", "-f", "--since", "2h", "--from", "0"][..],
        &["tail", "--since", "2h"][..],
    ] {
        let out = run(&server, args, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}
