//! The Redis transport against a real `redis-server`: round trips, a
//! producer that is not this crate, kill -9 mid-follow, consumer groups,
//! dead letters.

mod common;
#[path = "common/envelopes.rs"]
mod envelopes;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::redis_server::RedisServer;
use crowd_envelope::redis::*;
use crowd_envelope::*;
use envelopes::{envelope, publish_n, STREAM};
use futures_util::{Stream, StreamExt};

/// Takes `want` envelopes from a follower, recording skips and errors.
async fn take_envelopes(
    follow: impl Stream<Item = Result<StreamItem, TransportError>>,
    want: usize,
) -> (Vec<StreamEnvelope>, Vec<Skipped>, usize) {
    futures_util::pin_mut!(follow);
    let (mut got, mut skipped, mut errors) = (Vec::new(), Vec::new(), 0);
    let collect = async {
        while got.len() < want {
            match follow.next().await.unwrap() {
                Ok(StreamItem::Envelope(entry)) => got.push(entry),
                Ok(StreamItem::Skipped(skip)) => skipped.push(skip),
                Err(_) => errors += 1,
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), collect)
        .await
        .expect("the follower delivered in time");
    (got, skipped, errors)
}

fn ids_of(entries: &[StreamEnvelope]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e.envelope.correlation_id.clone())
        .collect()
}

fn follow_options(last_id: &str) -> FollowOptions {
    let mut options = FollowOptions::after(last_id);
    options.block = Duration::from_millis(200);
    options
}

#[tokio::test(flavor = "multi_thread")]
async fn publish_then_read_newest_first_with_one_data_field() {
    let server = RedisServer::start();
    let url = RedisUrl::parse(&server.url()).unwrap();
    let ids = publish_n(&url, STREAM, 0..5).await;
    assert!(ids.iter().all(|id| id.contains('-')));

    let mut conn = url.connect().await.unwrap();
    let items = read_envelopes(&mut conn, STREAM, 3).await.unwrap();
    let got: Vec<StreamEnvelope> = items
        .into_iter()
        .filter_map(StreamItem::into_envelope)
        .collect();
    assert_eq!(ids_of(&got), ["c-4", "c-3", "c-2"]);
    assert_eq!(got[0].id, ids[4]);

    // Exactly one field, `data`, holding the canonical encoding.
    let raw = server.cli(&["XRANGE", STREAM, &ids[0], &ids[0]]);
    let lines: Vec<&str> = raw.lines().collect();
    assert_eq!(lines.len(), 3, "{raw}");
    assert_eq!(lines[1], "data");
    assert_eq!(try_decode_envelope(lines[2]).unwrap().to_json(), lines[2]);
}

#[tokio::test(flavor = "multi_thread")]
async fn publish_validates_and_trims() {
    let server = RedisServer::start();
    let url = RedisUrl::parse(&server.url()).unwrap();
    let mut conn = url.connect().await.unwrap();
    let mut bad = envelope(0);
    bad.prediction.confidence = 2.0;
    let err = publish_envelope(&mut conn, STREAM, &bad, PublishOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::Invalid(_)), "{err}");
    assert!(err.to_string().contains("prediction.confidence"), "{err}");

    let many: Vec<_> = (0..500).map(envelope).collect();
    let options = PublishOptions::max_len(50);
    let ids = publish_envelopes(&mut conn, "trimmed", &many, options)
        .await
        .unwrap();
    assert_eq!(ids.len(), 500);
    let len: usize = server.cli(&["XLEN", "trimmed"]).trim().parse().unwrap();
    assert!((50..500).contains(&len), "approximate trim left {len}");
}

