//! `publish_each` against a real `redis-server`: one pipeline, and what
//! became of each envelope told on its own.

mod common;
#[path = "common/envelopes.rs"]
mod envelopes;

use common::redis_server::RedisServer;
use crowd_envelope::redis::*;
use envelopes::{envelope, STREAM};

#[tokio::test]
async fn publish_each_tells_each_envelope_and_one_bad_stops_none() {
    let server = RedisServer::start();
    let url = RedisUrl::parse(&server.url()).unwrap();
    let mut conn = url.connect().await.unwrap();
    let mut batch: Vec<_> = (0..5).map(envelope).collect();
    batch[2].prediction.confidence = 2.0;
    let told = publish_each(&mut conn, STREAM, &batch, PublishOptions::default())
        .await
        .unwrap();
    assert_eq!(told.len(), 5);
    let invalid = told[2].as_ref().unwrap_err();
    assert!(matches!(invalid, TransportError::Invalid(_)), "{invalid}");
    assert!(
        invalid.to_string().contains("prediction.confidence"),
        "{invalid}"
    );
    let ids: Vec<&String> = told.iter().filter_map(|t| t.as_ref().ok()).collect();
    assert_eq!(ids.len(), 4);
    let range = server.cli(&["XRANGE", STREAM, "-", "+"]);
    let stored: Vec<&str> = range
        .lines()
        .filter(|l| l.bytes().all(|b| b.is_ascii_digit() || b == b'-') && l.contains('-'))
        .collect();
    assert_eq!(stored, ids, "the valid ones, in order");
    // publish_envelopes validates all first: nothing of this batch is sent.
    let err = publish_envelopes(&mut conn, STREAM, &batch, PublishOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::Invalid(_)), "{err}");
    assert_eq!(server.cli(&["XLEN", STREAM]).trim(), "4");

    // Redis refuses each XADD to a key that is not a stream; the round trip
    // itself succeeds, so each is told, none is lost silently.
    server.cli(&["SET", "not-a-stream", "x"]);
    let told = publish_each(
        &mut conn,
        "not-a-stream",
        &batch[..2],
        PublishOptions::default(),
    )
    .await
    .unwrap();
    for refused in &told {
        let error = refused.as_ref().unwrap_err();
        assert!(error.to_string().contains("WRONGTYPE"), "{error}");
        assert!(!error.is_retryable(), "{error}");
    }
    assert!(
        publish_each(&mut conn, STREAM, &[], PublishOptions::default())
            .await
            .unwrap()
            .is_empty()
    );
}
