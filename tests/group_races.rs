//! "Settled only while still pending with this consumer" (SECURITY.md),
//! raced by hand against a real `redis-server`: the test claims an entry to
//! a second consumer with `XCLAIM` while the first consumer's handler is
//! blocked on a signal the test controls, then lets the handler finish, and
//! checks that the first consumer's settle (`settle.lua`) and take
//! (`take.lua`) changed nothing of the entry: no acknowledgement, no
//! attempt counted, no dead letter, no second handling.

mod common;
#[path = "common/envelopes.rs"]
mod envelopes;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::redis_server::RedisServer;
use crowd_envelope::redis::*;
use envelopes::{publish_n, STREAM};
use tokio::sync::{mpsc, Notify};

const GROUP: &str = "bots";

fn options(max_deliveries: u64) -> GroupOptions {
    let mut options = GroupOptions::new(GROUP, "first");
    options.start_id = "0".to_owned();
    options.block = Duration::from_millis(100);
    // Long: nothing is claimed but by the test, and no lease is renewed.
    options.claim_idle = Duration::from_secs(600);
    options.retry_delay = Duration::from_millis(50);
    options.max_deliveries = max_deliveries;
    options.count = 1;
    options
}

/// `(consumer, deliveries)` of the entry `id` in the group's pending list.
fn pending(server: &RedisServer, id: &str) -> Option<(String, String)> {
    let out = server.cli(&["XPENDING", STREAM, GROUP, id, id, "1"]);
    let fields: Vec<&str> = out.lines().collect();
    match fields.as_slice() {
        [_, consumer, _, deliveries] => Some(((*consumer).to_owned(), (*deliveries).to_owned())),
        _ => None,
    }
}

/// How many dead letters the stream has.
fn dead_letters(server: &RedisServer) -> String {
    let dead = format!("{{{STREAM}}}:dead");
    server.cli(&["XLEN", &dead]).trim().to_owned()
}

/// The handler failures counted for entry `id` ("" for none).
fn attempts(server: &RedisServer, id: &str) -> String {
    let counts = format!("{{{STREAM}}}:attempts:{GROUP}");
    server.cli(&["HGET", &counts, id]).trim().to_owned()
}

