//! A real `redis-server` for the tests: a free loopback port, a scratch
//! directory, the append-only file on (fsync always, so a kill -9 loses
//! nothing acknowledged), killed when dropped.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
    /// TLS only, with this password: `rediss://` tests.
    tls_password: Option<String>,
    /// More arguments for `redis-server` (`--maxclients 300`, say).
    extra: Vec<String>,
    /// The password `redis-cli` gives (a server started with
    /// `--requirepass`), if any.
    auth: Option<String>,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        let mut server = RedisServer::unstarted();
        server.spawn();
        server
    }

    /// A server started with more `redis-server` arguments.
    pub fn start_with(extra: &[&str]) -> RedisServer {
        let mut server = RedisServer::unstarted();
        server.extra = extra.iter().map(|a| (*a).to_owned()).collect();
        server.spawn();
        server
    }

    /// A port and a directory, with no server yet: a client can be pointed
    /// at it before [`Self::restart`] starts one there.
    pub fn not_yet_started() -> RedisServer {
        RedisServer::unstarted()
    }

    /// A server that speaks only TLS and requires `password`. Its
    /// certificate, for 127.0.0.1, is signed by a CA of the test's own
    /// (`ca.pem`, see [`Self::ca_pem`]), both made with `openssl`.
    pub fn start_tls(password: &str) -> RedisServer {
        let mut server = RedisServer::unstarted();
        make_certificates(&server.dir);
        server.tls_password = Some(password.to_owned());
        server.spawn();
        server
    }

    /// A server that speaks only TLS and requires `password`, with the CA,
    /// certificate and key in `certificates` (made by
    /// [`make_certificates`]): one CA for several servers that verify each
    /// other (cluster nodes, a replica and its master), on a port a cluster
    /// node can have.
    pub fn start_tls_sharing(password: &str, certificates: &Path, extra: &[&str]) -> RedisServer {
        let mut server = RedisServer::unstarted_at(super::free_cluster_port());
        for file in ["ca.pem", "cert.pem", "key.pem"] {
            std::fs::copy(certificates.join(file), server.dir.join(file))
                .expect("certificates copied");
        }
        server.tls_password = Some(password.to_owned());
        server.extra = extra.iter().map(|a| (*a).to_owned()).collect();
        server.spawn();
        server
    }

    /// The CA that signed a TLS server's certificate, as PEM.
    pub fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self.dir.join("ca.pem")).expect("ca.pem")
    }

    /// A node of a Redis Cluster (`extra` holds `--cluster-enabled yes`):
    /// on a port whose bus port, 10000 above, exists.
    pub fn start_cluster_node(extra: &[&str]) -> RedisServer {
        let mut server = RedisServer::unstarted_at(super::free_cluster_port());
        server.extra = extra.iter().map(|a| (*a).to_owned()).collect();
        server.spawn();
        server
    }

    fn unstarted() -> RedisServer {
        RedisServer::unstarted_at(super::free_port())
    }

    fn unstarted_at(port: u16) -> RedisServer {
        let dir = std::env::temp_dir().join(format!("crowd-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        RedisServer {
            port,
            dir,
            child: None,
            tls_password: None,
            extra: Vec::new(),
            auth: None,
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// A redis-rs connection of the test's own, for the tests that call a
    /// script or a command directly.
    #[cfg(feature = "redis")]
    pub async fn connection(&self) -> redis_rs::aio::MultiplexedConnection {
        redis_rs::Client::open(self.url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }

    fn spawn(&mut self) {
        let port = self.port.to_string();
        let mut command = Command::new("redis-server");
        match &self.tls_password {
            None => command.args(["--port", &port]),
            Some(password) => command
                .args([
                    "--port",
                    "0",
                    "--tls-port",
                    &port,
                    "--tls-auth-clients",
                    "no",
                ])
                .args(["--tls-cert-file", "cert.pem", "--tls-key-file", "key.pem"])
                .args(["--tls-ca-cert-file", "ca.pem", "--requirepass", password]),
        };
        let child = command
            .args(["--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(&self.dir)
            .current_dir(&self.dir)
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .args(&self.extra)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server runs (apt-get install redis-server)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// kill -9, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// `redis-cli` gives `password` from now on (the server's `--requirepass`).
    pub fn set_auth(&mut self, password: &str) {
        self.auth = Some(password.to_owned());
    }

    /// `redis-cli`'s arguments for this server: `-p PORT`, `--tls --cacert`
    /// for a TLS server, `-a PASSWORD` when it requires one.
    pub fn cli_args(&self) -> Vec<String> {
        let mut args = vec!["-p".to_owned(), self.port.to_string()];
        if self.tls_password.is_some() {
            let ca = self.dir.join("ca.pem").display().to_string();
            args.extend(["--tls".to_owned(), "--cacert".to_owned(), ca]);
        }
        if let Some(password) = self.auth.as_ref().or(self.tls_password.as_ref()) {
            args.extend([
                "--no-auth-warning".to_owned(),
                "-a".to_owned(),
                password.clone(),
            ]);
        }
        args
    }

    /// Whether it runs (not killed).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// `redis-cli` against this server, `None` when it fails (a node that
    /// is down).
    pub fn try_cli(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("redis-cli")
            .args(self.cli_args())
            .args(args)
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        (out.status.success() && !text.starts_with("Could not connect")).then_some(text)
    }

    /// `redis-cli` against this server (a client that is not this crate).
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(self.cli_args())
            .args(args)
            .output()
            .expect("redis-cli runs");
        assert!(out.status.success(), "redis-cli {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `EVAL script 1 key value` through `redis-cli -x`, the value on its
    /// standard input: one too big for a command line (entries of 8 MiB).
    pub fn eval_with_value(&self, script: &str, key: &str, value: &[u8]) {
        use std::io::Write;
        let port = self.port.to_string();
        let mut cli = Command::new("redis-cli")
            .args(["-p", &port, "-x", "EVAL", script, "1", key])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-cli runs");
        let mut stdin = cli.stdin.take().expect("a pipe");
        stdin.write_all(value).expect("redis-cli reads its input");
        drop(stdin);
        assert!(
            cli.wait().expect("redis-cli ends").success(),
            "EVAL {script}"
        );
    }
}

/// A CA of the test's own (`ca.pem`), and a certificate for 127.0.0.1 it
/// signed (`cert.pem`, `key.pem`), in `dir`, made with `openssl`; good for
/// a client too, as cluster nodes are to each other.
pub fn make_certificates(dir: &Path) {
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
             keyUsage=digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n",
    )
    .expect("extensions written");
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let steps: [&[&str]; 3] = [
        &[
            &["req", "-x509"],
            &ec[..],
            &[
                "-days",
                "1",
                "-subj",
                "/CN=crowd test CA",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
            ],
        ]
        .concat(),
        &[
            &["req"],
            &ec[..],
            &[
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
                "key.pem",
                "-out",
                "server.csr",
            ],
        ]
        .concat(),
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "server.ext",
            "-out",
            "cert.pem",
        ],
    ];
    for step in steps {
        let made = Command::new("openssl")
            .args(step)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl runs");
        assert!(made.success(), "openssl {step:?}");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
