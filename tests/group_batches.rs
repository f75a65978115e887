//! A group consumer works in batches (settle.lua settles one in a call; the
//! next batch is read while one is handled; `GroupOptions::concurrency`
//! handlers at once), against a real `redis-server`. Each test checks what
//! Redis holds afterwards, not only what the consumer says.

mod common;
#[path = "common/envelopes.rs"]
mod envelopes;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::redis_server::RedisServer;
use crowd_envelope::redis::*;
use envelopes::{publish_n, STREAM};

const GROUP: &str = "bots";

fn options(consumer: &str) -> GroupOptions {
    let mut options = GroupOptions::new(GROUP, consumer);
    options.start_id = "0".to_owned();
    options.block = Duration::from_millis(100);
    options.retry_delay = Duration::from_secs(600);
    options
}

/// How many entries the group has pending, all consumers together.
fn pending_count(server: &RedisServer) -> usize {
    let out = server.cli(&["XPENDING", STREAM, GROUP]);
    out.lines().next().unwrap_or("0").trim().parse().unwrap()
}

/// The group's `entries-read`: how many entries it has handed out.
fn entries_read(server: &RedisServer) -> String {
    let out = server.cli(&["XINFO", "GROUPS", STREAM]);
    let lines: Vec<&str> = out.lines().collect();
    let at = lines.iter().position(|l| *l == "entries-read").unwrap();
    lines[at + 1].to_owned()
}

