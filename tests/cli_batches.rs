//! `consume` settles a batch in one script call: a consumer killed with
//! `kill -9` while that call waits in Redis leaves the whole batch pending,
//! none of it half settled, and it is handled again after a restart.

mod common;
#[path = "common/program.rs"]
mod program;

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
    let dead = format!("{STREAM}:dead");
    assert_eq!(server.cli(&["XLEN", &dead]).trim(), "0");
    std::fs::remove_dir_all(dir).unwrap();
}
