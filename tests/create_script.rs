//! `create.lua` itself on a real `redis-server`: a group made at `0`, `0-0`,
//! `$` or an entry id gets the entries-read count read.lua's gap arithmetic
//! needs (what was trimmed before the group was made is not its loss), a
//! group already there is left as it is, and a start Redis refuses is an
//! error, not a success. The consumer's side is tests/group_gaps.rs.

mod common;

use common::redis_server::RedisServer;
use redis_rs::{AsyncCommands, Value};

const CREATE: &str = concat!(
    include_str!("../src/redis/bounded.lua"),
    include_str!("../src/redis/group/create.lua")
);
const STREAM: &str = "s";

async fn create(
    conn: &mut redis_rs::aio::MultiplexedConnection,
    group: &str,
    start: &str,
) -> redis_rs::RedisResult<i64> {
    redis_rs::Script::new(CREATE)
        .key(STREAM)
        .arg(group)
        .arg(start)
        .invoke_async(conn)
        .await
}

/// A group's `entries-read` and `lag` (None where Redis does not know).
async fn counts(
    conn: &mut redis_rs::aio::MultiplexedConnection,
    group: &str,
) -> (Option<i64>, Option<i64>) {
    let groups: Vec<Vec<Value>> = redis_rs::cmd("XINFO")
        .arg("GROUPS")
        .arg(STREAM)
        .query_async(conn)
        .await
        .unwrap();
    for fields in groups {
        let field = |name: &str| {
            fields
                .chunks(2)
                .find(|pair| matches!(&pair[0], Value::BulkString(n) if n == name.as_bytes()))
                .map(|pair| pair[1].clone())
        };
        if field("name") == Some(Value::BulkString(group.as_bytes().to_vec())) {
            let number = |value: Option<Value>| match value {
                Some(Value::Int(n)) => Some(n),
                _ => None,
            };
            return (number(field("entries-read")), number(field("lag")));
        }
    }
    panic!("no group {group}");
}

#[tokio::test]
async fn a_group_made_at_the_start_counts_what_was_trimmed_before_it_as_read() {
    let server = RedisServer::start();
    let mut conn = server.connection().await;
    let mut ids = Vec::new();
    for i in 0..10 {
        let id: String = conn
            .xadd(STREAM, "*", &[("data", i.to_string())])
            .await
            .unwrap();
        ids.push(id);
    }
    let _: i64 = redis_rs::cmd("XTRIM")
        .arg(&[STREAM, "MAXLEN", "6"])
        .query_async(&mut conn)
        .await
        .unwrap();
    // 10 added, 6 left: the 4 trimmed count as read, 6 to go.
    assert_eq!(create(&mut conn, "zero", "0").await.unwrap(), 1);
    assert_eq!(counts(&mut conn, "zero").await, (Some(4), Some(6)));
    assert_eq!(create(&mut conn, "zero-zero", "0-0").await.unwrap(), 1);
    assert_eq!(counts(&mut conn, "zero-zero").await, (Some(4), Some(6)));
    // At `$`: everything added so far is read.
    assert_eq!(create(&mut conn, "now", "$").await.unwrap(), 1);
    assert_eq!(counts(&mut conn, "now").await, (Some(10), Some(0)));
    // At an entry id the count is not known: left to Redis.
    assert_eq!(create(&mut conn, "at-id", &ids[6]).await.unwrap(), 1);
    assert_eq!(counts(&mut conn, "at-id").await.0, None);
    // A group that is there is left as it is: 0, its count unchanged.
    let _: Value = redis_rs::cmd("XREADGROUP")
        .arg(&["GROUP", "zero", "c", "COUNT", "2", "STREAMS", STREAM, ">"])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(create(&mut conn, "zero", "0").await.unwrap(), 0);
    assert_eq!(counts(&mut conn, "zero").await, (Some(6), Some(4)));
    // A start Redis refuses is an error, not "made".
    let refused = create(&mut conn, "bad", "not-an-id").await.unwrap_err();
    assert!(
        refused.to_string().contains("Invalid stream ID"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_group_made_on_a_missing_stream_makes_it_and_counts_nothing_read() {
    let server = RedisServer::start();
    let mut conn = server.connection().await;
    assert_eq!(create(&mut conn, "g", "$").await.unwrap(), 1);
    let exists: bool = conn.exists(STREAM).await.unwrap();
    assert!(exists);
    assert_eq!(counts(&mut conn, "g").await, (Some(0), Some(0)));
}