/// A handler that tells the test each entry it starts on, then waits for
/// the test's go-ahead, and answers with `outcome`.
struct Gate {
    started: mpsc::UnboundedSender<String>,
    go: Arc<Notify>,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Gate {
    fn new() -> (Gate, mpsc::UnboundedReceiver<String>) {
        let (started, receiver) = mpsc::unbounded_channel();
        let gate = Gate {
            started,
            go: Arc::new(Notify::new()),
            seen: Arc::new(Mutex::new(Vec::new())),
        };
        (gate, receiver)
    }

    fn handler(
        &self,
        outcome: Result<(), &'static str>,
    ) -> impl FnMut(
        StreamEnvelope,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<(), String>> + Send>,
    > {
        let (started, go, seen) = (
            self.started.clone(),
            Arc::clone(&self.go),
            Arc::clone(&self.seen),
        );
        move |entry: StreamEnvelope| {
            let (started, go, seen) = (started.clone(), Arc::clone(&go), Arc::clone(&seen));
            Box::pin(async move {
                seen.lock().unwrap().push(entry.id.clone());
                let _ = started.send(entry.id);
                go.notified().await;
                outcome.map_err(str::to_owned)
            })
        }
    }
}

/// A redis-server with `n` entries on the stream, their ids, and a gate.
async fn started_with(
    n: usize,
) -> (
    RedisServer,
    RedisUrl,
    Vec<String>,
    Gate,
    mpsc::UnboundedReceiver<String>,
) {
    let server = RedisServer::start();
    let url = RedisUrl::parse(&server.url()).unwrap();
    let ids = publish_n(&url, STREAM, 0..n).await;
    let (gate, started) = Gate::new();
    (server, url, ids, gate, started)
}

/// Starts one poll of `consumer` with `gate`'s handler; once the handler
/// holds the entry, claims it to `second` and lets the handler finish.
/// Gives the consumer back, and the entry's id.
async fn claimed_mid_handler(
    server: &RedisServer,
    mut consumer: GroupConsumer,
    gate: &Gate,
    started: &mut mpsc::UnboundedReceiver<String>,
    outcome: Result<(), &'static str>,
) -> (GroupConsumer, String) {
    let mut handler = gate.handler(outcome);
    let poll = tokio::spawn(async move {
        consumer.poll(&mut handler).await.unwrap();
        consumer
    });
    let id = tokio::time::timeout(Duration::from_secs(20), started.recv())
        .await
        .expect("the handler starts within 20 s")
        .unwrap();
    assert_eq!(pending(server, &id).unwrap().0, "first");
    server.cli(&["XCLAIM", STREAM, GROUP, "second", "0", &id]);
    gate.go.notify_one();
    let consumer = tokio::time::timeout(Duration::from_secs(20), poll)
        .await
        .expect("the poll ends within 20 s once the handler is let go")
        .unwrap();
    (consumer, id)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_handler_that_succeeds_after_its_entry_was_claimed_away_acknowledges_nothing() {
    let (server, url, _, gate, mut started) = started_with(1).await;
    let consumer = GroupConsumer::new(url, STREAM, options(5));
    let (consumer, id) = claimed_mid_handler(&server, consumer, &gate, &mut started, Ok(())).await;
    // Still pending, with the consumer that claimed it, delivered twice.
    assert_eq!(pending(&server, &id), Some(("second".into(), "2".into())));
    assert_eq!(consumer.stats().handled, 1, "handled here (at-least-once)");
    assert_eq!(dead_letters(&server), "0");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_handler_that_fails_after_its_entry_was_claimed_away_counts_no_attempt() {
    let (server, url, _, gate, mut started) = started_with(1).await;
    // One attempt allowed: a failure counted here would dead-letter it.
    let consumer = GroupConsumer::new(url, STREAM, options(1));
    let (consumer, id) =
        claimed_mid_handler(&server, consumer, &gate, &mut started, Err("down")).await;
    assert_eq!(pending(&server, &id), Some(("second".into(), "2".into())));
    assert_eq!(attempts(&server, &id), "");
    assert_eq!(dead_letters(&server), "0");
    assert!(consumer.stats().dead_lettered.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_leaves_an_entry_another_consumer_claimed_to_it() {
    let (server, url, _, gate, mut started) = started_with(1).await;
    let mut consumer = GroupConsumer::new(url, STREAM, options(2));
    // The first attempt fails: pending with "first", one attempt counted.
    let mut fail = gate.handler(Err("down"));
    gate.go.notify_one(); // a permit: this handler does not wait
    consumer.poll(&mut fail).await.unwrap();
    let id = started.recv().await.unwrap();
    assert_eq!(pending(&server, &id).unwrap().0, "first");
    assert_eq!(attempts(&server, &id), "1");
    // Claimed away before the retry is due; the retry must leave it.
    server.cli(&["XCLAIM", STREAM, GROUP, "second", "0", &id]);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut ok = gate.handler(Ok(()));
    for _ in 0..3 {
        gate.go.notify_one();
        consumer.poll(&mut ok).await.unwrap();
    }
    assert_eq!(
        *gate.seen.lock().unwrap(),
        vec![id.clone()],
        "handled once, by the first attempt"
    );
    assert_eq!(pending(&server, &id), Some(("second".into(), "2".into())));
    assert_eq!(attempts(&server, &id), "1");
    assert_eq!(dead_letters(&server), "0");
    assert_eq!(consumer.stats().handled, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn renewing_a_slow_batch_leaves_the_entries_another_consumer_claimed() {
    let (server, url, ids, gate, mut started) = started_with(2).await;
    let mut options = options(5);
    options.count = 2;
    // The batch is renewed once its handling takes a second.
    options.claim_idle = Duration::from_secs(2);
    let mut consumer = GroupConsumer::new(url, STREAM, options);
    let mut handler = gate.handler(Ok(()));
    let go = Arc::clone(&gate.go);
    let poll = tokio::spawn(async move {
        consumer.poll(&mut handler).await.unwrap();
        consumer
    });
    let first = started.recv().await.unwrap();
    assert_eq!(first, ids[0]);
    // While the first entry is handled, the second is claimed away; the
    // handler then runs past the renewal time.
    server.cli(&["XCLAIM", STREAM, GROUP, "second", "0", &ids[1]]);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    go.notify_one();
    go.notify_one();
    let consumer = tokio::time::timeout(Duration::from_secs(20), poll)
        .await
        .expect("the poll ends within 20 s")
        .unwrap();
    assert_eq!(
        *gate.seen.lock().unwrap(),
        vec![ids[0].clone()],
        "the second entry is left to its claimer"
    );
    assert_eq!(consumer.stats().handled, 1);
    assert_eq!(pending(&server, &ids[0]), None, "the first acknowledged");
    assert_eq!(
        pending(&server, &ids[1]),
        Some(("second".into(), "2".into()))
    );
}
