//! `settle.lua` itself, called with the arguments a consumer sends, on a
//! real `redis-server`: the cases a consumer rarely makes (an id given
//! twice, an entry gone from the pending list, a dead letter copied in
//! Redis, a pending list longer than the script lists at once) and the
//! exact dead letters it writes. The consumer's side is tests/group_batches.rs.

mod common;

use common::redis_server::RedisServer;
use redis_rs::AsyncCommands;

const SETTLE: &str = include_str!("../src/redis/group/settle.lua");
const STREAM: &str = "s";
const DEAD: &str = "s:dead";
const ATTEMPTS: &str = "s:attempts:g";

/// One run after the acknowledgements: id, action, copy, field/values.
type Run<'a> = (&'a str, &'a str, &'a str, &'a [&'a str]);

struct Stream {
    _server: RedisServer,
    conn: redis_rs::aio::MultiplexedConnection,
    /// Every entry's id, oldest first: each has `data` and `other` fields.
    ids: Vec<String>,
}

/// `n` entries (`data` = `{"n":i}`, then `other` = `o<i>`), all read by
/// consumer `me` of group `g`.
async fn stream(n: usize) -> Stream {
    let server = RedisServer::start();
    let mut conn = server.connection().await;
    let mut ids = Vec::new();
    for i in 0..n {
        let id: String = conn
            .xadd(
                STREAM,
                "*",
                &[
                    ("data", format!("{{\"n\":{i}}}")),
                    ("other", format!("o{i}")),
                ],
            )
            .await
            .unwrap();
        ids.push(id);
    }
    let _: () = conn.xgroup_create(STREAM, "g", "0").await.unwrap();
    let _: redis_rs::Value = redis_rs::cmd("XREADGROUP")
        .arg(&["GROUP", "g", "me", "COUNT"])
        .arg(n)
        .arg(&["STREAMS", STREAM, ">"])
        .query_async(&mut conn)
        .await
        .unwrap();
    Stream {
        _server: server,
        conn,
        ids,
    }
}

