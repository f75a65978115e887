"""`make bench`, more than one Redis (issue 29): the program's `publish
--lines` and `tail -f --json` through a Redis Cluster of 3 masters and 3
replicas (tests/topology.py), reached through a node that does not own the
stream, beside the same on one redis-server: in one run, alternating rounds,
medians and the cluster/single ratio. Prints JSON on stdout, progress on
stderr.

    python benches/cluster.py BIN PORT PAYLOAD_JSON [ENTRIES] [ROUNDS]

PORT is the single server's (the one benches/run.sh started). The cluster's
nodes keep an append-only file with fsync every second (Redis's default),
the single server none: the ratio is the cost of the cluster and its
replication both, as a cluster user would run it.
"""

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from transport import STREAM, arguments, say, tail_pipe, timed  # noqa: E402

TOPOLOGY = Path(__file__).resolve().parent.parent / "tests" / "topology.py"


def main():
    binary, port, _, entries, rounds, _, lines_path = arguments("cluster-lines.jsonl")
    say("starting a cluster of 3 masters and 3 replicas (tests/topology.py)")
    topology = subprocess.Popen([sys.executable, str(TOPOLOGY), "cluster", "everysec"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE)
    where = json.loads(topology.stdout.readline())
    targets = {
        "single": (f"redis://127.0.0.1:{port}", redis.Redis(port=port)),
        "cluster": (f"redis+cluster://127.0.0.1:{where['other']['port']}",
                    redis.RedisCluster(host="127.0.0.1", port=where["other"]["port"])),
    }
    rates = {f"{job}.{target}": [] for job in ("publish", "tail") for target in targets}
    try:
        for round_ in range(rounds):
            say(f"round {round_ + 1}/{rounds}: {entries} entries each")
            order = list(targets.items())
            for target, (url, client) in order if round_ % 2 == 0 else reversed(order):
                env = {**os.environ, "CROWD_REDIS_URL": url, "CROWD_STREAM": STREAM}
                client.delete(STREAM)
                with open(lines_path, "rb") as stdin:
                    seconds = timed(lambda: subprocess.run([binary, "publish", "--lines"], stdin=stdin,
                                                           stdout=subprocess.DEVNULL, env=env, check=True))
                rates[f"publish.{target}"].append(entries / seconds)
                assert client.xlen(STREAM) == entries
                rates[f"tail.{target}"].append(entries / tail_pipe(binary, url, entries))
                client.delete(STREAM)
    finally:
        topology.stdin.close()
        topology.wait(60)
    median = {name: statistics.median(values) for name, values in rates.items()}
    print(json.dumps({
        "entries": entries,
        "rounds": rounds,
        "perSecond": rates,
        "median": median,
        "ratios": {job: median[f"{job}.cluster"] / median[f"{job}.single"] for job in ("publish", "tail")},
    }, indent=2))


if __name__ == "__main__":
    main()
