//! More than one `redis-server` for the tests, as an operator would run
//! them: a Redis Cluster of 3 masters and 3 replicas (`redis-cli --cluster
//! create`), and a master with a replica watched by 3 Sentinels. Short node
//! and failure-detection timeouts keep a failover to seconds.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::redis_server::RedisServer;

/// Waits up to `seconds` for `ready`, else panics naming `what`.
pub fn wait_until(seconds: u64, what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A node's line of `CLUSTER NODES`.
#[derive(Debug, Clone)]
pub struct Node {
    pub port: u16,
    pub master: bool,
    /// The slot ranges it serves, `(first, last)`.
    pub slots: Vec<(u16, u16)>,
}

pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
}

/// What every node of a test cluster is started with.
const NODE_ARGS: [&str; 8] = [
    "--cluster-enabled",
    "yes",
    "--cluster-config-file",
    "nodes.conf",
    "--cluster-node-timeout",
    "1000",
    // A replica takes over however long it was cut off.
    "--cluster-replica-validity-factor",
    "0",
];

impl RedisCluster {
    /// Six nodes that speak only TLS, with one CA of the test's own
    /// (`ca_pem`), requiring `password` (which replicas give their master).
    pub fn start_tls(password: &str) -> (RedisCluster, Vec<u8>) {
        let certificates = std::env::temp_dir().join(format!(
            "crowd-cluster-ca-{}-{}",
            std::process::id(),
            super::free_port()
        ));
        std::fs::create_dir_all(&certificates).unwrap();
        super::redis_server::make_certificates(&certificates);
        let mut args = NODE_ARGS.to_vec();
        args.extend([
            "--tls-cluster",
            "yes",
            "--tls-replication",
            "yes",
            "--masterauth",
            password,
        ]);
        let nodes = (0..6)
            .map(|_| RedisServer::start_tls_sharing(password, &certificates, &args))
            .collect();
        let ca = std::fs::read(certificates.join("ca.pem")).unwrap();
        let _ = std::fs::remove_dir_all(&certificates);
        (RedisCluster::create(nodes), ca)
    }

    /// Six nodes, three of them masters, `cluster_state:ok` on each, every
    /// replica in sync.
    pub fn start() -> RedisCluster {
        RedisCluster::create(
            (0..6)
                .map(|_| RedisServer::start_cluster_node(&NODE_ARGS))
                .collect(),
        )
    }

    /// `redis-cli --cluster create` of `nodes`, then until it is healthy.
    fn create(nodes: Vec<RedisServer>) -> RedisCluster {
        let addresses: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        // The first node's TLS and password flags (all nodes share them).
        let flags: Vec<String> = nodes[0].cli_args().into_iter().skip(2).collect();
        // `timeout`: redis-cli waits for the nodes to join without end.
        let out = Command::new("timeout")
            .args(["60", "redis-cli"])
            .args(&flags)
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .expect("redis-cli runs");
        assert!(out.status.success(), "cluster create: {out:?}");
        let cluster = RedisCluster { nodes };
        cluster.wait_healthy();
        cluster
    }

    /// Until every live node says `cluster_state:ok`, three masters serve
    /// all 16384 slots, and every master has a replica that is in sync.
    pub fn wait_healthy(&self) {
        wait_until(60, "the cluster to be ok", || {
            let live = self.live();
            live.iter().all(|n| {
                n.try_cli(&["CLUSTER", "INFO"])
                    .is_some_and(|i| i.contains("cluster_state:ok"))
            }) && {
                let nodes = self.topology();
                let masters: Vec<&Node> = nodes
                    .iter()
                    .filter(|n| n.master && !n.slots.is_empty())
                    .collect();
                masters.len() == 3
                    && masters.iter().all(|m| {
                        self.node(m.port)
                            .try_cli(&["INFO", "replication"])
                            .is_some_and(|info| {
                                info.contains("connected_slaves:1") && info.contains("state=online")
                            })
                    })
            }
        });
    }

