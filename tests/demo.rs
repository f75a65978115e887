//! `make demo`'s script (examples/demo.sh) when its ports are taken: it
//! says why and stops, and never touches a Redis it did not start.
#![cfg(feature = "cli")]

mod common;

use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output};
use std::time::Duration;

use common::free_port;
use common::redis_server::RedisServer;

/// The demo script with `env`, in a scratch directory (its `target/demo`).
fn demo(name: &str, env: &[(&str, String)]) -> Output {
    let dir = std::env::temp_dir().join(format!("crowd-demo-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/demo.sh");
    let out = Command::new("timeout")
        .args(["60", "bash", script, env!("CARGO_BIN_EXE_crowd-envelope")])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env_remove("DEMO_PYTHON")
        .env_remove("CROWD_REDIS_URL")
        .current_dir(&dir)
        .output()
        .unwrap();
    std::fs::remove_dir_all(dir).unwrap();
    out
}

#[test]
fn a_taken_dashboard_port_stops_the_demo_with_its_reason_and_its_redis() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let redis_port = free_port();
    let out = demo(
        "port",
        &[
            ("DEMO_ADDR", addr.clone()),
            ("DEMO_REDIS_PORT", redis_port.to_string()),
            ("DEMO_SECONDS", "30".to_owned()),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the dashboard did not start"), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
    assert!(stderr.contains("DEMO_ADDR"), "{stderr}");
    // Its own redis-server is gone with it.
    std::thread::sleep(Duration::from_millis(300));
    assert!(TcpStream::connect(("127.0.0.1", redis_port)).is_err());
}

#[test]
fn a_redis_the_demo_did_not_start_is_left_alone() {
    let foreign = RedisServer::start();
    foreign.cli(&["SET", "mine", "keep me"]);
    let out = demo(
        "redis",
        &[
            ("DEMO_REDIS_PORT", foreign.port.to_string()),
            ("DEMO_ADDR", format!("127.0.0.1:{}", free_port())),
            ("DEMO_SECONDS", "30".to_owned()),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("something already listens"), "{stderr}");
    assert!(stderr.contains("DEMO_REDIS_PORT"), "{stderr}");
    assert_eq!(foreign.cli(&["PING"]).trim(), "PONG");
    assert_eq!(foreign.cli(&["GET", "mine"]).trim(), "keep me");
    assert_eq!(
        foreign
            .cli(&["EXISTS", "maf:arena:crowd_simulation:output"])
            .trim(),
        "0"
    );
}
