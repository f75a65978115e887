//! A Redis Cluster of 3 masters and 3 replicas (real `redis-server`
//! processes, `tests/common/redis_cluster.rs`), on the default stream name,
//! reached through a node that does not own the stream's slot: the library,
//! the program and `serve` work as on one server, and go on by themselves
//! when the stream's master is killed.

mod common;
#[path = "common/envelopes.rs"]
mod envelopes;
#[path = "common/program.rs"]
mod program;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::redis_cluster::{wait_until, RedisCluster};
use crowd_envelope::redis::*;
use envelopes::{envelope, spawn_consumer, spawn_follower, Delivered, STREAM};
use futures_util::StreamExt;
use program::{prediction, run, stderr, stdout, Url};

const DEAD: &str = "{maf:arena:crowd_simulation:output}:dead";

#[tokio::test(flavor = "multi_thread")]
async fn keys_beside_a_stream_share_its_slot_on_a_live_node() {
    let cluster = RedisCluster::start();
    for stream in [STREAM, "s", "a{b", "{a", "x{eu}", "{eu}x{y}", "{"] {
        let slot = cluster.slot(stream);
        let dead = dead_letter_key(stream).unwrap();
        let attempts = attempts_key(stream, "bots").unwrap();
        assert_eq!(cluster.slot(&dead), slot, "{dead}");
        assert_eq!(cluster.slot(&attempts), slot, "{attempts}");
    }
    // Names no key beside can share a slot with are refused, everywhere.
    for stream in ["a}b", "}{", "{}", "a{}b", "{}x{y}", ""] {
        let refused = dead_letter_key(stream).unwrap_err();
        assert!(
            matches!(refused, TransportError::InvalidStream { .. }),
            "{stream:?}: {refused}"
        );
    }
    let url = RedisUrl::parse(&cluster.url_avoiding(STREAM)).unwrap();
    let mut consumer = GroupConsumer::new(url, "a}b", GroupOptions::new("g", "c"));
    let mut ok = |_: StreamEnvelope| async { Ok::<(), String>(()) };
    let refused = consumer.poll(&mut ok).await.unwrap_err();
    assert!(
        refused.to_string().contains("invalid stream name \"a}b\""),
        "{refused}"
    );
    assert!(!refused.is_retryable());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_library_works_through_a_node_that_does_not_own_the_stream() {
    let cluster = RedisCluster::start();
    let url = RedisUrl::parse(&cluster.url_avoiding(STREAM)).unwrap();
    assert!(url.is_cluster());
    let mut conn = url.connect().await.unwrap();
    let envelopes: Vec<_> = (0..5).map(envelope).collect();
    let ids = publish_envelopes(&mut conn, STREAM, &envelopes, PublishOptions::default())
        .await
        .unwrap();
    // One replica has each: WAIT went to the stream's master.
    let safe = PublishOptions::default().wait_replicas(1, Duration::from_secs(5));
    let sixth = publish_envelope(&mut conn, STREAM, &envelope(5), safe)
        .await
        .unwrap();
    let newest = read_envelopes(&mut conn, STREAM, 10).await.unwrap();
    assert_eq!(newest.len(), 6);
    // A bad entry, by another client.
    let bad = cluster.cli(&["XADD", STREAM, "*", "data", "not json"]);
    let bad = bad.trim().to_owned();

    let mut options = FollowOptions::after("0");
    options.block = Duration::from_millis(200);
    let follow = follow_envelopes(url.clone(), STREAM, options);
    let seen: Vec<String> = follow
        .take(7)
        .map(|item| match item.unwrap() {
            StreamItem::Envelope(entry) => entry.id,
            StreamItem::Skipped(skipped) => skipped.id,
        })
        .collect()
        .await;
    let mut expected = ids.clone();
    expected.extend([sixth.clone(), bad.clone()]);
    assert_eq!(seen, expected);

    let mut group = GroupOptions::new("bots", "c1");
    group.start_id = "0".to_owned();
    group.block = Duration::from_millis(200);
    let mut consumer = GroupConsumer::new(url.clone(), STREAM, group);
    assert_eq!(consumer.dead_letter_stream(), DEAD);
    let handled = Arc::new(Mutex::new(Vec::new()));
    let mut handler = {
        let handled = Arc::clone(&handled);
        move |entry: StreamEnvelope| {
            handled.lock().unwrap().push(entry.id);
            async { Ok::<(), String>(()) }
        }
    };
    while consumer.stats().handled + consumer.stats().dead_lettered.values().sum::<u64>() < 7 {
        consumer.poll(&mut handler).await.unwrap();
    }
    assert_eq!(handled.lock().unwrap().len(), 6);
    assert_eq!(
        cluster.cli(&["XLEN", DEAD]).trim(),
        "1",
        "dead-lettered once"
    );

    let stats = stream_stats(&mut conn, STREAM).await.unwrap().unwrap();
    assert_eq!((stats.length, stats.dead_letters), (7, 1));
    assert_eq!(stats.groups[0].pending, 0);
    let letters = dead_letters(&mut conn, STREAM, "-", 10, 1 << 20)
        .await
        .unwrap();
    assert_eq!(letters[0].entry_id, bad);
    let replayed = replay_dead_letter(&mut conn, STREAM, &letters[0].id)
        .await
        .unwrap();
    assert!(
        matches!(replayed, Replayed::Published { .. }),
        "{replayed:?}"
    );
    assert_eq!(cluster.cli(&["XLEN", STREAM]).trim(), "8");
    cluster.cli(&["XADD", DEAD, "*", "reason", "invalid"]);
    assert_eq!(purge_dead_letters(&mut conn, STREAM, &[]).await.unwrap(), 1);

    // Letters under the key before 0.3, in another slot: moved all the same.
    let old = format!("{STREAM}:dead");
    assert_ne!(cluster.slot(&old), cluster.slot(STREAM));
    cluster.cli(&["XADD", &old, "*", "reason", "invalid", "id", "1-0"]);
    assert_eq!(legacy_dead_letters(&mut conn, STREAM).await.unwrap(), 1);
    let moved = migrate_legacy_keys(&mut conn, STREAM).await.unwrap();
    assert_eq!(moved.dead_letters, 1);
    assert_eq!(cluster.cli(&["XLEN", DEAD]).trim(), "1");
    assert_eq!(cluster.cli(&["EXISTS", &old]).trim(), "0");
}

#[test]
fn the_program_and_serve_work_on_a_cluster() {
    let cluster = RedisCluster::start();
    let at = Url(cluster.url_avoiding(STREAM));
    let input = format!("{}\n{}\n", prediction("one?"), prediction("two?"));
    let out = run(
        &at,
        &["publish", "--lines", "--wait-replicas", "1"],
        input.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ids: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    assert_eq!(ids.len(), 2);
    cluster.cli(&["XADD", STREAM, "*", "data", "[]"]);

    let out = run(&at, &["tail", "-n", "5", "--json"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 2, "{}", stdout(&out));

    let out = run(&at, &program::consume(&["--limit", "3"]), b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 2);
    assert_eq!(cluster.cli(&["XLEN", DEAD]).trim(), "1");

    let out = run(&at, &["stats", "--json"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stats: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(stats["length"], 3);
    assert_eq!(stats["dead_letters"], 1);
    assert_eq!(stats["groups"][0]["name"], "g");

    let out = run(&at, &["dead", "list", "--json"], b"");
    let letter: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let dead_id = letter["id"].as_str().unwrap().to_owned();
    let out = run(&at, &["dead", "replay", &dead_id], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(cluster.cli(&["XLEN", DEAD]).trim(), "0");
    assert_eq!(cluster.cli(&["XLEN", STREAM]).trim(), "4");

    let served = program::serve(&at);
    let feed = program::feed_text_until(
        &served.addr,
        "/feed",
        "Last-Event-ID: 0-0\r\n",
        Duration::from_secs(10),
        |text| program::entry_ids(text).len() >= 2,
    );
    let feed_ids = program::entry_ids(&feed);
    assert_eq!(feed_ids[..2], ids[..], "{feed}");
    let stats = program::http(&served.addr, "GET /stats HTTP/1.1");
    assert!(stats.contains("\"dead_letters\":0"), "{stats}");
    assert!(stats.contains("\"length\":4"), "{stats}");
    program::metrics_when(&served.addr, |m| m.contains("crowd_envelope_redis_up 1"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_follower_and_a_consumer_go_on_when_the_streams_master_dies() {
    let mut cluster = RedisCluster::start();
    let url = RedisUrl::parse(&cluster.url_avoiding(STREAM)).unwrap();
    let mut conn = url.connect().await.unwrap();
    let safe = PublishOptions::default().wait_replicas(1, Duration::from_secs(5));
    let mut published = Vec::new();
    for n in 0..20 {
        published.push(
            publish_envelope(&mut conn, STREAM, &envelope(n), safe)
                .await
                .unwrap(),
        );
    }

    let (followed, follower) = spawn_follower(&url, STREAM);
    let (consumed, consumer) = spawn_consumer(&url, STREAM, "bots");
    let caught_up = |list: &Delivered, n: usize| list.lock().unwrap().len() >= n;
    wait_until(30, "both to read the first 20", || {
        caught_up(&followed, 20) && caught_up(&consumed, 20)
    });

    cluster.kill_master_of(STREAM);
    // The promoted replica has no replica of its own now: these are
    // published without waiting for one.
    let mut conn = url.connect().await.unwrap();
    let options = PublishOptions::default();
    for n in 20..40 {
        published.push(
            publish_envelope(&mut conn, STREAM, &envelope(n), options)
                .await
                .unwrap(),
        );
    }
    wait_until(60, "both to read all 40 after the failover", || {
        caught_up(&followed, 40) && {
            let consumed = consumed.lock().unwrap();
            published.iter().all(|id| consumed.contains(id))
        }
    });
    assert_eq!(
        *followed.lock().unwrap(),
        published,
        "the follower: once each, in order"
    );
    // Nothing left pending: acknowledgements the dead master had not yet
    // sent to its replica come again, from the consumer's retry of its own
    // pending entries on the new master.
    wait_until(60, "nothing pending on the new master", || {
        let pending = cluster.cli(&["XPENDING", STREAM, "bots"]);
        pending.lines().next().unwrap_or("0").trim() == "0"
    });
    follower.abort();
    consumer.abort();
    // The promoted replica had none of the scripts (Redis does not
    // replicate its script cache): each NOSCRIPT was answered by a load.
    let promoted = cluster.master_of(STREAM);
    let stats = cluster.node_cli(promoted, &["INFO", "commandstats"]);
    assert!(stats.contains("cmdstat_script|load"), "{stats}");
}

/// `rediss+cluster://` with a password, to nodes that speak only TLS
/// (between themselves too) and trust one CA of the test's own.
#[cfg(feature = "redis-rustls")]
#[tokio::test(flavor = "multi_thread")]
async fn a_tls_cluster_with_a_password_works_through_rediss_cluster() {
    let (cluster, ca) = RedisCluster::start_tls("cluster-pw");
    let through = cluster.url_avoiding(STREAM);
    let url = through.replace("redis+cluster://", "rediss+cluster://:cluster-pw@");
    let url = RedisUrl::parse(&url).unwrap();
    assert!(
        url.redacted().starts_with("rediss+cluster://:***@"),
        "{url}"
    );
    let url = url.with_root_certificate(ca.clone()).unwrap();
    let mut conn = url.connect().await.unwrap();
    let envelopes: Vec<_> = (0..3).map(envelope).collect();
    let ids = publish_envelopes(&mut conn, STREAM, &envelopes, PublishOptions::default())
        .await
        .unwrap();
    assert_eq!(
        read_envelopes(&mut conn, STREAM, 10).await.unwrap().len(),
        3
    );
    let mut options = GroupOptions::new("bots", "c1");
    options.start_id = "0".to_owned();
    options.block = Duration::from_millis(200);
    let mut consumer = GroupConsumer::new(url.clone(), STREAM, options);
    let mut ok = |_: StreamEnvelope| async { Ok::<(), String>(()) };
    while consumer.stats().handled < 3 {
        consumer.poll(&mut ok).await.unwrap();
    }
    let stats = stream_stats(&mut conn, STREAM).await.unwrap().unwrap();
    assert_eq!((stats.length, stats.groups[0].pending), (3, 0));
    assert_eq!(stats.last_id.as_deref(), ids.last().map(String::as_str));
    // The wrong password: refused, and not shown.
    let wrong = through.replace("redis+cluster://", "rediss+cluster://:nope-pw@");
    let wrong = RedisUrl::parse(&wrong)
        .unwrap()
        .with_root_certificate(ca)
        .unwrap();
    let Err(refused) = wrong.connect().await else {
        panic!("a wrong password is refused");
    };
    let refused = refused.to_string();
    assert!(refused.contains("rediss+cluster://:***@"), "{refused}");
    assert!(!refused.contains("nope-pw"), "{refused}");
}