    fn live(&self) -> Vec<&RedisServer> {
        self.nodes.iter().filter(|n| n.is_running()).collect()
    }

    fn node(&self, port: u16) -> &RedisServer {
        self.nodes
            .iter()
            .find(|n| n.port == port)
            .expect("a node of the cluster")
    }

    /// `CLUSTER NODES` as one live node sees it (failed nodes left out).
    pub fn topology(&self) -> Vec<Node> {
        let Some(text) = self
            .live()
            .iter()
            .find_map(|n| n.try_cli(&["CLUSTER", "NODES"]))
        else {
            return Vec::new();
        };
        text.lines()
            .filter_map(|line| {
                let parts: Vec<&str> = line.split_whitespace().collect();
                let flags = parts.get(2)?;
                if flags.contains("fail") {
                    return None;
                }
                let port = parts.get(1)?.split(['@', ':']).nth(1)?.parse().ok()?;
                let slots = parts[8.min(parts.len())..]
                    .iter()
                    .filter_map(|range| {
                        let (first, last) = range.split_once('-').unwrap_or((range, range));
                        Some((first.parse().ok()?, last.parse().ok()?))
                    })
                    .collect();
                Some(Node {
                    port,
                    master: flags.contains("master"),
                    slots,
                })
            })
            .collect()
    }

    /// The slot of `key`, as a node computes it.
    pub fn slot(&self, key: &str) -> u16 {
        self.cli(&["CLUSTER", "KEYSLOT", key])
            .trim()
            .parse()
            .unwrap()
    }

    /// The port of the master serving `key` now.
    pub fn master_of(&self, key: &str) -> u16 {
        let slot = self.slot(key);
        self.topology()
            .into_iter()
            .find(|n| n.master && n.slots.iter().any(|(a, b)| (*a..=*b).contains(&slot)))
            .map(|n| n.port)
            .expect("a master serves the slot")
    }

    /// A `redis+cluster://` URL through one master that does not serve
    /// `key`: every command for it must follow a `MOVED`.
    pub fn url_avoiding(&self, key: &str) -> String {
        let owner = self.master_of(key);
        let other = self
            .topology()
            .into_iter()
            .find(|n| n.master && n.port != owner)
            .expect("another master");
        format!("redis+cluster://127.0.0.1:{}", other.port)
    }

    /// kill -9 of the master serving `key`; waits until its replica took
    /// the slots over. Gives the dead master's port.
    pub fn kill_master_of(&mut self, key: &str) -> u16 {
        let port = self.master_of(key);
        let slot = self.slot(key);
        self.nodes
            .iter_mut()
            .find(|n| n.port == port)
            .unwrap()
            .kill();
        wait_until(60, "a replica to take the slot over", || {
            let nodes = self.topology();
            nodes.iter().any(|n| {
                n.master && n.port != port && n.slots.iter().any(|(a, b)| (*a..=*b).contains(&slot))
            }) && self.live().iter().all(|n| {
                n.try_cli(&["CLUSTER", "INFO"])
                    .is_some_and(|i| i.contains("cluster_state:ok"))
            })
        });
        port
    }

    /// `redis-cli` against the node on `port`.
    pub fn node_cli(&self, port: u16, args: &[&str]) -> String {
        self.node(port).cli(args)
    }

