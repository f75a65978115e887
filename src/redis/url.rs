//! Where Redis is: one server, a Redis Cluster or a Sentinel-watched
//! master, behind one URL type that never shows its passwords.

use std::fmt;
use std::sync::Arc;

use redis_rs::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis_rs::{Client, ConnectionAddr, IntoConnectionInfo, RedisError, TlsMode};

use super::TransportError;

/// A Redis URL, shown and logged only with its passwords replaced by `***`:
///
/// - `redis://[user:pass@]host:port[/db]`, `rediss://` for TLS,
///   `redis+unix:///path`: one server;
/// - `redis+cluster://[user:pass@]host:port[,host:port…]`
///   (`rediss+cluster://`): a Redis Cluster, found through any of its
///   nodes, every command sent to the node that owns its key's slot;
/// - `redis+sentinel://[user:pass@]host:port[,host:port…]/MASTER[/db]`
///   (`rediss+sentinel://`): the master the Sentinels name `MASTER`, asked
///   of them at every (re)connect; `user:pass` are the master's, the
///   Sentinels' own are `?sentinel_username=…&sentinel_password=…`.
#[derive(Clone)]
pub struct RedisUrl {
    pub(super) target: Target,
    pub(super) shown: String,
    /// The URL's passwords, taken out of every error message.
    secrets: Arc<[String]>,
}

/// Where connections go.
#[derive(Clone)]
pub(super) enum Target {
    Single(Client),
    /// Every node's URL, and a private CA to trust, if any.
    Cluster {
        nodes: Vec<String>,
        root_certificate: Option<Vec<u8>>,
    },
    /// Asked for the master by every connect (`&mut` in redis-rs), and the
    /// URL it was made from (built again with a private CA).
    Sentinel(
        Arc<tokio::sync::Mutex<SentinelClient>>,
        #[cfg_attr(
            not(any(feature = "redis-tls", feature = "redis-rustls")),
            allow(dead_code)
        )]
        Arc<str>,
    ),
}

impl RedisUrl {
    /// Parses a URL such as `redis://:secret@127.0.0.1:6379/0`.
    ///
    /// ```
    /// use crowd_envelope::redis::RedisUrl;
    /// let url = RedisUrl::parse("redis+cluster://:pw@10.0.0.1:7000,10.0.0.2:7000").unwrap();
    /// assert_eq!(url.redacted(), "redis+cluster://:***@10.0.0.1:7000,10.0.0.2:7000");
    /// let url = RedisUrl::parse("redis+sentinel://10.0.0.1:26379/main/2").unwrap();
    /// assert!(url.is_sentinel());
    /// assert!(RedisUrl::parse("http://db").is_err());
    /// ```
    pub fn parse(url: &str) -> Result<RedisUrl, TransportError> {
        let shown = redact_url(url);
        let invalid = |message: String| TransportError::InvalidUrl {
            url: shown.clone(),
            message,
        };
        let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
        let target = match scheme {
            "redis" | "rediss" | "redis+unix" | "unix" => {
                Target::Single(Client::open(url).map_err(|e| invalid(scrub(&e, url)))?)
            }
            "redis+cluster" | "rediss+cluster" => {
                let tls = scheme.starts_with("rediss");
                let nodes = node_urls(tls, rest).map_err(|m| invalid(m.to_owned()))?;
                for node in &nodes {
                    node.as_str()
                        .into_connection_info()
                        .map_err(|e| invalid(scrub(&e, node)))?;
                }
                Target::Cluster {
                    nodes,
                    root_certificate: None,
                }
            }
            "redis+sentinel" | "rediss+sentinel" => {
                let client = sentinel_client(scheme, rest, None)
                    .map_err(|e| invalid(e.map_or_else(|m| m.to_owned(), |e| scrub(&e, url))))?;
                Target::Sentinel(Arc::new(tokio::sync::Mutex::new(client)), url.into())
            }
            _ => {
                return Err(invalid(format!(
                    "expected a redis://, rediss://, redis+unix://, redis+cluster:// or \
                     redis+sentinel:// URL, found {}",
                    if scheme.is_empty() {
                        "no scheme".to_owned()
                    } else {
                        format!("{scheme}://")
                    }
                )))
            }
        };
        let secrets = passwords_of(url).into_iter().map(str::to_owned).collect();
        Ok(RedisUrl {
            target,
            shown,
            secrets,
        })
    }

