//! `claim.lua` itself on a real `redis-server`: entries idle long enough
//! with another consumer are claimed (with payloads over the limit left in
//! Redis), no more than asked for, even past XAUTOCLAIM's page; an entry
//! deleted from the stream while pending gets exactly one dead letter, with
//! its attempt count, and its count is removed. The consumer's side is
//! tests/redis.rs and tests/group_races.rs.

mod common;

use common::redis_server::RedisServer;
use redis_rs::{AsyncCommands, Value};

const CLAIM: &str = concat!(
    include_str!("../src/redis/bounded.lua"),
    include_str!("../src/redis/group/claim.lua")
);
const STREAM: &str = "{s}";
const DEAD: &str = "{s}:dead";
const ATTEMPTS: &str = "{s}:attempts:g";
const ERRORS: &str = r#"[{"path":"","code":"missing","message":"deleted"}]"#;

/// `{claimed: [{id, fields, size}], deleted: [id]}` as ids, sizes and deleted ids.
type Claimed = (Vec<(String, i64)>, Vec<String>);

async fn claim(
    conn: &mut redis_rs::aio::MultiplexedConnection,
    idle_ms: u64,
    count: usize,
    limit: usize,
) -> Claimed {
    let (claimed, deleted): (Vec<(String, Value, i64)>, Vec<String>) = redis_rs::Script::new(CLAIM)
        .key(STREAM)
        .key(DEAD)
        .key(ATTEMPTS)
        .arg("g")
        .arg("me")
        .arg(idle_ms)
        .arg(count)
        .arg(limit)
        .arg(ERRORS)
        .invoke_async(conn)
        .await
        .unwrap();
    (
        claimed
            .into_iter()
            .map(|(id, _, size)| (id, size))
            .collect(),
        deleted,
    )
}

#[tokio::test]
async fn idle_entries_are_claimed_and_a_deleted_one_is_dead_lettered_once() {
    let server = RedisServer::start();
    let mut conn = server.connection().await;
    let mut ids = Vec::new();
    for i in 0..30 {
        let data = if i == 1 {
            "x".repeat(500)
        } else {
            format!("{{\"n\":{i}}}")
        };
        let id: String = conn.xadd(STREAM, "*", &[("data", data)]).await.unwrap();
        ids.push(id);
    }
    let _: () = conn.xgroup_create(STREAM, "g", "0").await.unwrap();
    let _: Value = redis_rs::cmd("XREADGROUP")
        .arg(&[
            "GROUP", "g", "dead-one", "COUNT", "30", "STREAMS", STREAM, ">",
        ])
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: () = conn.hset(ATTEMPTS, &ids[0], 3).await.unwrap();
    let _: i64 = conn.xdel(STREAM, &[&ids[0]]).await.unwrap();

    // Not idle long enough: nothing claimed, but the deleted entry (which
    // XAUTOCLAIM drops from the group whatever its idle time) is
    // dead-lettered in the same step.
    assert_eq!(
        claim(&mut conn, 60_000, 5, 100).await,
        (vec![], vec![ids[0].clone()])
    );

    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    // Five asked for: five claimed, the oversized one by its size.
    let (claimed, deleted) = claim(&mut conn, 10, 5, 100).await;
    assert!(deleted.is_empty());
    let expected: Vec<(String, i64)> = ids[1..6]
        .iter()
        .map(|id| (id.clone(), if *id == ids[1] { 500 } else { 0 }))
        .collect();
    assert_eq!(claimed, expected);
    let letters: Vec<(String, Vec<(String, String)>)> = redis_rs::cmd("XRANGE")
        .arg(&[DEAD, "-", "+"])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(letters.len(), 1);
    let fields: Vec<(&str, &str)> = letters[0]
        .1
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("reason", "deleted"),
            ("errors", ERRORS),
            ("id", ids[0].as_str()),
            ("group", "g"),
            ("consumer", "me"),
            ("attempts", "3"),
        ]
    );
    let attempts: bool = conn.hexists(ATTEMPTS, &ids[0]).await.unwrap();
    assert!(!attempts, "its attempt count goes with it");

    // The rest, in pages past XAUTOCLAIM's (COUNT each): all 24, once; no
    // second dead letter.
    let (claimed, deleted) = claim(&mut conn, 10, 100, 100).await;
    assert_eq!(
        claimed.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(),
        ids[6..].to_vec()
    );
    assert!(deleted.is_empty());
    let dead: i64 = conn.xlen(DEAD).await.unwrap();
    assert_eq!(dead, 1);
    let pending: Vec<Value> = redis_rs::cmd("XPENDING")
        .arg(&[STREAM, "g", "-", "+", "100", "me"])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(pending.len(), 29);
}

#[tokio::test]
async fn deleted_entries_in_a_page_do_not_make_it_claim_more_than_asked() {
    let server = RedisServer::start();
    let mut conn = server.connection().await;
    let mut ids = Vec::new();
    for i in 0..20 {
        let id: String = conn
            .xadd(STREAM, "*", &[("data", i.to_string())])
            .await
            .unwrap();
        ids.push(id);
    }
    let _: () = conn.xgroup_create(STREAM, "g", "0").await.unwrap();
    let _: Value = redis_rs::cmd("XREADGROUP")
        .arg(&[
            "GROUP", "g", "dead-one", "COUNT", "20", "STREAMS", STREAM, ">",
        ])
        .query_async(&mut conn)
        .await
        .unwrap();
    // The first page's first three are gone: it claims two, the next page
    // the other three asked for, and no more.
    let _: i64 = conn.xdel(STREAM, &ids[..3]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let (claimed, deleted) = claim(&mut conn, 10, 5, 100).await;
    assert_eq!(deleted, ids[..3].to_vec());
    assert_eq!(
        claimed.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(),
        ids[3..8].to_vec()
    );
}