    /// `redis-cli -c` (following redirects) through the first live node.
    pub fn cli(&self, args: &[&str]) -> String {
        let node = self
            .live()
            .into_iter()
            .find(|n| n.try_cli(&["PING"]).is_some())
            .expect("a live node");
        let out = Command::new("redis-cli")
            .arg("-c")
            .args(node.cli_args())
            .args(args)
            .output()
            .expect("redis-cli runs");
        assert!(out.status.success(), "redis-cli -c {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// A master, its replica and three Sentinels watching them as `main`.
pub struct RedisSentinels {
    pub master: RedisServer,
    pub replica: RedisServer,
    sentinels: Vec<Sentinel>,
    /// The Sentinels' own password (`requirepass` in their config), if any.
    sentinel_password: Option<String>,
    /// The CA of Sentinels that speak TLS.
    tls_ca: Option<PathBuf>,
}

struct Sentinel {
    port: u16,
    dir: PathBuf,
    child: Child,
}

pub const MASTER_NAME: &str = "main";

impl RedisSentinels {
    pub fn start() -> RedisSentinels {
        RedisSentinels::start_with_passwords(None)
    }

    /// With `(master, sentinels)` passwords: the master and replica require
    /// the first (and the replica and the Sentinels authenticate with it:
    /// `masterauth`, `sentinel auth-pass`), the Sentinels the second.
    pub fn start_with_passwords(passwords: Option<(&str, &str)>) -> RedisSentinels {
        RedisSentinels::start_configured(passwords, None)
    }

    /// Every process speaking only TLS (replication and the Sentinels too),
    /// with one CA of the test's own (given back), and the passwords of
    /// [`Self::start_with_passwords`].
    pub fn start_tls(master_password: &str, sentinel_password: &str) -> (RedisSentinels, Vec<u8>) {
        let certificates = std::env::temp_dir().join(format!(
            "crowd-sentinel-ca-{}-{}",
            std::process::id(),
            super::free_port()
        ));
        std::fs::create_dir_all(&certificates).unwrap();
        super::redis_server::make_certificates(&certificates);
        let ca = std::fs::read(certificates.join("ca.pem")).unwrap();
        let sentinels = RedisSentinels::start_configured(
            Some((master_password, sentinel_password)),
            Some(&certificates),
        );
        (sentinels, ca)
    }

    fn start_configured(
        passwords: Option<(&str, &str)>,
        tls: Option<&std::path::Path>,
    ) -> RedisSentinels {
        let auth: Vec<&str> = passwords.map_or(Vec::new(), |(master, _)| {
            vec!["--requirepass", master, "--masterauth", master]
        });
        let (mut master, mut replica) = match (tls, passwords) {
            (Some(certificates), Some((password, _))) => {
                let args = ["--tls-replication", "yes", "--masterauth", password];
                let master = RedisServer::start_tls_sharing(password, certificates, &args);
                let port = master.port.to_string();
                let mut replica_args = vec!["--replicaof", "127.0.0.1", &port];
                replica_args.extend(args);
                let replica = RedisServer::start_tls_sharing(password, certificates, &replica_args);
                (master, replica)
            }
            _ => {
                let master = RedisServer::start_with(&auth);
                let port = master.port.to_string();
                let mut replica_args = vec!["--replicaof", "127.0.0.1", &port];
                replica_args.extend(&auth);
                (master, RedisServer::start_with(&replica_args))
            }
        };
        let master_port = master.port.to_string();
        if let (Some((password, _)), None) = (passwords, tls) {
            master.set_auth(password);
            replica.set_auth(password);
        }
        let listen = |port: u16| match tls {
            None => format!("port {port}\n"),
            Some(c) => format!(
                "port 0\ntls-port {port}\ntls-cert-file {0}/cert.pem\ntls-key-file {0}/key.pem\n\
                 tls-ca-cert-file {0}/ca.pem\ntls-replication yes\ntls-auth-clients no\n",
                c.display()
            ),
        };
        let sentinel_conf = passwords.map_or(String::new(), |(master, sentinel)| {
            format!(
                "sentinel auth-pass {MASTER_NAME} {master}\nrequirepass {sentinel}\n\
                 sentinel sentinel-pass {sentinel}\n"
            )
        });
        wait_until(30, "the replica to sync", || {
            master
                .try_cli(&["INFO", "replication"])
                .is_some_and(|i| i.contains("connected_slaves:1") && i.contains("state=online"))
        });
        let sentinels = (0..3)
            .map(|i| {
                let port = super::free_port();
                let dir = std::env::temp_dir()
                    .join(format!("crowd-sentinel-{}-{port}-{i}", std::process::id()));
                std::fs::create_dir_all(&dir).unwrap();
                let conf = dir.join("sentinel.conf");
                std::fs::write(
                    &conf,
                    format!(
                        "{}bind 127.0.0.1\ndir {}\n\
                         sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 2\n\
                         sentinel down-after-milliseconds {MASTER_NAME} 1000\n\
                         sentinel failover-timeout {MASTER_NAME} 5000\n\
                         sentinel parallel-syncs {MASTER_NAME} 1\n{sentinel_conf}",
                        listen(port),
                        dir.display()
                    ),
                )
                .unwrap();
                let child = Command::new("redis-server")
                    .arg(&conf)
                    .arg("--sentinel")
                    .stdout(Stdio::null())
                    .spawn()
                    .expect("redis-server --sentinel runs (apt-get install redis-sentinel)");
                let deadline = Instant::now() + Duration::from_secs(10);
                while TcpStream::connect(("127.0.0.1", port)).is_err() {
                    assert!(Instant::now() < deadline, "a Sentinel did not start");
                    std::thread::sleep(Duration::from_millis(20));
                }
                Sentinel { port, dir, child }
            })
            .collect();
        let sentinels = RedisSentinels {
            master,
            replica,
            sentinels,
            sentinel_password: passwords.map(|(_, sentinel)| sentinel.to_owned()),
            tls_ca: tls.map(|c| c.join("ca.pem")),
        };
        wait_until(
            30,
            "the Sentinels to know each other and the replica",
            || {
                sentinels.sentinels.iter().all(|s| {
                    let info = sentinels.sentinel_cli(s.port, &["SENTINEL", "MASTER", MASTER_NAME]);
                    let value = |name: &str| {
                        let lines: Vec<&str> = info.lines().collect();
                        lines
                            .iter()
                            .position(|l| *l == name)
                            .and_then(|at| lines.get(at + 1).map(|v| v.to_string()))
                    };
                    value("num-other-sentinels").as_deref() == Some("2")
                        && value("num-slaves").as_deref() == Some("1")
                })
            },
        );
        sentinels
    }

    /// `redis+sentinel://` through the three Sentinels.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .sentinels
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.port))
            .collect();
        format!("redis+sentinel://{}/{MASTER_NAME}", hosts.join(","))
    }