    /// Trusts the certificate authority in `pem` (PEM text) for this
    /// `rediss://` URL, instead of the system's roots: a Redis behind a
    /// private CA. A cluster or Sentinel URL (for the Sentinels and the
    /// master both) takes one with feature `redis-rustls` only: redis-rs
    /// has no other way to give it.
    #[cfg(any(feature = "redis-tls", feature = "redis-rustls"))]
    #[cfg_attr(docsrs, doc(cfg(any(feature = "redis-tls", feature = "redis-rustls"))))]
    pub fn with_root_certificate(self, pem: Vec<u8>) -> Result<RedisUrl, TransportError> {
        let invalid = |message: String| TransportError::InvalidUrl {
            url: self.shown.clone(),
            message,
        };
        let target = match &self.target {
            Target::Single(client) => {
                let certificates = redis_rs::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem),
                };
                Target::Single(
                    Client::build_with_tls(client.get_connection_info().clone(), certificates)
                        .map_err(|e| invalid(self.scrub(&e)))?,
                )
            }
            Target::Cluster { nodes, .. } if cfg!(feature = "redis-rustls") => Target::Cluster {
                nodes: nodes.clone(),
                root_certificate: Some(pem),
            },
            Target::Sentinel(_, url) if cfg!(feature = "redis-rustls") => {
                let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
                let client = sentinel_client(scheme, rest, Some(&pem))
                    .map_err(|e| invalid(e.map_or_else(|m| m.to_owned(), |e| self.scrub(&e))))?;
                Target::Sentinel(Arc::new(tokio::sync::Mutex::new(client)), url.clone())
            }
            _ => {
                return Err(invalid(
                    "a private CA for a cluster or Sentinel URL needs feature redis-rustls \
                     (redis-rs takes one there with rustls alone)"
                        .to_owned(),
                ))
            }
        };
        Ok(RedisUrl {
            target,
            shown: self.shown,
            secrets: self.secrets,
        })
    }

    /// The URL with its passwords replaced by `***`.
    pub fn redacted(&self) -> &str {
        &self.shown
    }

    /// A redis-rs error as text, without this URL's passwords.
    pub(super) fn scrub(&self, error: &RedisError) -> String {
        let mut text = error.to_string();
        for secret in self.secrets.iter() {
            text = text.replace(secret.as_str(), "***");
        }
        text
    }

    /// Whether this is a `redis+cluster://` URL.
    pub fn is_cluster(&self) -> bool {
        matches!(self.target, Target::Cluster { .. })
    }

    /// Whether this is a `redis+sentinel://` URL.
    pub fn is_sentinel(&self) -> bool {
        matches!(self.target, Target::Sentinel(..))
    }
}

/// `[user:pass@]host:port[,host:port…][/rest]` as one `redis://` (or
/// `rediss://`) URL per host, each with the user info; and the rest.
fn hosts(tls: bool, rest: &str) -> Result<(Vec<String>, String), &'static str> {
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (user_info, hosts) = match authority.rsplit_once('@') {
        Some((user_info, hosts)) => (format!("{user_info}@"), hosts),
        None => (String::new(), authority),
    };
    let scheme = if tls { "rediss" } else { "redis" };
    let urls: Vec<String> = hosts
        .split(',')
        .filter(|host| !host.is_empty())
        .map(|host| format!("{scheme}://{user_info}{host}"))
        .collect();
    if urls.is_empty() {
        return Err("expected host:port[,host:port…] after the scheme");
    }
    Ok((urls, tail.to_owned()))
}

/// A cluster's node URLs: nothing may follow the hosts (a cluster has
/// database 0 alone).
fn node_urls(tls: bool, rest: &str) -> Result<Vec<String>, &'static str> {
    let (urls, tail) = hosts(tls, rest)?;
    if !matches!(tail.as_str(), "" | "/" | "/0") {
        return Err("a cluster URL ends after its hosts (a cluster has database 0 alone)");
    }
    Ok(urls)
}

