#!/usr/bin/env python3
"""More than one redis-server, for the npm and Python tests (the Rust tests
have their own, tests/common/redis_cluster.rs):

    python3 tests/topology.py cluster    # 3 masters + 3 replicas
    python3 tests/topology.py sentinel   # a master, a replica, 3 Sentinels
    python3 tests/topology.py cluster everysec   # fsync once a second (benches)

Starts every process on free loopback ports, waits until the deployment is
healthy, prints one JSON line saying where each process is, then keeps them
running until its standard input closes (the test ended, or died) or it is
sent SIGTERM, and kills them all. Standard library only.

cluster: {"nodes": [{"port", "pid"}...], "owner": {"port", "pid"} (the
master of the default stream's slot), "other": a master that is not it}
sentinel: {"master", "replica": {"port", "pid"}, "sentinels": [ports],
"name": the master's name}
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Callable

STREAM = "maf:arena:crowd_simulation:output"
NAME = "main"
# Every node's appendfsync: always (nothing acknowledged is lost to a kill -9)
# unless told otherwise.
FSYNC = sys.argv[2] if len(sys.argv) > 2 else "always"
children: list[subprocess.Popen[bytes]] = []
scratch = tempfile.mkdtemp(prefix="crowd-topology-")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_cluster_port() -> int:
    """A port whose cluster bus port, 10000 above, exists and is free."""
    while True:
        port = free_port()
        if port <= 55535:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port + 10000)) != 0:
                    return port


def cli(port: int, *args: str) -> str:
    out = subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True, check=False,
                         stdin=subprocess.DEVNULL)
    return out.stdout if out.returncode == 0 else ""


def wait(what: str, ready: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit(f"topology: timed out waiting for {what}")
        time.sleep(0.1)


def spawn(args: list[str], port: int) -> dict[str, int]:
    child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    children.append(child)
    wait(f"port {port}", lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0, 10)
    return {"port": port, "pid": child.pid}


def server(*extra: str, port: int = 0) -> dict[str, int]:
    port = port or free_port()
    folder = os.path.join(scratch, str(port))
    os.makedirs(folder)
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", folder, "--save", "",
            "--appendonly", "yes", "--appendfsync", FSYNC, *extra]
    return spawn(args, port)


def in_sync(port: int) -> bool:
    info = cli(port, "INFO", "replication")
    return "connected_slaves:1" in info and "state=online" in info


def cluster() -> dict[str, object]:
    nodes = [server("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                    "--cluster-node-timeout", "1000", "--cluster-replica-validity-factor", "0",
                    port=free_cluster_port())
             for _ in range(6)]
    subprocess.run(["redis-cli", "--cluster", "create", *[f"127.0.0.1:{n['port']}" for n in nodes],
                    "--cluster-replicas", "1", "--cluster-yes"], capture_output=True, check=True,
                   stdin=subprocess.DEVNULL)
    slot = int(cli(nodes[0]["port"], "CLUSTER", "KEYSLOT", STREAM))

    def masters() -> list[tuple[int, list[tuple[int, int]]]]:
        out = []
        for line in cli(nodes[0]["port"], "CLUSTER", "NODES").splitlines():
            parts = line.split()
            if len(parts) > 8 and "master" in parts[2]:
                ranges = [tuple(int(x) for x in (r.split("-") * 2)[:2]) for r in parts[8:] if r[0].isdigit()]
                out.append((int(parts[1].split(":")[1].split("@")[0]), ranges))
        return out

    wait("the cluster", lambda: all("cluster_state:ok" in cli(n["port"], "CLUSTER", "INFO") for n in nodes)
         and len(masters()) == 3 and all(in_sync(port) for port, _ in masters()))
    owner = next(port for port, ranges in masters() if any(a <= slot <= b for a, b in ranges))
    other = next(port for port, _ in masters() if port != owner)
    by_port = {n["port"]: n for n in nodes}
    return {"nodes": nodes, "owner": by_port[owner], "other": by_port[other]}


def sentinel() -> dict[str, object]:
    master = server()
    replica = server("--replicaof", "127.0.0.1", str(master["port"]))
    wait("the replica", lambda: in_sync(master["port"]))
    sentinels = []
    for _ in range(3):
        port = free_port()
        conf = os.path.join(scratch, f"sentinel-{port}.conf")
        with open(conf, "w", encoding="utf-8") as out:
            out.write(f"port {port}\nbind 127.0.0.1\ndir {scratch}\n"
                      f"sentinel monitor {NAME} 127.0.0.1 {master['port']} 2\n"
                      f"sentinel down-after-milliseconds {NAME} 1000\n"
                      f"sentinel failover-timeout {NAME} 5000\n")
        spawn(["redis-server", conf, "--sentinel"], port)
        sentinels.append(port)

    def known(port: int) -> bool:
        lines = cli(port, "SENTINEL", "MASTER", NAME).splitlines()
        value = {lines[i]: lines[i + 1] for i in range(0, len(lines) - 1, 2)}
        return value.get("num-other-sentinels") == "2" and value.get("num-slaves") == "1"

    wait("the Sentinels", lambda: all(known(port) for port in sentinels))
    return {"master": master, "replica": replica, "sentinels": sentinels, "name": NAME}


def kill_all() -> None:
    for child in children:
        child.kill()
    for child in children:
        child.wait()
    shutil.rmtree(scratch, ignore_errors=True)


def stop(*_: object) -> None:
    kill_all()
    raise SystemExit(0)


def main() -> None:
    signal.signal(signal.SIGTERM, stop)
    kinds = {"cluster": cluster, "sentinel": sentinel}
    if len(sys.argv) not in (2, 3) or sys.argv[1] not in kinds or FSYNC not in ("always", "everysec", "no"):
        print(__doc__, file=sys.stderr)
        raise SystemExit(2)
    try:
        where = kinds[sys.argv[1]]()
        print(json.dumps(where), flush=True)
        sys.stdin.read()
    finally:
        kill_all()


if __name__ == "__main__":
    main()
