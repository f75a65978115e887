//! A master, its replica and three Sentinels (real `redis-server` and
//! `redis-server --sentinel` processes, `tests/common/redis_cluster.rs`):
//! `redis+sentinel://` finds the master, `--wait-replicas` waits for the
//! replica, and a follower and a consumer (the library's and the
//! program's) move to the promoted replica by themselves after `kill -9` of
//! the master, delivering every entry.

mod common;
#[path = "common/envelopes.rs"]
mod envelopes;
#[path = "common/program.rs"]
mod program;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use common::redis_cluster::{wait_until, RedisSentinels};
use common::redis_server::RedisServer;
use crowd_envelope::redis::*;
use envelopes::{envelope, spawn_consumer, spawn_follower, Delivered, STREAM};
use program::{command, prediction, run, stderr, stdout, terminate, Url};

/// Lines a child writes to stdout, collected as they come.
fn collect_lines(child: &mut std::process::Child) -> Delivered {
    let lines = Delivered::default();
    let sink = Arc::clone(&lines);
    let out = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

#[tokio::test(flavor = "multi_thread")]
async fn followers_and_consumers_move_to_the_promoted_replica() {
    let mut redis = RedisSentinels::start();
    let url = RedisUrl::parse(&redis.url()).unwrap();
    assert!(url.is_sentinel());
    let mut conn = url.connect().await.unwrap();
    let safe = PublishOptions::default().wait_replicas(1, Duration::from_secs(3));
    let mut published = Vec::new();
    for n in 0..20 {
        let id = publish_envelope(&mut conn, STREAM, &envelope(n), safe)
            .await
            .unwrap();
        published.push(id);
    }
    assert_eq!(
        redis.master.cli(&["XLEN", STREAM]).trim(),
        "20",
        "on the master"
    );

    // The library's follower and consumer, and the program's.
    let (followed, follower) = spawn_follower(&url, STREAM);
    let (consumed, consumer) = spawn_consumer(&url, STREAM, "bots");
    let at = Url(redis.url());
    let mut tail = command(
        &at,
        &[
            "tail",
            "--follow",
            "--from",
            "0",
            "--json",
            "--line-buffered",
        ],
    )
    .args(["--block-ms", "200"])
    .stdin(Stdio::null())
    .spawn()
    .unwrap();
    let tailed = collect_lines(&mut tail);
    let mut consume = command(&at, &["consume", "--group", "cli", "--from", "0"])
        .args(["--block-ms", "200"])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let cli_consumed = collect_lines(&mut consume);
    let count = |list: &Delivered| list.lock().unwrap().len();
    wait_until(30, "all four to read the first 20", || {
        [&followed, &consumed, &tailed, &cli_consumed]
            .iter()
            .all(|list| count(list) >= 20)
    });

    redis.kill_master();
    // The promoted replica has no replica now: published without waiting.
    // A Sentinel that has not heard of the promotion yet may still name the
    // dead master for a moment: a new connection is tried until it works,
    // as a publisher's retry would.
    let mut attempts = 0;
    let mut conn = loop {
        match url.connect().await {
            Ok(conn) => break conn,
            Err(error) => {
                attempts += 1;
                assert!(error.is_retryable() && attempts < 300, "{error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    for n in 20..40 {
        let id = publish_envelope(&mut conn, STREAM, &envelope(n), PublishOptions::default())
            .await
            .unwrap();
        published.push(id);
    }
    assert_eq!(
        redis.replica.cli(&["XLEN", STREAM]).trim(),
        "40",
        "on the new master"
    );
    wait_until(60, "all four to read the 40 after the failover", || {
        [&followed, &tailed].iter().all(|list| count(list) >= 40)
            && {
                let consumed = consumed.lock().unwrap();
                published.iter().all(|id| consumed.contains(id))
            }
            && {
                let lines = cli_consumed.lock().unwrap();
                published
                    .iter()
                    .all(|id| lines.iter().any(|l| l.contains(id.as_str())))
            }
    });
    assert_eq!(*followed.lock().unwrap(), published, "once each, in order");
    let tailed_ids: Vec<String> = tailed
        .lock()
        .unwrap()
        .iter()
        .map(|line| {
            let line: serde_json::Value = serde_json::from_str(line).unwrap();
            line["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(tailed_ids, published, "tail --follow: once each, in order");
    // Nothing left pending: acknowledgements the dead master had not yet
    // sent to its replica come again, from each consumer's retry of its own
    // pending entries on the new master.
    for group in ["bots", "cli"] {
        wait_until(60, "nothing pending on the new master", || {
            let pending = redis.replica.cli(&["XPENDING", STREAM, group]);
            pending.lines().next().unwrap_or("0").trim() == "0"
        });
    }
    follower.abort();
    consumer.abort();
    terminate(&mut tail);
    terminate(&mut consume);
    let _ = tail.wait();
    let _ = consume.wait();
    // The promoted replica had none of the scripts: each NOSCRIPT was
    // answered by a load.
    let stats = redis.replica.cli(&["INFO", "commandstats"]);
    assert!(stats.contains("cmdstat_script|load"), "{stats}");
}

#[test]
fn the_program_publishes_with_wait_replicas_through_the_sentinels() {
    let redis = RedisSentinels::start();
    let at = Url(redis.url());
    let input = format!("{}\n", prediction("safe?"));
    let out = run(&at, &["publish", "--wait-replicas", "1"], input.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let id = stdout(&out).trim().to_owned();
    assert!(redis
        .replica
        .cli(&["XRANGE", STREAM, &id, &id])
        .contains("data"));
    // Two replicas are asked for and one exists: added, but not safe.
    let out = run(
        &at,
        &[
            "publish",
            "--wait-replicas",
            "2",
            "--wait-timeout-ms",
            "200",
            "--json",
        ],
        input.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let line: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(line["reason"], "not_published");
    let message = line["message"].as_str().unwrap();
    assert!(message.contains("1 of the 2 replica(s)"), "{message}");
    assert_eq!(redis.master.cli(&["XLEN", STREAM]).trim(), "2");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_replicas_wait_replicas_says_the_entry_is_not_safe() {
    let server = RedisServer::start();
    let url = RedisUrl::parse(&server.url()).unwrap();
    let mut conn = url.connect().await.unwrap();
    let options = PublishOptions::default().wait_replicas(1, Duration::from_millis(100));
    let refused = publish_envelope(&mut conn, STREAM, &envelope(0), options)
        .await
        .unwrap_err();
    let TransportError::NotReplicated {
        id,
        replicas,
        wanted,
    } = &refused
    else {
        panic!("{refused:?}");
    };
    assert_eq!((*replicas, *wanted), (0, 1));
    assert!(
        server.cli(&["XRANGE", STREAM, id, id]).contains("data"),
        "it was added"
    );
    assert!(!refused.is_retryable());
    // Each entry of a batch is told so; a batch without waiting is not.
    let batch: Vec<_> = (1..4).map(envelope).collect();
    let outcomes = publish_each(&mut conn, STREAM, &batch, options)
        .await
        .unwrap();
    assert!(outcomes
        .iter()
        .all(|o| matches!(o, Err(TransportError::NotReplicated { .. }))));
    let outcomes = publish_each(&mut conn, STREAM, &batch, PublishOptions::default())
        .await
        .unwrap();
    assert!(outcomes.iter().all(Result::is_ok));
}

#[test]
fn sentinel_urls_are_parsed_and_redacted() {
    let url = RedisUrl::parse(
        "redis+sentinel://:pw@127.0.0.1:1,127.0.0.1:2/main/3?sentinel_password=spw",
    )
    .unwrap();
    assert_eq!(
        url.redacted(),
        "redis+sentinel://:***@127.0.0.1:1,127.0.0.1:2/main/3?sentinel_password=***"
    );
    for (bad, why) in [
        ("redis+sentinel://127.0.0.1:1", "MASTER_NAME"),
        ("redis+sentinel://127.0.0.1:1/main/0/x", "MASTER_NAME"),
        ("redis+sentinel:///main", "host:port"),
        ("redis+sentinel://h:1/main?password=x", "sentinel_password"),
        ("redis+cluster://h:1/2", "database 0"),
        ("redis+cluster://", "host:port"),
        ("http://h", "redis+sentinel://"),
    ] {
        let refused = RedisUrl::parse(bad)
            .err()
            .unwrap_or_else(|| panic!("{bad}"));
        assert!(refused.to_string().contains(why), "{bad}: {refused}");
    }
    // No Sentinel answers: a connect error naming the redacted URL, never
    // the password.
    let url =
        RedisUrl::parse("redis+sentinel://:pw@127.0.0.1:1/main?sentinel_password=spw").unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let refused = runtime.block_on(url.connect()).err().unwrap();
    let text = refused.to_string();
    assert!(text.contains("no master from the Sentinels"), "{text}");
    assert!(!text.contains("pw@") && !text.contains("=spw"), "{text}");
}

#[test]
fn sentinels_with_passwords_of_their_own_are_reached_and_no_password_is_shown() {
    // The master requires "master-pw"; the Sentinels require "sentinel-pw"
    // and reach the master with `sentinel auth-pass`.
    let redis = RedisSentinels::start_with_passwords(Some(("master-pw", "sentinel-pw")));
    let hosts = redis.url();
    let hosts = hosts.trim_start_matches("redis+sentinel://");
    let url = format!("redis+sentinel://:master-pw@{hosts}?sentinel_password=sentinel-pw");
    let at = Url(url.clone());
    let input = format!("{}\n", prediction("guarded?"));
    let out = run(&at, &["publish", "--wait-replicas", "1"], input.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(redis.master.cli(&["XLEN", STREAM]).trim(), "1");
    let out = run(&at, &["tail", "-n", "1", "--json"], b"");
    assert_eq!(stdout(&out).lines().count(), 1, "{}", stderr(&out));
    // A wrong password for either: an error naming the URL, no password.
    for wrong in [
        format!("redis+sentinel://:master-pw@{hosts}?sentinel_password=nope-pw"),
        format!("redis+sentinel://:nope-pw@{hosts}?sentinel_password=sentinel-pw"),
    ] {
        let out = run(&Url(wrong), &["tail", "-n", "1"], b"");
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let said = stderr(&out);
        assert!(said.contains("redis+sentinel://:***@"), "{said}");
        for password in ["master-pw", "sentinel-pw", "nope-pw"] {
            assert!(!said.contains(password), "{password} in {said}");
        }
    }
}

/// `rediss+sentinel://` to Sentinels and a master that speak only TLS
/// (replication too), behind one CA of the test's own.
#[cfg(feature = "redis-rustls")]
#[tokio::test(flavor = "multi_thread")]
async fn sentinels_and_a_master_speaking_only_tls_through_rediss_sentinel() {
    let (redis, ca) = RedisSentinels::start_tls("master-pw", "sentinel-pw");
    let hosts = redis.url();
    let hosts = hosts.trim_start_matches("redis+sentinel://");
    let url = format!("rediss+sentinel://:master-pw@{hosts}?sentinel_password=sentinel-pw");
    let url = RedisUrl::parse(&url)
        .unwrap()
        .with_root_certificate(ca.clone())
        .unwrap();
    let mut conn = url.connect().await.unwrap();
    let safe = PublishOptions::default().wait_replicas(1, Duration::from_secs(3));
    let id = publish_envelope(&mut conn, STREAM, &envelope(0), safe)
        .await
        .unwrap();
    let newest = read_envelopes(&mut conn, STREAM, 5).await.unwrap();
    assert_eq!(newest.first().map(StreamItem::id), Some(id.as_str()));
    // Without the CA: the certificate is not trusted, and that is the error.
    let untrusted = format!("rediss+sentinel://:master-pw@{hosts}?sentinel_password=sentinel-pw");
    let Err(refused) = RedisUrl::parse(&untrusted).unwrap().connect().await else {
        panic!("a certificate of an unknown CA is trusted");
    };
    let refused = refused.to_string();
    assert!(
        !refused.contains("master-pw") && !refused.contains("sentinel-pw"),
        "{refused}"
    );
}