impl Stream {
    async fn settle(&mut self, acks: &[&str], runs: &[Run<'_>]) -> (Vec<String>, Vec<i64>) {
        let mut call = redis_rs::cmd("EVAL");
        call.arg(SETTLE)
            .arg(3)
            .arg(&[STREAM, DEAD, ATTEMPTS])
            .arg(&["g", "me"])
            .arg(acks.len())
            .arg(acks);
        for (id, action, copy, fields) in runs {
            call.arg(&[*id, *action, *copy])
                .arg(fields.len())
                .arg(*fields);
        }
        call.query_async(&mut self.conn).await.unwrap()
    }

    /// Each dead letter's field/value pairs, in their order.
    async fn dead_letters(&mut self) -> Vec<Vec<String>> {
        let reply: Vec<(String, Vec<String>)> = redis_rs::cmd("XRANGE")
            .arg(&[DEAD, "-", "+"])
            .query_async(&mut self.conn)
            .await
            .unwrap();
        reply.into_iter().map(|(_, pairs)| pairs).collect()
    }

    /// Who has `id` pending, or `None`.
    async fn owner(&mut self, id: &str) -> Option<String> {
        let reply: Vec<(String, String, u64, u64)> = redis_rs::cmd("XPENDING")
            .arg(&[STREAM, "g", id, id, "1"])
            .query_async(&mut self.conn)
            .await
            .unwrap();
        reply.into_iter().next().map(|(_, owner, _, _)| owner)
    }

    /// Gives `id` to consumer `other`.
    async fn claim_away(&mut self, id: &str) {
        let _: redis_rs::Value = redis_rs::cmd("XCLAIM")
            .arg(&[STREAM, "g", "other", "0", id])
            .query_async(&mut self.conn)
            .await
            .unwrap();
    }
}

/// A dead letter's pairs: the given ones, then `deliveries` and `attempts`.
fn letter(given: &[&str], attempts: &str) -> Vec<String> {
    let mut pairs: Vec<String> = given.iter().map(|s| (*s).to_owned()).collect();
    pairs.extend(["deliveries", "1", "attempts", attempts].map(str::to_owned));
    pairs
}

#[tokio::test]
async fn a_copied_dead_letter_carries_the_entrys_data_and_nothing_else_of_it() {
    let mut s = stream(2).await;
    let (first, second) = (s.ids[0].clone(), s.ids[1].clone());
    // The first is copied, the second not: each letter has its own fields
    // alone, none of the next run's.
    let reply = s
        .settle(
            &[],
            &[
                (&first, "bury", "copy", &["reason", "oversized"]),
                (&second, "bury", "", &["reason", "invalid"]),
            ],
        )
        .await;
    assert_eq!(reply, (vec![], vec![1, 1]));
    assert_eq!(
        s.dead_letters().await,
        vec![
            letter(&["data", "{\"n\":0}", "reason", "oversized"], "0"),
            letter(&["reason", "invalid"], "0"),
        ]
    );
    assert_eq!(s.owner(&first).await, None, "acknowledged with its letter");
    assert_eq!(s.owner(&second).await, None);
}

#[tokio::test]
async fn copy_after_acknowledgements_reads_its_own_run() {
    let mut s = stream(3).await;
    let ids = s.ids.clone();
    let reply = s
        .settle(
            &[&ids[0]],
            &[
                (&ids[1], "fail", "", &[]),
                (&ids[2], "bury", "copy", &["reason", "oversized"]),
            ],
        )
        .await;
    assert_eq!(reply, (vec![], vec![1, 1]));
    assert_eq!(
        s.dead_letters().await,
        vec![letter(&["data", "{\"n\":2}", "reason", "oversized"], "0")]
    );
    assert_eq!(
        s.owner(&ids[1]).await.as_deref(),
        Some("me"),
        "failed: kept"
    );
}

#[tokio::test]
async fn a_copy_of_an_entry_trimmed_away_is_a_letter_without_data() {
    let mut s = stream(2).await;
    let first = s.ids[0].clone();
    let _: i64 = redis_rs::AsyncCommands::xdel(&mut s.conn, STREAM, &[&first])
        .await
        .unwrap();
    let reply = s
        .settle(&[], &[(&first, "bury", "copy", &["reason", "oversized"])])
        .await;
    assert_eq!(reply, (vec![], vec![1]));
    assert_eq!(
        s.dead_letters().await,
        vec![letter(&["reason", "oversized"], "0")]
    );
}

#[tokio::test]
async fn the_attempts_so_far_go_into_the_letter_and_are_cleared() {
    let mut s = stream(1).await;
    let id = s.ids[0].clone();
    assert_eq!(s.settle(&[], &[(&id, "fail", "", &[])]).await.1, vec![1]);
    assert_eq!(s.settle(&[], &[(&id, "fail", "", &[])]).await.1, vec![2]);
    s.settle(&[], &[(&id, "bury", "", &["reason", "handler"])])
        .await;
    assert_eq!(
        s.dead_letters().await,
        vec![letter(&["reason", "handler"], "2")]
    );
    let left: Option<String> = s.conn.hget(ATTEMPTS, &id).await.unwrap();
    assert_eq!(left, None);
}

/// The same cases with a pending list longer than the script lists at
/// once (twice its arguments), so each id is looked up by itself.
async fn long_pending_list() -> Stream {
    stream(60).await
}

#[tokio::test]
async fn an_id_given_twice_is_settled_once() {
    for mut s in [stream(2).await, long_pending_list().await] {
        let id = s.ids[0].clone();
        let reply = s
            .settle(
                &[],
                &[
                    (&id, "bury", "", &["reason", "invalid"]),
                    (&id, "bury", "", &["reason", "invalid"]),
                ],
            )
            .await;
        assert_eq!(reply, (vec![], vec![1, -1]));
        assert_eq!(s.dead_letters().await.len(), 1);
    }
}

#[tokio::test]
async fn entries_no_longer_this_consumers_are_reported_and_left_alone() {
    for mut s in [stream(4).await, long_pending_list().await] {
        let ids = s.ids.clone();
        s.claim_away(&ids[0]).await;
        s.claim_away(&ids[1]).await;
        let _: i64 = redis_rs::AsyncCommands::xack(&mut s.conn, STREAM, "g", &[&ids[2]])
            .await
            .unwrap();
        let reply = s
            .settle(
                &[&ids[0], &ids[2], &ids[3]],
                &[(&ids[1], "bury", "", &["reason", "invalid"])],
            )
            .await;
        assert_eq!(reply, (vec![ids[0].clone(), ids[2].clone()], vec![-1]));
        assert_eq!(s.owner(&ids[0]).await.as_deref(), Some("other"));
        assert_eq!(s.owner(&ids[1]).await.as_deref(), Some("other"));
        assert_eq!(s.owner(&ids[3]).await, None, "this one's acknowledged");
        assert!(s.dead_letters().await.is_empty());
        let fail = s.settle(&[], &[(&ids[1], "fail", "", &[])]).await;
        assert_eq!(fail, (vec![], vec![-1]));
        let counted: Option<String> = s.conn.hget(ATTEMPTS, &ids[1]).await.unwrap();
        assert_eq!(counted, None);
    }
}
