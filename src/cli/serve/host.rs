//! Which requests `serve` answers: only those that name this machine, so
//! that a web page of another origin whose name was made to resolve here
//! (DNS rebinding) reads nothing.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::Site;

/// The `Host` headers a browser sends to reach `local`: its address, and
/// localhost's names with its port (without it on port 80), and `extra`.
pub(super) fn answered_hosts(local: SocketAddr, extra: &[String]) -> Vec<String> {
    let port = local.port();
    let mut names = vec![
        local.to_string(),
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
    ];
    if port == 80 {
        names.extend(["localhost", "127.0.0.1", "[::1]"].map(String::from));
        names.push(local.ip().to_string());
    }
    names.extend(extra.iter().map(|host| host.to_ascii_lowercase()));
    names
}

/// What a request says of the host it is for.
#[derive(Debug, PartialEq, Eq)]
enum Named<'a> {
    /// One host, the same in `Host` and in an absolute-form target.
    Host(&'a [u8]),
    /// No `Host` (HTTP/1.1 requires one, and so does this server of
    /// HTTP/1.0), two of them, or a target naming another authority.
    Malformed(&'static str),
}

fn named<'a>(request: &'a axum::extract::Request) -> Named<'a> {
    let mut hosts = request.headers().get_all(header::HOST).iter();
    let (Some(host), None) = (hosts.next(), hosts.next()) else {
        return Named::Malformed(if request.headers().contains_key(header::HOST) {
            "more than one Host header\n"
        } else {
            "no Host header\n"
        });
    };
    let host = host.as_bytes();
    // An absolute-form target (`GET http://name/path`) names its host
    // itself; it must be the one in `Host`.
    if let Some(authority) = request.uri().authority() {
        if !authority.as_str().as_bytes().eq_ignore_ascii_case(host) {
            return Named::Malformed("the request target names another host than Host\n");
        }
    }
    Named::Host(host)
}

/// 400 for a request that names no host or two; 421 for one that names
/// another host than this machine.
pub(super) async fn known_host(
    State(site): State<Arc<Site>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match named(&request) {
        Named::Malformed(why) => (StatusCode::BAD_REQUEST, why).into_response(),
        Named::Host(host)
            if !site
                .hosts
                .iter()
                .any(|h| h.as_bytes().eq_ignore_ascii_case(host)) =>
        {
            (StatusCode::MISDIRECTED_REQUEST, "unknown Host\n").into_response()
        }
        Named::Host(_) => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hosts_answered_are_this_machines_names() {
        let hosts = answered_hosts("127.0.0.1:8080".parse().unwrap(), &["Dash.Example".into()]);
        assert!(hosts.contains(&"localhost:8080".to_owned()));
        assert!(hosts.contains(&"dash.example".to_owned()));
        assert!(
            !hosts.contains(&"localhost".to_owned()),
            "no port: only on port 80"
        );
        let on_80 = answered_hosts("127.0.0.1:80".parse().unwrap(), &[]);
        assert!(on_80.contains(&"localhost".to_owned()));
    }

    fn request(target: &str, hosts: &[&str]) -> axum::extract::Request {
        let mut builder = axum::http::Request::builder().uri(target);
        for host in hosts {
            builder = builder.header(header::HOST, *host);
        }
        builder.body(axum::body::Body::empty()).unwrap()
    }

    #[test]
    fn a_request_names_one_host_or_is_malformed() {
        assert_eq!(
            named(&request("/stats", &["a:1"])),
            Named::Host(b"a:1".as_slice())
        );
        assert!(matches!(
            named(&request("/stats", &[])),
            Named::Malformed(_)
        ));
        assert!(matches!(
            named(&request("/stats", &["a:1", "a:1"])),
            Named::Malformed(_)
        ));
        assert!(matches!(
            named(&request("http://evil.example/stats", &["a:1"])),
            Named::Malformed(_)
        ));
        assert_eq!(
            named(&request("http://A:1/stats", &["a:1"])),
            Named::Host(b"a:1".as_slice())
        );
    }
}