#[tokio::test(flavor = "multi_thread")]
async fn follow_delivers_what_is_published_while_following() {
    let server = RedisServer::start();
    let url = RedisUrl::parse(&server.url()).unwrap();
    publish_n(&url, STREAM, 100..102).await; // before: not delivered
    let follow = follow_envelopes(url.clone(), STREAM, follow_options("$"));
    let publisher = {
        let url = url.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            publish_n(&url, STREAM, 0..5).await
        })
    };
    let (got, skipped, errors) = take_envelopes(follow, 5).await;
    assert_eq!(ids_of(&got), ["c-0", "c-1", "c-2", "c-3", "c-4"]);
    assert_eq!(
        got.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        publisher.await.unwrap()
    );
    assert!(skipped.is_empty() && errors == 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn payloads_written_by_the_python_reference_with_redis_cli_are_followed() {
    let server = RedisServer::start();
    let url = RedisUrl::parse(&server.url()).unwrap();
    // The corpus's valid payloads were written by the Pydantic reference
    // (tests/reference/gen_vectors.py); here redis-cli is the producer.
    let valid: Vec<String> = common::corpus()
        .into_iter()
        .filter(|v| v.expect["ok"] == true && v.max_payload_bytes == DEFAULT_MAX_PAYLOAD_BYTES)
        // Defaults from the clock or randomness differ between two decodes.
        .filter(|v| v.expect["volatile"].as_array().is_some_and(Vec::is_empty))
        .filter_map(|v| String::from_utf8(v.payload).ok())
        .filter(|p| p.len() < 64 * 1024)
        .take(60)
        .collect();
    assert!(valid.len() >= 50);
    for (i, payload) in valid.iter().enumerate() {
        server.cli(&["XADD", STREAM, "*", "data", payload]);
        if i % 20 == 0 {
            // Interleaved: an entry without data, broken JSON, a future version.
            server.cli(&["XADD", STREAM, "*", "other", "x"]);
            server.cli(&["XADD", STREAM, "*", "data", "{\"schema_version\":"]);
            server.cli(&[
                "XADD",
                STREAM,
                "*",
                "data",
                r#"{"schema_version":"2","x":1}"#,
            ]);
        }
    }
    let (got, skipped, _) = take_envelopes(
        follow_envelopes(url, STREAM, follow_options("0")),
        valid.len(),
    )
    .await;
    for (entry, payload) in got.iter().zip(&valid) {
        assert_eq!(entry.envelope, try_decode_envelope(payload).unwrap());
    }
    let mut reasons = HashMap::new();
    for skip in &skipped {
        *reasons.entry(skip.reason.as_str()).or_insert(0) += 1;
    }
    assert_eq!(reasons["no_data"], 3);
    assert_eq!(reasons["invalid_json"], 3);
    assert_eq!(reasons["unsupported_version"], 3);
    assert!(skipped.iter().all(|s| !s.errors.is_empty()));
}

#[tokio::test(flavor = "multi_thread")]
async fn follower_survives_kill_9_and_restart_exactly_once_in_order() {
    let mut server = RedisServer::start();
    let url = RedisUrl::parse(&server.url()).unwrap();
    let first = publish_n(&url, STREAM, 1000..1001).await;
    let delivered = Arc::new(Mutex::new(Vec::new()));
    let follower = {
        let delivered = Arc::clone(&delivered);
        let follow = follow_envelopes(url.clone(), STREAM, follow_options(&first[0]));
        tokio::spawn(async move {
            futures_util::pin_mut!(follow);
            let (mut skips, mut errors) = (Vec::new(), 0);
            while delivered.lock().unwrap().len() < 10 {
                match follow.next().await.unwrap() {
                    Ok(StreamItem::Envelope(e)) => delivered.lock().unwrap().push(e),
                    Ok(StreamItem::Skipped(s)) => skips.push(s.reason),
                    Err(_) => errors += 1,
                }
            }
            (skips, errors)
        })
    };
    publish_n(&url, STREAM, 0..3).await;
    server.cli(&["XADD", STREAM, "*", "data", "not json"]);
    publish_n(&url, STREAM, 3..5).await;
    wait_until(|| delivered.lock().unwrap().len() == 5).await;

    server.kill();
    tokio::time::sleep(Duration::from_millis(400)).await;
    server.restart();
    publish_n(&url, STREAM, 5..7).await;
    server.cli(&["XADD", STREAM, "*", "data", r#"{"schema_version":"3"}"#]);
    publish_n(&url, STREAM, 7..10).await;

    let (skips, errors) = tokio::time::timeout(Duration::from_secs(30), follower)
        .await
        .expect("the follower finished")
        .unwrap();
    let got = delivered.lock().unwrap().clone();
    let wanted: Vec<String> = (0..10).map(|n| format!("c-{n}")).collect();
    assert_eq!(ids_of(&got), wanted, "every envelope once, in order");
    assert_eq!(
        skips.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        ["invalid_json", "unsupported_version"]
    );
    assert!(errors >= 1, "the lost connection was reported");
}

async fn wait_until(mut condition: impl FnMut() -> bool) {
    let wait = async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .expect("condition reached in time");
}

fn group_options(consumer: &str) -> GroupOptions {
    let mut options = GroupOptions::new("bots", consumer);
    options.start_id = "0".to_owned();
    options.block = Duration::from_millis(100);
    options.claim_idle = Duration::from_millis(300);
    options.retry_delay = Duration::from_millis(50);
    options.count = 10;
    options
}

#[tokio::test(flavor = "multi_thread")]
async fn three_consumers_share_1000_entries_each_handled_once() {
    let server = RedisServer::start();
    let url = RedisUrl::parse(&server.url()).unwrap();
    let mut conn = url.connect().await.unwrap();
    let all: Vec<_> = (0..1000).map(envelope).collect();
    publish_envelopes(&mut conn, STREAM, &all, PublishOptions::default())
        .await
        .unwrap();

    let total = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for name in ["a", "b", "c"] {
        let (url, total) = (url.clone(), Arc::clone(&total));
        tasks.push(tokio::spawn(async move {
            // No consumer dies here: nothing is to be claimed. (With a short
            // claim time, a consumer starved by a busy machine has its batch
            // claimed and handled again: at-least-once, issue 13.)
            let mut options = group_options(name);
            options.claim_idle = Duration::from_secs(600);
            let mut consumer = GroupConsumer::new(url, STREAM, options);
            let seen = Arc::new(Mutex::new(Vec::new()));
            let mut handler = |entry: StreamEnvelope| {
                let (seen, total) = (Arc::clone(&seen), Arc::clone(&total));
                async move {
                    seen.lock().unwrap().push(entry.envelope.correlation_id);
                    total.fetch_add(1, Ordering::SeqCst);
                    // Give the other consumers a turn.
                    tokio::task::yield_now().await;
                    Ok::<(), String>(())
                }
            };
            while total.load(Ordering::SeqCst) < 1000 {
                consumer.poll(&mut handler).await.unwrap();
            }
            let seen = seen.lock().unwrap().clone();
            seen
        }));
    }
    let mut handled = Vec::new();
    for task in tasks {
        let seen = tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .unwrap()
            .unwrap();
        assert!(!seen.is_empty(), "every consumer got a share");
        handled.extend(seen);
    }
    assert_eq!(handled.len(), 1000, "none handled twice");
    assert_eq!(handled.iter().collect::<BTreeSet<_>>().len(), 1000);
    assert_eq!(pending_count(&server), 0);
}

/// Entries pending in group `bots`; 0 before the group exists (redis-cli
/// then prints the NOGROUP error: a test may poll before a consumer made it).
fn pending_count(server: &RedisServer) -> usize {
    let summary = server.cli(&["XPENDING", STREAM, "bots"]);
    match summary.lines().next().map(str::trim) {
        Some(count) if count.starts_with("NOGROUP") || count.starts_with("ERR") => 0,
        Some(count) => count
            .parse()
            .unwrap_or_else(|_| panic!("XPENDING said {summary:?}")),
        None => panic!("XPENDING said nothing"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn entries_of_a_consumer_killed_before_acking_are_claimed_by_another() {
    let server = RedisServer::start();
    let url = RedisUrl::parse(&server.url()).unwrap();
    publish_n(&url, STREAM, 0..10).await;

    // "a" reads a batch and dies in its handler: nothing acknowledged.
    let mut a = GroupConsumer::new(url.clone(), STREAM, group_options("a"));
    let mut hang = |_entry: StreamEnvelope| std::future::pending::<Result<(), String>>();
    let died = tokio::time::timeout(Duration::from_millis(500), a.poll(&mut hang)).await;
    assert!(died.is_err(), "a hung in its handler");
    drop(a);
    assert_eq!(pending_count(&server), 10);

    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut b = GroupConsumer::new(url, STREAM, group_options("b"));
    let got = Arc::new(Mutex::new(Vec::new()));
    let mut record = |entry: StreamEnvelope| {
        let got = Arc::clone(&got);
        async move {
            got.lock().unwrap().push(entry.envelope.correlation_id);
            Ok::<(), String>(())
        }
    };
    b.poll(&mut record).await.unwrap();
    let got = got.lock().unwrap().clone();
    let wanted: Vec<String> = (0..10).map(|n| format!("c-{n}")).collect();
    assert_eq!(got, wanted);
    assert_eq!(b.stats().claimed, 10);
    assert_eq!(pending_count(&server), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_follower_refuses_a_start_id_redis_would_not_read_and_ends() {
    let server = RedisServer::start();
    let url = RedisUrl::parse(&server.url()).unwrap();
    for bad in ["bogus", "1-x", "99999999999999999999-0", ""] {
        let follow = follow_envelopes(url.clone(), STREAM, follow_options(bad));
        let items: Vec<_> =
            tokio::time::timeout(Duration::from_secs(5), follow.collect::<Vec<_>>())
                .await
                .expect("the stream ends");
        assert_eq!(items.len(), 1, "{bad:?}");
        assert!(
            matches!(&items[0], Err(TransportError::InvalidId(id)) if id == bad),
            "{bad:?}"
        );
    }
    assert!(is_stream_id("$") && is_stream_id("0") && is_stream_id("5-1"));
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_entries_deleted_from_the_stream_are_reported_as_deleted() {
    let server = RedisServer::start();
    let url = RedisUrl::parse(&server.url()).unwrap();
    let ids = publish_n(&url, STREAM, 0..2).await;
    let mut options = group_options("same");
    options.claim_idle = Duration::from_secs(3600);
    let mut first = GroupConsumer::new(url.clone(), STREAM, options.clone());
    let mut fail = |_entry: StreamEnvelope| async { Err::<(), _>("downstream is down") };
    first.poll(&mut fail).await.unwrap();
    server.cli(&["XDEL", STREAM, &ids[0]]);
    // Failed once: retried after `retry_delay`.
    tokio::time::sleep(options.retry_delay).await;

    let mut again = GroupConsumer::new(url, STREAM, options);
    let mut ok = |_entry: StreamEnvelope| async { Ok::<(), String>(()) };
    again.poll(&mut ok).await.unwrap();
    assert_eq!(again.stats().handled, 1);
    assert_eq!(
        again.stats().dead_lettered.get(&SkipReason::Deleted),
        Some(&1)
    );
    let dead = server.cli(&["XRANGE", &format!("{{{STREAM}}}:dead"), "-", "+"]);
    assert!(
        dead.contains("deleted") && !dead.contains("no_data"),
        "{dead}"
    );
    // The dead letter says why, as every other one does, and names the entry.
    let lines: Vec<&str> = dead.lines().collect();
    let field = |name: &str| {
        let at = lines
            .iter()
            .position(|line| *line == name)
            .unwrap_or_else(|| panic!("{dead}"));
        lines[at + 1]
    };
    assert_eq!(
        field("errors"),
        r#"[{"path":"","code":"missing","message":"the entry was deleted from the stream before it was handled"}]"#
    );
    assert_eq!(field("id"), ids[0]);
    assert_eq!(field("consumer"), "same");
    assert_eq!(field("attempts"), "1");
    assert_eq!(pending_count(&server), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_redis_restart_the_rest_of_a_batch_comes_before_newer_entries() {
    let mut server = RedisServer::start();
    let url = RedisUrl::parse(&server.url()).unwrap();
    publish_n(&url, STREAM, 0..20).await;
    let handled = Arc::new(Mutex::new(Vec::new()));
    let consumer = {
        let handled = Arc::clone(&handled);
        let mut options = group_options("c");
        options.claim_idle = Duration::from_secs(600); // nothing is claimed
        tokio::spawn(async move {
            let mut consumer = GroupConsumer::new(url, STREAM, options);
            let mut handler = |entry: StreamEnvelope| {
                let handled = Arc::clone(&handled);
                async move {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    handled.lock().unwrap().push(entry.envelope.correlation_id);
                    Ok::<(), String>(())
                }
            };
            let distinct = |handled: &Arc<Mutex<Vec<String>>>| {
                let seen: std::collections::BTreeSet<_> =
                    handled.lock().unwrap().iter().cloned().collect();
                seen.len()
            };
            while distinct(&handled) < 25 {
                let _ = consumer.poll(&mut handler).await;
            }
        })
    };
    // Mid-batch: Redis dies, comes back (AOF on), newer entries arrive.
    tokio::time::sleep(Duration::from_millis(250)).await;
    server.kill();
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.restart();
    let url = RedisUrl::parse(&server.url()).unwrap();
    publish_n(&url, STREAM, 20..25).await;
    tokio::time::timeout(Duration::from_secs(30), consumer)
        .await
        .expect("every entry handled without waiting for a claim")
        .unwrap();
    let handled = handled.lock().unwrap().clone();
    let first = |id: &str| handled.iter().position(|h| h == id).unwrap();
    let last_old = (0..20).map(|n| first(&format!("c-{n}"))).max().unwrap();
    let first_new = (20..25).map(|n| first(&format!("c-{n}"))).min().unwrap();
    assert!(
        last_old < first_new,
        "the interrupted batch first: {handled:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_consumer_first_handles_its_own_pending_entries() {
    let server = RedisServer::start();
    let url = RedisUrl::parse(&server.url()).unwrap();
    publish_n(&url, STREAM, 0..3).await;
    let mut options = group_options("same");
    options.claim_idle = Duration::from_secs(3600); // no claiming here
    let mut first = GroupConsumer::new(url.clone(), STREAM, options.clone());
    let mut fail = |_entry: StreamEnvelope| async { Err::<(), _>("downstream is down") };
    first.poll(&mut fail).await.unwrap();
    assert_eq!(first.stats().failed, 3);
    assert_eq!(pending_count(&server), 3);
    tokio::time::sleep(options.retry_delay).await;

    let mut again = GroupConsumer::new(url, STREAM, options);
    let mut ok = |_entry: StreamEnvelope| async { Ok::<(), String>(()) };
    assert_eq!(again.poll(&mut ok).await.unwrap(), 3);
    assert_eq!(again.stats().handled, 3);
    assert_eq!(pending_count(&server), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn poison_entries_land_in_the_dead_letter_stream_and_are_acked() {
    let server = RedisServer::start();
    let url = RedisUrl::parse(&server.url()).unwrap();
    server.cli(&["XADD", STREAM, "*", "data", "{broken"]);
    server.cli(&["XADD", STREAM, "*", "other", "field"]);
    publish_n(&url, STREAM, 0..2).await; // c-1 always fails its handler
    let mut options = group_options("d");
    options.max_deliveries = 2;
    options.claim_idle = Duration::from_millis(100);
    let mut consumer = GroupConsumer::new(url, STREAM, options);
    let mut handler = |entry: StreamEnvelope| async move {
        if entry.envelope.correlation_id == "c-1" {
            Err("cannot place the bet".to_owned())
        } else {
            Ok(())
        }
    };
    for _ in 0..20 {
        consumer.poll(&mut handler).await.unwrap();
        if consumer.stats().dead_lettered.values().sum::<u64>() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    let stats = consumer.stats().clone();
    assert_eq!(stats.handled, 1);
    assert_eq!(stats.dead_lettered[&SkipReason::NoData], 1);
    assert_eq!(
        stats.dead_lettered[&SkipReason::Decode(DecodeReason::InvalidJson)],
        1
    );
    assert_eq!(stats.dead_lettered[&SkipReason::HandlerFailed], 1);
    assert_eq!(pending_count(&server), 0);

    let dead = server.cli(&["XRANGE", consumer.dead_letter_stream(), "-", "+"]);
    assert!(dead.contains("{broken"), "the raw data is kept: {dead}");
    assert!(dead.contains("invalid_json") && dead.contains("no_data"));
    assert!(dead.contains("handler_failed") && dead.contains("cannot place the bet"));
    assert!(dead.contains(r#""correlation_id":"c-1""#), "{dead}");
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_never_show_the_password() {
    let url = RedisUrl::parse("redis://:hunter2@127.0.0.1:1").unwrap();
    assert_eq!(url.redacted(), "redis://:***@127.0.0.1:1");
    assert_eq!(format!("{url:?}"), "redis://:***@127.0.0.1:1");
    let err = url.connect().await.unwrap_err().to_string();
    assert!(err.contains("redis://:***@127.0.0.1:1"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    let bad = RedisUrl::parse("redis://:hunter2@[::1")
        .unwrap_err()
        .to_string();
    assert!(!bad.contains("hunter2"), "{bad}");
}

/// An entry with raw fields, as any producer might write it.
async fn xadd_raw(url: &RedisUrl, stream: &str, fields: &[(&str, &[u8])]) {
    let mut conn = url.connect().await.unwrap();
    let mut cmd = crowd_envelope::redis::redis::cmd("XADD");
    cmd.arg(stream).arg("*");
    for (name, value) in fields {
        cmd.arg(*name).arg(*value);
    }
    let _: String = cmd.query_async(&mut conn).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn stream_faults_are_skipped_with_their_reasons_and_dead_lettered() {
    let server = RedisServer::start();
    let url = RedisUrl::parse(&server.url()).unwrap();
    let good = envelope(1).to_json();
    let other_arena = good.replace(
        "\"arena\":\"crowd_simulation\"",
        "\"arena\":\"another_arena\"",
    );
    xadd_raw(&url, STREAM, &[("other", b"x")]).await;
    xadd_raw(
        &url,
        STREAM,
        &[("data", b"{\"schema_version\":\"1\",\xff\xfe}")],
    )
    .await;
    xadd_raw(&url, STREAM, &[("data", good.as_bytes()), ("extra", b"1")]).await;
    xadd_raw(&url, STREAM, &[("data", other_arena.as_bytes())]).await;
    // A field name that is not UTF-8 is one more extra field, not a reply
    // that stops the follower and the group.
    let mut conn = url.connect().await.unwrap();
    let _: String = crowd_envelope::redis::redis::cmd("XADD")
        .arg(STREAM)
        .arg("*")
        .arg(&b"\xff"[..])
        .arg("1")
        .arg("data")
        .arg(&good)
        .query_async(&mut conn)
        .await
        .unwrap();
    xadd_raw(&url, STREAM, &[("data", good.as_bytes())]).await;

    let (got, skipped, _) = take_envelopes(
        follow_envelopes(url.clone(), STREAM, follow_options("0")),
        1,
    )
    .await;
    assert_eq!(ids_of(&got), ["c-1"]);
    let reasons: Vec<&str> = skipped.iter().map(|s| s.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "no_data",
            "invalid_utf8",
            "extra_fields",
            "invalid",
            "extra_fields"
        ]
    );
    assert_eq!(skipped[3].errors[0].path, "arena");
    assert!(
        skipped[4].errors[0].message.contains('\u{fffd}'),
        "{:?}",
        skipped[4]
    );
    assert_eq!(
        skipped[1].data.as_deref(),
        Some(&b"{\"schema_version\":\"1\",\xff\xfe}"[..]),
        "raw bytes kept"
    );

    let mut consumer = GroupConsumer::new(url, STREAM, group_options("faults"));
    let mut ok = |_entry: StreamEnvelope| async { Ok::<(), String>(()) };
    consumer.poll(&mut ok).await.unwrap();
    let stats = consumer.stats();
    assert_eq!(stats.handled, 1);
    assert_eq!(stats.dead_lettered.values().sum::<u64>(), 5);
    assert_eq!(stats.dead_lettered[&SkipReason::ExtraFields], 2);
    assert_eq!(
        server.cli(&["XLEN", &format!("{{{STREAM}}}:dead")]).trim(),
        "5"
    );
    assert_eq!(pending_count(&server), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endless_run_of_bad_entries_never_stops_a_follower_or_a_group() {
    let server = RedisServer::start();
    let url = RedisUrl::parse(&server.url()).unwrap();
    let mut conn = url.connect().await.unwrap();
    let mut pipe = crowd_envelope::redis::redis::pipe();
    for n in 0..2000 {
        pipe.cmd("XADD")
            .arg(STREAM)
            .arg("*")
            .arg("data")
            .arg(format!("{{bad {n}"))
            .ignore();
    }
    let () = pipe.query_async(&mut conn).await.unwrap();
    publish_n(&url, STREAM, 0..1).await;

    let (got, skipped, errors) = take_envelopes(
        follow_envelopes(url.clone(), STREAM, follow_options("0")),
        1,
    )
    .await;
    assert_eq!(ids_of(&got), ["c-0"]);
    assert_eq!(skipped.len(), 2000);
    assert_eq!(errors, 0);

    let mut options = group_options("survivors");
    options.count = 500;
    let mut consumer = GroupConsumer::new(url, STREAM, options);
    let mut ok = |_entry: StreamEnvelope| async { Ok::<(), String>(()) };
    tokio::time::timeout(Duration::from_secs(30), async {
        while consumer.stats().handled == 0 {
            consumer.poll(&mut ok).await.unwrap();
        }
    })
    .await
    .expect("the valid entry behind 2,000 invalid ones is handled within 30 s");
    assert_eq!(
        consumer.stats().dead_lettered[&SkipReason::Decode(DecodeReason::InvalidJson)],
        2000
    );
    assert_eq!(pending_count(&server), 0);
}

/// Runs with the TLS backend the features pick: rustls under
/// `--all-features`; `make test-rust` runs it once more with each backend
/// alone (`--features redis-tls`, `--features redis-rustls`).
#[cfg(any(feature = "redis-tls", feature = "redis-rustls"))]
#[tokio::test(flavor = "multi_thread")]
async fn rediss_checks_the_certificate_and_the_password() {
    let server = RedisServer::start_tls("s3cret-pw");
    let at = |password: &str| format!("rediss://:{password}@127.0.0.1:{}", server.port);
    let url = RedisUrl::parse(&at("s3cret-pw")).unwrap();
    assert!(!url.redacted().contains("s3cret-pw"), "{url}");

    // The system's roots do not know the test's CA: no connection.
    let untrusted = url.connect().await.map(drop).expect_err("an unknown CA");
    let said = untrusted.to_string().to_lowercase();
    // OpenSSL: "certificate verify failed"; rustls: "invalid peer certificate".
    assert!(said.contains("certificate"), "{said}");
    assert!(!untrusted.to_string().contains("s3cret-pw"), "{untrusted}");

    let url = url.with_root_certificate(server.ca_pem()).unwrap();
    let ids = publish_n(&url, STREAM, 0..3).await;
    let mut conn = url.connect().await.unwrap();
    let items = read_envelopes(&mut conn, STREAM, 10).await.unwrap();
    let got: Vec<String> = items.iter().map(|i| i.id().to_owned()).collect();
    assert_eq!(got, ids.into_iter().rev().collect::<Vec<_>>());

    let wrong = RedisUrl::parse(&at("not-it"))
        .unwrap()
        .with_root_certificate(server.ca_pem())
        .unwrap();
    let refused = match wrong.connect().await {
        Ok(mut conn) => read_envelopes(&mut conn, STREAM, 1).await.map(|_| ()),
        Err(error) => Err(error),
    };
    let message = refused
        .expect_err("a wrong password is refused")
        .to_string();
    assert!(!message.contains("not-it"), "{message}");
}

// ---------------------------------------------------------------------------
// Faults under a follower: trimming, a stream made anew, huge entries
// ---------------------------------------------------------------------------

/// The next item of a follower, within 10 s.
async fn next_item<T>(follow: &mut (impl Stream<Item = Result<T, TransportError>> + Unpin)) -> T {
    tokio::time::timeout(Duration::from_secs(10), follow.next())
        .await
        .expect("an item in time")
        .expect("the follower goes on")
        .expect("no transport error")
}

#[tokio::test(flavor = "multi_thread")]
async fn entries_trimmed_under_a_paused_follower_are_reported_with_their_number() {
    let server = RedisServer::start();
    let url = RedisUrl::parse(&server.url()).unwrap();
    publish_n(&url, STREAM, 0..10).await;
    let mut options = follow_options("0");
    options.count = 1; // one entry read ahead while paused
    let follow = follow_envelopes(url.clone(), STREAM, options);
    futures_util::pin_mut!(follow);
    let first = next_item(&mut follow).await;
    assert_eq!(
        first.into_envelope().unwrap().envelope.correlation_id,
        "c-0"
    );
    // The follower sent its next read as it delivered c-0; once Redis has
    // run it (follow.lua's second XRANGE), c-1 is read, before the pause.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !server
        .cli(&["INFO", "commandstats"])
        .contains("cmdstat_xrange:calls=2,")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the read ahead ran: {}",
            server.cli(&["INFO", "commandstats"])
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Paused: 50 more arrive, the stream is trimmed to exactly 5.
    let payload = envelope(99).to_json();
    for _ in 0..50 {
        server.cli(&["XADD", STREAM, "MAXLEN", "5", "*", "data", &payload]);
    }
    let left: Vec<String> = server
        .cli(&["XRANGE", STREAM, "-", "+"])
        .lines()
        .filter(|l| l.contains('-') && !l.contains('{'))
        .map(str::to_owned)
        .collect();
    assert_eq!(left.len(), 5, "{left:?}");

    let ahead = next_item(&mut follow).await;
    assert_eq!(
        ahead.into_envelope().unwrap().envelope.correlation_id,
        "c-1",
        "what was read before the pause comes first"
    );
    let StreamItem::Skipped(gap) = next_item(&mut follow).await else {
        panic!("then the gap");
    };
    assert_eq!(gap.reason, SkipReason::Trimmed);
    // 8 published after c-1 before the pause and 50 during it, less the 5 left.
    assert!(
        gap.errors[0].message.starts_with("53 entries after "),
        "{:?}",
        gap.errors
    );
    assert!(gap.id.ends_with(&format!("..{}", left[0])), "{}", gap.id);
    for id in &left {
        let item = next_item(&mut follow).await;
        assert_eq!(item.id(), id);
        assert!(matches!(item, StreamItem::Envelope(_)));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_raw_follower_gives_the_gap_in_numbers() {
    let server = RedisServer::start();
    let url = RedisUrl::parse(&server.url()).unwrap();
    let ids = publish_n(&url, STREAM, 0..3).await;
    let mut options = follow_options(&ids[2]); // caught up: its count is known
    options.count = 1;
    let follow = follow_entries(url.clone(), STREAM, options);
    futures_util::pin_mut!(follow);
    let payload = envelope(9).to_json();
    // A first entry teaches the follower where it stands.
    server.cli(&["XADD", STREAM, "*", "data", &payload]);
    let Followed::Entry(seen) = next_item(&mut follow).await else {
        panic!("an entry first");
    };
    for _ in 0..7 {
        server.cli(&["XADD", STREAM, "MAXLEN", "2", "*", "data", &payload]);
    }
    let Followed::Gap(gap) = next_item(&mut follow).await else {
        panic!("then the gap");
    };
    assert_eq!(gap.reason, GapReason::Trimmed);
    assert_eq!(gap.after, seen.id);
    assert_eq!(gap.missed, Some(5));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_made_anew_with_lower_ids_is_reported_and_read_from_its_start() {
    let server = RedisServer::start();
    let url = RedisUrl::parse(&server.url()).unwrap();
    let payload = envelope(1).to_json();
    server.cli(&["XADD", STREAM, "5000-0", "data", &payload]);
    let follow = follow_envelopes(url.clone(), STREAM, follow_options("0"));
    futures_util::pin_mut!(follow);
    assert_eq!(next_item(&mut follow).await.id(), "5000-0");

    server.cli(&["DEL", STREAM]);
    for n in 1..=3 {
        server.cli(&["XADD", STREAM, &format!("{n}-0"), "data", &payload]);
    }
    let StreamItem::Skipped(reset) = next_item(&mut follow).await else {
        panic!("the reset is reported");
    };
    assert_eq!(reset.reason, SkipReason::Reset);
    assert_eq!(reset.reason.as_str(), "stream_reset");
    assert_eq!(reset.id, "5000-0..3-0");
    for n in 1..=3 {
        assert_eq!(next_item(&mut follow).await.id(), format!("{n}-0"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_follower_leaves_a_payload_over_its_limit_in_redis() {
    let server = RedisServer::start();
    let url = RedisUrl::parse(&server.url()).unwrap();
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(3 << 20));
    xadd_raw(&url, STREAM, &[("data", big.as_bytes())]).await;
    publish_n(&url, STREAM, 0..1).await;
    let mut options = follow_options("0");
    options.max_payload_bytes = 1 << 20;
    let raw = follow_entries(url.clone(), STREAM, options.clone());
    futures_util::pin_mut!(raw);
    let Followed::Entry(entry) = next_item(&mut raw).await else {
        panic!("the big entry, as its size");
    };
    assert_eq!(entry.data, None);
    assert_eq!(entry.oversized, Some(big.len()));
    assert_eq!(entry.fields, ["data"]);

    let follow = follow_envelopes(url, STREAM, options);
    futures_util::pin_mut!(follow);
    let StreamItem::Skipped(skipped) = next_item(&mut follow).await else {
        panic!("skipped as too large");
    };
    assert_eq!(skipped.reason, SkipReason::Decode(DecodeReason::TooLarge));
    assert!(
        skipped.errors[0].message.contains(&big.len().to_string()),
        "{:?}",
        skipped.errors
    );
    assert!(matches!(
        next_item(&mut follow).await,
        StreamItem::Envelope(_)
    ));
}

// ---------------------------------------------------------------------------
// Consumer groups under races and restarts
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_entry_is_retried_with_doubling_delays_across_a_restart() {
    let server = RedisServer::start();
    let url = RedisUrl::parse(&server.url()).unwrap();
    publish_n(&url, STREAM, 0..1).await;
    let mut options = group_options("same");
    options.retry_delay = Duration::from_millis(150);
    options.claim_idle = Duration::from_secs(60);
    options.max_deliveries = 4;
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let failing = || {
        let attempts = Arc::clone(&attempts);
        move |_entry: StreamEnvelope| {
            attempts.lock().unwrap().push(std::time::Instant::now());
            async { Err::<(), _>("downstream is down") }
        }
    };
    let mut first = GroupConsumer::new(url.clone(), STREAM, options.clone());
    first.poll(&mut failing()).await.unwrap();
    drop(first); // the process restarts
    let mut again = GroupConsumer::new(url, STREAM, options.clone());
    let mut handler = failing();
    while again.stats().dead_lettered.is_empty() {
        tokio::time::timeout(Duration::from_secs(10), again.poll(&mut handler))
            .await
            .expect("a poll ends within its block time")
            .unwrap();
    }
    let attempts = attempts.lock().unwrap().clone();
    assert_eq!(attempts.len(), 4, "then dead-lettered");
    let gaps: Vec<Duration> = attempts.windows(2).map(|w| w[1] - w[0]).collect();
    for (n, gap) in gaps.iter().enumerate() {
        // Redis measures idle time in whole milliseconds.
        let least = options.retry_delay * (1 << n) - Duration::from_millis(2);
        assert!(
            *gap >= least,
            "attempt {} came after {gap:?}: {gaps:?}",
            n + 2
        );
    }
    let dead = server.cli(&["XRANGE", &format!("{{{STREAM}}}:dead"), "-", "+"]);
    assert!(dead.contains("handler_failed"), "{dead}");
    assert!(dead.contains("attempts\n4"), "{dead}");
    assert_eq!(pending_count(&server), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_start_id_ends_run_with_the_error() {
    let server = RedisServer::start();
    let url = RedisUrl::parse(&server.url()).unwrap();
    let mut options = group_options("c");
    options.start_id = "bogus".to_owned();
    let mut consumer = GroupConsumer::new(url, STREAM, options);
    let ok = |_entry: StreamEnvelope| async { Ok::<(), String>(()) };
    let ran = tokio::time::timeout(
        Duration::from_secs(5),
        consumer.run(ok, std::future::pending()),
    )
    .await
    .expect("not retried forever");
    assert!(matches!(ran, Err(TransportError::InvalidId(id)) if id == "bogus"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_consumer_keeps_a_slow_batch_from_being_claimed_and_settles_only_its_own() {
    let server = RedisServer::start();
    let url = RedisUrl::parse(&server.url()).unwrap();
    publish_n(&url, STREAM, 0..10).await;
    let mut options = group_options("slow");
    options.claim_idle = Duration::from_millis(200);
    // The slow one takes the whole batch and spends ~1 s on it.
    let mut slow = GroupConsumer::new(url.clone(), STREAM, options.clone());
    let handled = Arc::new(Mutex::new(Vec::new()));
    let slow_task = {
        let handled = Arc::clone(&handled);
        tokio::spawn(async move {
            let mut handler = |entry: StreamEnvelope| {
                let handled = Arc::clone(&handled);
                async move {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    handled.lock().unwrap().push(entry.id);
                    Ok::<(), String>(())
                }
            };
            slow.poll(&mut handler).await.unwrap();
            slow.stats().clone()
        })
    };
    // The slow one has fetched the whole batch (else the other could read
    // it first); a second consumer keeps trying to claim idle entries.
    tokio::time::timeout(Duration::from_secs(10), async {
        while pending_count(&server) < 10 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the slow consumer fetched its batch");
    let mut quick = GroupConsumer::new(url, STREAM, group_options("quick"));
    let stolen = Arc::new(AtomicUsize::new(0));
    let mut handler = |_entry: StreamEnvelope| {
        stolen.fetch_add(1, Ordering::SeqCst);
        async { Ok::<(), String>(()) }
    };
    tokio::time::timeout(Duration::from_secs(30), async {
        while !slow_task.is_finished() {
            quick.poll(&mut handler).await.unwrap();
        }
    })
    .await
    .expect("the slow consumer finishes within 30 s");
    let stats = slow_task.await.unwrap();
    assert_eq!(stats.handled, 10);
    assert_eq!(
        stolen.load(Ordering::SeqCst),
        0,
        "nothing was claimed from the slow batch"
    );
    assert_eq!(pending_count(&server), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_that_is_not_a_stream_ends_run_with_a_permanent_error() {
    let server = RedisServer::start();
    server.cli(&["SET", STREAM, "not a stream"]);
    let url = RedisUrl::parse(&server.url()).unwrap();
    let mut consumer = GroupConsumer::new(url, STREAM, group_options("c"));
    let ok = |_entry: StreamEnvelope| async { Ok::<(), String>(()) };
    let ran = tokio::time::timeout(
        Duration::from_secs(5),
        consumer.run(ok, std::future::pending()),
    )
    .await
    .expect("not retried forever");
    let error = ran.unwrap_err();
    assert!(!error.is_retryable(), "{error}");
    assert!(error.to_string().contains("WRONGTYPE"), "{error}");
    assert!(
        std::error::Error::source(&error).is_some(),
        "the redis-rs error is kept"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_connection_is_a_retryable_error() {
    let mut server = RedisServer::start();
    let url = RedisUrl::parse(&server.url()).unwrap();
    let mut conn = url.connect().await.unwrap();
    server.kill();
    let error = read_envelopes(&mut conn, STREAM, 1).await.unwrap_err();
    assert!(error.is_retryable(), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn run_is_spawnable_and_run_async_takes_a_capturing_async_closure() {
    let server = RedisServer::start();
    let url = RedisUrl::parse(&server.url()).unwrap();
    publish_n(&url, STREAM, 0..6).await;

    // `run` with a closure returning a future: its consumer can be spawned.
    let mut options = group_options("spawned");
    options.limit = Some(3);
    let mut spawned = GroupConsumer::new(url.clone(), STREAM, options);
    let handled = tokio::spawn(async move {
        spawned
            .run(
                |_entry: StreamEnvelope| async { Ok::<(), String>(()) },
                std::future::pending(),
            )
            .await
            .map(|()| spawned.stats().handled)
    });
    assert_eq!(handled.await.unwrap().unwrap(), 3);

    // `run_async`: the closure changes what it captures, in place, and
    // fails each entry's first attempt; every entry is retried once.
    let mut attempts: HashMap<String, u32> = HashMap::new();
    let mut order = Vec::new();
    let mut options = group_options("in-place");
    options.limit = Some(3);
    let mut consumer = GroupConsumer::new(url, STREAM, options);
    consumer
        .run_async(
            async |entry: StreamEnvelope| {
                let n = attempts.entry(entry.id.clone()).or_default();
                *n += 1;
                if *n == 1 {
                    return Err(format!("first try of {}", entry.id));
                }
                tokio::task::yield_now().await;
                order.push(entry.envelope.correlation_id);
                Ok(())
            },
            std::future::pending(),
        )
        .await
        .unwrap();
    assert_eq!(consumer.stats().handled, 3);
    assert_eq!(consumer.stats().failed, 3);
    assert!(attempts.values().all(|&n| n == 2), "{attempts:?}");
    assert_eq!(order, ["c-3", "c-4", "c-5"]);
}
