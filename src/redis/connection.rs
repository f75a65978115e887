//! One connection type for every deployment a [`RedisUrl`] names: a
//! multiplexed connection to one server (or to the master the Sentinels
//! name now), or a cluster connection that sends each command, pipeline
//! and script to the node owning its first key's slot and follows `MOVED`
//! and `ASK` by itself.
//!
//! Scripts reach a node that has not loaded them (a promoted replica, a
//! node that took the slot over) as `NOSCRIPT`: redis-rs `Script` loads
//! them and calls again, on every kind of connection.

use std::time::Duration;

use redis_rs::aio::{ConnectionLike, MultiplexedConnection};
use redis_rs::cluster::ClusterClientBuilder;
use redis_rs::cluster_async::ClusterConnection;
use redis_rs::{AsyncConnectionConfig, Cmd, Pipeline, RedisFuture, Value};

use super::url::{RedisUrl, Target};
use super::{TransportError, COMMAND_TIMEOUT, CONNECT_TIMEOUT};

/// A connection to wherever a [`RedisUrl`] points; cheap to clone (clones
/// share it), and usable wherever redis-rs takes a
/// [`ConnectionLike`](redis_rs::aio::ConnectionLike).
#[derive(Clone)]
pub enum Connection {
    /// One server, or the master a Sentinel named.
    Single(MultiplexedConnection),
    /// A Redis Cluster.
    Cluster(ClusterConnection),
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Connection::Single(_) => "Connection::Single",
            Connection::Cluster(_) => "Connection::Cluster",
        })
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Single(conn) => conn.req_packed_command(cmd),
            Connection::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            Connection::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Single(conn) => conn.get_db(),
            Connection::Cluster(conn) => conn.get_db(),
        }
    }
}

impl RedisUrl {
    /// A connection for ordinary commands. A Sentinel URL asks the
    /// Sentinels for the master each time: call it again after a lost
    /// connection to reach a promoted replica.
    pub async fn connect(&self) -> Result<Connection, TransportError> {
        self.connect_with_timeout(COMMAND_TIMEOUT).await
    }

    /// A connection whose replies may take `timeout`: a blocking read needs
    /// more than the 500 ms redis-rs allows by default, and a connection of
    /// its own so it does not stall other commands.
    pub(super) async fn connect_with_timeout(
        &self,
        timeout: Duration,
    ) -> Result<Connection, TransportError> {
        let failed = |message: String| TransportError::Connect {
            url: self.shown.clone(),
            message,
        };
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(timeout));
        match &self.target {
            Target::Single(client) => client
                .get_multiplexed_async_connection_with_config(&config)
                .await
                .map(Connection::Single)
                .map_err(|e| failed(self.scrub(&e))),
            Target::Sentinel(sentinel, _) => {
                let client = sentinel
                    .lock()
                    .await
                    .async_get_client()
                    .await
                    .map_err(|e| {
                        failed(format!("no master from the Sentinels: {}", self.scrub(&e)))
                    })?;
                client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await
                    .map(Connection::Single)
                    .map_err(|e| {
                        failed(format!(
                            "the master the Sentinels named: {}",
                            self.scrub(&e)
                        ))
                    })
            }
            Target::Cluster {
                nodes,
                root_certificate,
            } => {
                // Few retries, short waits: a failed command comes back
                // to the caller's own reconnect loop (with its backoff and
                // its log line) instead of waiting inside redis-rs.
                let builder = ClusterClientBuilder::new(nodes.iter().map(String::as_str))
                    .connection_timeout(CONNECT_TIMEOUT)
                    .response_timeout(timeout)
                    .retries(3)
                    .min_retry_wait(50)
                    .max_retry_wait(500);
                #[cfg(feature = "redis-rustls")]
                let builder = match root_certificate {
                    Some(pem) => builder.certs(redis_rs::TlsCertificates {
                        client_tls: None,
                        root_cert: Some(pem.clone()),
                    }),
                    None => builder,
                };
                #[cfg(not(feature = "redis-rustls"))]
                let _ = root_certificate;
                let client = builder.build().map_err(|e| failed(self.scrub(&e)))?;
                client
                    .get_async_connection()
                    .await
                    .map(Connection::Cluster)
                    .map_err(|e| failed(self.scrub(&e)))
            }
        }
    }
}