/// The Sentinel client of `redis+sentinel://` `rest`.
fn sentinel_client(
    scheme: &str,
    rest: &str,
    root_certificate: Option<&[u8]>,
) -> Result<SentinelClient, Result<RedisError, &'static str>> {
    let tls = scheme.starts_with("rediss");
    let (masters, tail) = hosts(tls, rest).map_err(Err)?;
    let (path, query) = tail.split_once('?').unwrap_or((&tail, ""));
    let mut parts = path.trim_start_matches('/').split('/');
    let master = parts.next().filter(|name| !name.is_empty());
    let db = parts.next().unwrap_or("0");
    let (Some(master), None) = (master, parts.next()) else {
        return Err(Err("expected /MASTER_NAME[/db] after the Sentinels' hosts"));
    };
    // The master's user info and database, as redis-rs reads them from an
    // ordinary URL of the first host.
    let first = masters.first().map_or("", String::as_str);
    let master_info = format!("{first}/{db}")
        .as_str()
        .into_connection_info()
        .map_err(Ok)?;
    let (mut sentinel_user, mut sentinel_password) = (None, None);
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        match pair.split_once('=') {
            Some(("sentinel_username", value)) => sentinel_user = Some(value),
            Some(("sentinel_password", value)) => sentinel_password = Some(value),
            _ => {
                return Err(Err(
                    "the only query keys are sentinel_username and sentinel_password",
                ))
            }
        }
    }
    let addresses = masters
        .iter()
        .map(|url| {
            let host = url.split_once("://").map_or(url.as_str(), |(_, host)| host);
            let host = host.rsplit_once('@').map_or(host, |(_, host)| host);
            let (name, port) = host.rsplit_once(':').unwrap_or((host, "26379"));
            let port = port
                .parse()
                .map_err(|_| Err("expected host:port for each Sentinel"))?;
            Ok(if tls {
                ConnectionAddr::TcpTls {
                    host: name.to_owned(),
                    port,
                    insecure: false,
                    tls_params: None,
                }
            } else {
                ConnectionAddr::Tcp(name.to_owned(), port)
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let settings = master_info.redis_settings();
    let mut builder = SentinelClientBuilder::new(addresses, master, SentinelServerType::Master)
        .map_err(Ok)?
        .set_client_to_redis_db(settings.db());
    if let Some(user) = settings.username() {
        builder = builder.set_client_to_redis_username(user);
    }
    if let Some(password) = settings.password() {
        builder = builder.set_client_to_redis_password(password);
    }
    if let Some(user) = sentinel_user {
        builder = builder.set_client_to_sentinel_username(user);
    }
    if let Some(password) = sentinel_password {
        builder = builder.set_client_to_sentinel_password(password);
    }
    if tls {
        builder = builder
            .set_client_to_redis_tls_mode(TlsMode::Secure)
            .set_client_to_sentinel_tls_mode(TlsMode::Secure);
    }
    #[cfg(feature = "redis-rustls")]
    if let Some(pem) = root_certificate {
        let trusted = || redis_rs::TlsCertificates {
            client_tls: None,
            root_cert: Some(pem.to_vec()),
        };
        builder = builder
            .set_client_to_redis_certificates(trusted())
            .set_client_to_sentinel_certificates(trusted());
    }
    #[cfg(not(feature = "redis-rustls"))]
    let _ = root_certificate;
    builder.build().map_err(Ok)
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

/// The URL with the password of its user info, and a Sentinel URL's
/// `sentinel_password`, replaced by `***`.
///
/// ```
/// use crowd_envelope::redis::redact_url;
/// assert_eq!(redact_url("redis://:hunter2@db:6379/0"), "redis://:***@db:6379/0");
/// assert_eq!(redact_url("rediss://bot:hunter2@db"), "rediss://bot:***@db");
/// assert_eq!(redact_url("redis://db:6379"), "redis://db:6379");
/// assert_eq!(
///     redact_url("redis+sentinel://:pw@s1:26379,s2:26379/main?sentinel_password=pw2"),
///     "redis+sentinel://:***@s1:26379,s2:26379/main?sentinel_password=***"
/// );
/// assert_eq!(redact_url("redis://secret@db"), "redis://***@db");
/// ```
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, hosts)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{user}:***@{hosts}"),
            // `redis://secret@host`: redis-rs reads a lone user info as the password.
            None => format!("***@{hosts}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let (query, fragment) = query
                .split_once('#')
                .map_or((query, None), |(q, f)| (q, Some(f)));
            let pairs: Vec<&str> = query
                .split('&')
                .map(|pair| {
                    if pair.starts_with("sentinel_password=") {
                        "sentinel_password=***"
                    } else {
                        pair
                    }
                })
                .collect();
            let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
            format!("{path}?{}{fragment}", pairs.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// A redis-rs error as text, with any trace of `url` (and its passwords)
/// removed: some errors quote the URL they could not use.
fn scrub(error: &RedisError, url: &str) -> String {
    let mut text = error.to_string();
    for password in passwords_of(url) {
        text = text.replace(password, "***");
    }
    text
}

/// The password of `url`'s user info (a lone user info, which redis-rs
/// reads as the password, included) and its `sentinel_password`, the
/// longest first, so that none is left half shown inside another.
fn passwords_of(url: &str) -> Vec<&str> {
    let Some((_, rest)) = url.split_once("://") else {
        return Vec::new();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let user_info = authority.rsplit_once('@').map(|(user_info, _)| user_info);
    let password = user_info.map(|u| u.split_once(':').map_or(u, |(_, p)| p));
    let query = tail.split_once('?').map_or("", |(_, q)| q);
    let sentinel = query
        .split(['&', '#'])
        .find_map(|pair| pair.strip_prefix("sentinel_password="));
    let mut passwords: Vec<&str> = [password, sentinel]
        .into_iter()
        .flatten()
        .filter(|p| !p.is_empty())
        .collect();
    passwords.sort_by_key(|p| std::cmp::Reverse(p.len()));
    passwords
}