async fn with_entries(n: usize) -> (RedisServer, RedisUrl, Vec<String>) {
    let server = RedisServer::start();
    let url = RedisUrl::parse(&server.url()).unwrap();
    let ids = publish_n(&url, STREAM, 0..n).await;
    (server, url, ids)
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrency_runs_that_many_handlers_at_once_and_no_more() {
    let (server, url, ids) = with_entries(10).await;
    let mut options = options("c");
    options.concurrency = 4;
    options.limit = Some(10);
    let mut consumer = GroupConsumer::new(url, STREAM, options);
    let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let started = Arc::new(Mutex::new(Vec::new()));
    let handler = |entry: StreamEnvelope| {
        let (running, most, started) = (running.clone(), most.clone(), started.clone());
        async move {
            started.lock().unwrap().push(entry.id);
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(100)).await;
            running.fetch_sub(1, Ordering::SeqCst);
            Ok::<(), String>(())
        }
    };
    tokio::time::timeout(
        Duration::from_secs(20),
        consumer.run(handler, std::future::pending()),
    )
    .await
    .expect("ten entries handled within 20 s")
    .unwrap();
    assert_eq!(most.load(Ordering::SeqCst), 4, "four at once, never five");
    assert_eq!(*started.lock().unwrap(), ids, "started in stream order");
    assert_eq!(consumer.stats().handled, 10);
    assert_eq!(pending_count(&server), 0, "all acknowledged");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_async_closure_handles_one_entry_at_a_time_whatever_the_concurrency() {
    let (server, url, ids) = with_entries(4).await;
    let mut options = options("c");
    options.concurrency = 8;
    options.limit = Some(4);
    let mut consumer = GroupConsumer::new(url, STREAM, options);
    let (mut seen, mut running, mut most) = (Vec::new(), 0, 0);
    consumer
        .run_async(
            async |entry| {
                running += 1;
                most = most.max(running);
                tokio::time::sleep(Duration::from_millis(20)).await;
                seen.push(entry.id);
                running -= 1;
                Ok::<(), String>(())
            },
            tokio::time::sleep(Duration::from_secs(20)),
        )
        .await
        .unwrap();
    assert_eq!(most, 1);
    assert_eq!(seen, ids);
    assert_eq!(pending_count(&server), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_settles_right_when_more_than_it_is_pending_with_the_consumer() {
    // Eight entries fail and wait (a retry in 10 minutes): the consumer's
    // pending list is longer than settle.lua lists at once for the next
    // batch (one entry), so it asks for that entry by itself.
    let (server, url, ids) = with_entries(8).await;
    let mut options = options("c");
    options.count = 1;
    let mut consumer = GroupConsumer::new(url.clone(), STREAM, options);
    let mut fail = |_: StreamEnvelope| async { Err::<(), _>("down") };
    for _ in 0..8 {
        consumer.poll(&mut fail).await.unwrap();
    }
    assert_eq!(pending_count(&server), 8);
    let newer = publish_n(&url, STREAM, 8..9).await;
    let mut ok = |_: StreamEnvelope| async { Ok::<(), String>(()) };
    consumer.poll(&mut ok).await.unwrap();
    assert_eq!(consumer.stats().handled, 1);
    assert_eq!(pending_count(&server), 8, "the new one acknowledged");
    let pending = server.cli(&["XPENDING", STREAM, GROUP, "-", "+", "10"]);
    assert!(!pending.contains(&newer[0]), "{pending}");
    for id in &ids {
        let counts = format!("{{{STREAM}}}:attempts:{GROUP}");
        assert_eq!(server.cli(&["HGET", &counts, id]).trim(), "1", "{id}");
    }
    assert_eq!(
        server.cli(&["XLEN", &format!("{{{STREAM}}}:dead")]).trim(),
        "0"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_settle_is_not_counted_for_an_entry_another_consumer_took_from_the_batch() {
    // Two entries in one batch: the handler of the first claims the second
    // away. Its acknowledgement, sent with the batch, must change nothing.
    let (server, url, ids) = with_entries(2).await;
    let mut options = options("first");
    options.count = 2;
    let mut consumer = GroupConsumer::new(url, STREAM, options);
    let second = ids[1].clone();
    let port = server.port;
    let mut handler = move |entry: StreamEnvelope| {
        let second = second.clone();
        async move {
            if entry.id != second {
                let claim = std::process::Command::new("redis-cli")
                    .args([
                        "-p",
                        &port.to_string(),
                        "XCLAIM",
                        STREAM,
                        GROUP,
                        "other",
                        "0",
                        &second,
                    ])
                    .output()
                    .unwrap();
                assert!(claim.status.success());
            }
            Ok::<(), String>(())
        }
    };
    consumer.poll(&mut handler).await.unwrap();
    assert_eq!(
        consumer.stats().handled,
        2,
        "both handled here (at-least-once)"
    );
    let pending = server.cli(&["XPENDING", STREAM, GROUP, "-", "+", "10"]);
    assert!(
        pending.contains(&ids[1]) && pending.contains("other"),
        "{pending}"
    );
    assert!(
        !pending.contains(&ids[0]),
        "the first acknowledged: {pending}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stopped_mid_batch_it_acknowledges_what_it_handled() {
    let (server, url, _) = with_entries(10).await;
    let mut options = options("c");
    options.count = 10;
    let mut consumer = GroupConsumer::new(url, STREAM, options);
    let handled = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(tokio::sync::Notify::new());
    let (counter, stopper) = (handled.clone(), stop.clone());
    let handler = move |_: StreamEnvelope| {
        let (counter, stopper) = (counter.clone(), stopper.clone());
        async move {
            if counter.fetch_add(1, Ordering::SeqCst) + 1 == 4 {
                stopper.notify_one();
                std::future::pending::<()>().await; // the stop comes first
            }
            Ok::<(), String>(())
        }
    };
    tokio::time::timeout(
        Duration::from_secs(20),
        consumer.run(handler, stop.notified()),
    )
    .await
    .expect("stopped within 20 s")
    .unwrap();
    assert_eq!(consumer.stats().handled, 3);
    // Three acknowledged; the fourth (cut off) and the six after it stay
    // pending with this consumer.
    assert_eq!(pending_count(&server), 7);
}

#[tokio::test(flavor = "multi_thread")]
async fn reading_ahead_fetches_no_more_than_the_limit() {
    let (server, url, _) = with_entries(300).await;
    let mut limited = options("c");
    limited.count = 100;
    limited.limit = Some(150);
    let mut consumer = GroupConsumer::new(url.clone(), STREAM, limited);
    let handler = |_: StreamEnvelope| async { Ok::<(), String>(()) };
    tokio::time::timeout(
        Duration::from_secs(20),
        consumer.run(handler, std::future::pending()),
    )
    .await
    .expect("done within 20 s")
    .unwrap();
    assert_eq!(consumer.stats().handled, 150);
    assert_eq!(pending_count(&server), 0);
    assert_eq!(
        entries_read(&server),
        "150",
        "nothing fetched past the limit"
    );

    // Without a limit, a consumer that read ahead handles the batch it
    // read ahead before anything newer, each entry once.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut consumer = GroupConsumer::new(url, STREAM, options("c"));
    let record = seen.clone();
    let mut handler = move |entry: StreamEnvelope| {
        let record = record.clone();
        async move {
            record.lock().unwrap().push(entry.id);
            Ok::<(), String>(())
        }
    };
    while seen.lock().unwrap().len() < 150 {
        tokio::time::timeout(Duration::from_secs(20), consumer.poll(&mut handler))
            .await
            .expect("a poll within 20 s")
            .unwrap();
    }
    let seen = seen.lock().unwrap().clone();
    let mut sorted = seen.clone();
    sorted.sort_by_key(|id| {
        let (ms, seq) = id.split_once('-').unwrap();
        (ms.parse::<u64>().unwrap(), seq.parse::<u64>().unwrap())
    });
    sorted.dedup();
    assert_eq!(seen, sorted, "in stream order, none twice");
    assert_eq!(seen.len(), 150);
    assert_eq!(pending_count(&server), 0);
}