    /// The port the Sentinels give for the master now.
    pub fn master_port(&self) -> Option<u16> {
        let reply = self.sentinel_cli(
            self.sentinels[0].port,
            &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME],
        );
        reply.lines().nth(1)?.trim().parse().ok()
    }

    /// kill -9 of the master; waits until the Sentinels promoted the
    /// replica and it answers as a master.
    pub fn kill_master(&mut self) {
        self.master.kill();
        let replica = self.replica.port;
        wait_until(60, "the Sentinels to promote the replica", || {
            self.master_port() == Some(replica)
                && self
                    .replica
                    .try_cli(&["ROLE"])
                    .is_some_and(|role| role.starts_with("master"))
        });
    }
}

impl RedisSentinels {
    fn sentinel_cli(&self, port: u16, args: &[&str]) -> String {
        let mut cli = Command::new("redis-cli");
        cli.args(["-p", &port.to_string()]);
        if let Some(ca) = &self.tls_ca {
            cli.arg("--tls").arg("--cacert").arg(ca);
        }
        if let Some(password) = &self.sentinel_password {
            cli.args(["--no-auth-warning", "-a", password]);
        }
        let out = cli.args(args).output().expect("redis-cli runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for RedisSentinels {
    fn drop(&mut self) {
        for sentinel in &mut self.sentinels {
            let _ = sentinel.child.kill();
            let _ = sentinel.child.wait();
            let _ = std::fs::remove_dir_all(&sentinel.dir);
        }
    }
}
