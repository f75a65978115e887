//! Dead letters and attempt counts under the keys before 0.3
//! (`<stream>:dead`, `<stream>:attempts:<group>`): counted and warned of
//! until `crowd-envelope dead migrate` moves them, nothing lost.

mod common;
#[path = "common/program.rs"]
mod program;

use common::redis_server::RedisServer;
use program::{prediction, publish, run, stderr, stdout, STREAM};

const OLD_DEAD: &str = "maf:arena:crowd_simulation:output:dead";
const NEW_DEAD: &str = "{maf:arena:crowd_simulation:output}:dead";
const OLD_ATTEMPTS: &str = "maf:arena:crowd_simulation:output:attempts:g";
const NEW_ATTEMPTS: &str = "{maf:arena:crowd_simulation:output}:attempts:g";

#[test]
fn old_dead_letters_are_warned_of_until_migrated_then_moved_whole() {
    let server = RedisServer::start();
    publish(&server, &[prediction("A?")]);
    server.cli(&["XGROUP", "CREATE", STREAM, "g", "0"]);
    for n in 0..3 {
        let entry = format!("1-{n}");
        server.cli(&[
            "XADD", OLD_DEAD, "*", "data", "[]", "reason", "invalid", "id", &entry,
        ]);
    }
    server.cli(&["XADD", NEW_DEAD, "*", "reason", "handler", "id", "2-0"]);
    server.cli(&["HSET", OLD_ATTEMPTS, "1-0", "2", "1-1", "1"]);
    server.cli(&["HSET", NEW_ATTEMPTS, "1-0", "1"]);

    let out = run(&server, &["stats", "--json"], b"");
    let stats: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (
            stats["dead_letters"].as_u64(),
            stats["legacy_dead_letters"].as_u64()
        ),
        (Some(1), Some(3))
    );
    let out = run(&server, &["stats"], b"");
    assert!(
        stdout(&out).contains("old dead letters 3"),
        "{}",
        stdout(&out)
    );
    let out = run(&server, &["dead", "list"], b"");
    assert_eq!(stdout(&out).lines().count(), 1, "today's key alone");
    assert!(
        stderr(&out).contains("3 dead letter(s) under the key before 0.3"),
        "{}",
        stderr(&out)
    );
    let out = run(&server, &program::consume(&["--limit", "1"]), b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("dead migrate"),
        "the consumer warns: {}",
        stderr(&out)
    );

    let out = run(&server, &["dead", "migrate"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let moved: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(
        moved,
        serde_json::json!({"dead_letters": 3, "attempt_counts": 2})
    );
    assert_eq!(server.cli(&["EXISTS", OLD_DEAD, OLD_ATTEMPTS]).trim(), "0");
    let letters = server.cli(&["XRANGE", NEW_DEAD, "-", "+"]);
    let entries: Vec<&str> = letters
        .lines()
        .filter(|l| l.starts_with("1-") || l.starts_with("2-0"))
        .collect();
    assert_eq!(
        entries,
        ["2-0", "1-0", "1-1", "1-2"],
        "today's first, then the old, oldest first"
    );
    assert_eq!(
        server.cli(&["HGET", NEW_ATTEMPTS, "1-0"]).trim(),
        "3",
        "added up"
    );
    assert_eq!(server.cli(&["HGET", NEW_ATTEMPTS, "1-1"]).trim(), "1");

    let out = run(&server, &["dead", "migrate"], b"");
    let moved: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(
        moved,
        serde_json::json!({"dead_letters": 0, "attempt_counts": 0})
    );
    let out = run(&server, &["stats", "--json"], b"");
    let stats: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(stats["dead_letters"], 4);
    assert!(stats.get("legacy_dead_letters").is_none(), "{stats}");
    let out = run(&server, &["dead", "list"], b"");
    assert!(!stderr(&out).contains("before 0.3"), "{}", stderr(&out));
}

#[test]
fn a_name_with_its_own_hash_tag_keeps_its_keys() {
    let server = RedisServer::start();
    let tagged = "orders:{eu}";
    server.cli(&["XADD", tagged, "*", "data", "[]"]);
    server.cli(&["XADD", "orders:{eu}:dead", "*", "reason", "invalid"]);
    let out = run(&server, &["dead", "--stream", tagged, "migrate"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("\"dead_letters\":0"));
    let out = run(&server, &["dead", "--stream", tagged, "list"], b"");
    assert_eq!(stdout(&out).lines().count(), 1, "{}", stderr(&out));
    // A name no key can share a slot with: a clear error, a failed exit.
    let out = run(&server, &["dead", "--stream", "a}b", "list"], b"");
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("invalid stream name \"a}b\""),
        "{}",
        stderr(&out)
    );
}
