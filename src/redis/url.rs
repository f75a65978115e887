//! Where Redis is: a URL that never shows its password.

use std::fmt;
use std::time::Duration;

use redis_rs::aio::MultiplexedConnection;
use redis_rs::{AsyncConnectionConfig, Client, RedisError};

use super::{TransportError, COMMAND_TIMEOUT, CONNECT_TIMEOUT};

/// A Redis URL (`redis://`, `rediss://` for TLS, `redis+unix://`), shown and
/// logged only with its password replaced by `***`.
#[derive(Clone)]
pub struct RedisUrl {
    client: Client,
    pub(super) shown: String,
}

impl RedisUrl {
    /// Parses a URL such as `redis://:secret@127.0.0.1:6379/0`.
    pub fn parse(url: &str) -> Result<RedisUrl, TransportError> {
        let shown = redact_url(url);
        let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
        if !matches!(scheme, "redis" | "rediss" | "redis+unix" | "unix") {
            return Err(TransportError::InvalidUrl {
                message: format!(
                    "expected a redis://, rediss:// or redis+unix:// URL, found {}",
                    if scheme.is_empty() {
                        "no scheme".to_owned()
                    } else {
                        format!("{scheme}://")
                    }
                ),
                url: shown,
            });
        }
        let client = Client::open(url).map_err(|e| TransportError::InvalidUrl {
            url: shown.clone(),
            message: scrub(&e, url),
        })?;
        Ok(RedisUrl { client, shown })
    }

    /// Trusts the certificate authority in `pem` (PEM text) for this
    /// `rediss://` URL, instead of the system's roots: a Redis behind a
    /// private CA.
    #[cfg(any(feature = "redis-tls", feature = "redis-rustls"))]
    #[cfg_attr(docsrs, doc(cfg(any(feature = "redis-tls", feature = "redis-rustls"))))]
    pub fn with_root_certificate(self, pem: Vec<u8>) -> Result<RedisUrl, TransportError> {
        let certificates = redis_rs::TlsCertificates {
            client_tls: None,
            root_cert: Some(pem),
        };
        let client =
            Client::build_with_tls(self.client.get_connection_info().clone(), certificates)
                .map_err(|e| TransportError::InvalidUrl {
                    url: self.shown.clone(),
                    message: scrub(&e, ""),
                })?;
        Ok(RedisUrl {
            client,
            shown: self.shown,
        })
    }

    /// The URL with its password replaced by `***`.
    pub fn redacted(&self) -> &str {
        &self.shown
    }

    /// A multiplexed connection for ordinary commands.
    pub async fn connect(&self) -> Result<MultiplexedConnection, TransportError> {
        self.connect_with_timeout(COMMAND_TIMEOUT).await
    }

    /// A connection whose replies may take `timeout`: a blocking read needs
    /// more than the 500 ms redis-rs allows by default, and a connection of
    /// its own so it does not stall other commands.
    pub(super) async fn connect_with_timeout(
        &self,
        timeout: Duration,
    ) -> Result<MultiplexedConnection, TransportError> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(timeout));
        self.client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| TransportError::Connect {
                url: self.shown.clone(),
                message: scrub(&e, ""),
            })
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

/// The URL with the password of its user info replaced by `***`.
///
/// ```
/// use crowd_envelope::redis::redact_url;
/// assert_eq!(redact_url("redis://:hunter2@db:6379/0"), "redis://:***@db:6379/0");
/// assert_eq!(redact_url("rediss://bot:hunter2@db"), "rediss://bot:***@db");
/// assert_eq!(redact_url("redis://db:6379"), "redis://db:6379");
/// ```
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let Some((user_info, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    let user = user_info
        .split_once(':')
        .map_or(user_info, |(user, _)| user);
    if user_info.contains(':') {
        format!("{scheme}://{user}:***@{host}{path}")
    } else {
        // `redis://secret@host`: redis-rs reads a lone user info as the password.
        format!("{scheme}://***@{host}{path}")
    }
}

/// A redis-rs error as text, with any trace of `url` (and its password)
/// removed: some errors quote the URL they could not use.
fn scrub(error: &RedisError, url: &str) -> String {
    let text = error.to_string();
    if url.is_empty() {
        return text;
    }
    let mut text = text.replace(url, &redact_url(url));
    if let Some(password) = password_of(url) {
        text = text.replace(password, "***");
    }
    text
}

fn password_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let user_info = authority.rsplit_once('@')?.0;
    let password = user_info.split_once(':').map_or(user_info, |(_, p)| p);
    (!password.is_empty()).then_some(password)
}
