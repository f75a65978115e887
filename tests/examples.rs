//! `examples/publish.rs`, `follow.rs` and `consume.rs` run as a user runs
//! them, against a real `redis-server`: `cargo test` builds the examples
//! before it runs the tests.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::redis_server::RedisServer;

/// `target/<profile>/examples/<name>`, next to this test's own binary.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().and_then(|deps| deps.parent()).unwrap();
    profile.join("examples").join(name)
}

fn run(name: &str, args: &[&str]) -> Output {
    let out = Command::new(example(name)).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn lines(out: &Output) -> Vec<String> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn publish_follow_and_consume_as_a_user_would() {
    let server = RedisServer::start();
    let url = server.url();

    // Through a ConnectionManager and the example's own serde struct.
    let ids = lines(&run("publish", &[&url, "4"]));
    assert_eq!(ids.len(), 4);
    assert!(ids.iter().all(|id| id.contains('-')), "{ids:?}");

    let followed = lines(&run("follow", &[&url, "4"]));
    let followed_ids: Vec<&str> = followed
        .iter()
        .filter_map(|line| line.split(' ').next())
        .collect();
    assert_eq!(followed_ids, ids);
    assert!(
        followed
            .iter()
            .all(|line| line.ends_with("yes crowd_above_market")),
        "{followed:?}"
    );

    // A handler with state of its own, and a transport error matched as
    // transient.
    let consumed = run("consume", &[&url, "4"]);
    assert_eq!(lines(&consumed), ["polymarket_side 4"]);
    let log = String::from_utf8(consumed.stderr).unwrap();
    assert!(log.contains("transient, would retry"), "{log}");
}
