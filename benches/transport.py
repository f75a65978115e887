"""`make bench`, transport (issue 30): the program's `publish --lines`,
`consume` and `tail -f --json` beside the naive redis-py code a user could
write instead, and redis-benchmark's `XADD` with the same payload: all in
one run, in alternating rounds, medians and ratios. Prints JSON on stdout,
progress on stderr.

    python benches/transport.py BIN PORT PAYLOAD_JSON [ENTRIES] [ROUNDS]

The naive code validates with the Pydantic model of tests/reference (the
seed's model, as a user of the first version had it) and is shown below as
it would be written: XREADGROUP COUNT 500, one XACK per batch; a pipeline of
500 XADDs; XREAD COUNT 500.
"""

import json
import os
import resource
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import asyncio

import redis
import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "reference"))
import crowd_reference as ref  # noqa: E402

STREAM = "bench:transport"
BATCH = 500


def say(message):
    print(f"bench (transport): {message}", file=sys.stderr, flush=True)


def naive_publish(r, lines):
    """Pydantic builds each envelope, redis-py pipelines 500 XADDs."""
    pipe = r.pipeline(transaction=False)
    for n, line in enumerate(lines, 1):
        prediction = ref.CrowdPrediction.model_validate_json(line)
        kind, decision = ref.decide(prediction)
        envelope = ref.Envelope(prediction=prediction, decision=decision, decision_kind=kind)
        pipe.xadd(STREAM, {"data": envelope.model_dump_json()})
        if n % BATCH == 0:
            pipe.execute()
    pipe.execute()


def naive_consume(r, group, entries):
    """XREADGROUP COUNT 500, Pydantic per entry, one XACK per batch."""
    r.xgroup_create(STREAM, group, id="0")
    handled = 0
    while handled < entries:
        reply = r.xreadgroup(group, "naive", {STREAM: ">"}, count=BATCH, block=1000)
        if not reply:
            continue
        ids = []
        for entry_id, fields in reply[0][1]:
            ref.Envelope.model_validate_json(fields[b"data"])
            ids.append(entry_id)
        r.xack(STREAM, group, *ids)
        handled += len(ids)


def naive_follow(r, entries):
    """XREAD COUNT 500 from the start, Pydantic per entry."""
    last, seen = "0", 0
    while seen < entries:
        reply = r.xread({STREAM: last}, count=BATCH, block=1000)
        if not reply:
            continue
        for entry_id, fields in reply[0][1]:
            ref.Envelope.model_validate_json(fields[b"data"])
            last = entry_id
            seen += 1


SHARES = {}
"""Of each package's publish, the share of its time spent building the envelopes, per run."""


def npm(*args):
    """benches/js/group-bench.mjs: the npm package, timed inside Node."""
    script = Path(__file__).resolve().parent / "js" / "group-bench.mjs"
    out = json.loads(subprocess.run(["node", str(script), *map(str, args)], capture_output=True, text=True,
                                    check=True).stdout)
    if args[0] == "publish":
        SHARES.setdefault("npmPublish", []).append(out["buildSeconds"] / out["seconds"])
    return out["seconds"]


def python_consume(url, group, entries):
    """The Python package's consume_group, a no-op handler, 500 per read."""
    from crowd_envelope.group import consume_group

    async def work():
        client = aioredis.from_url(url)
        stats = await consume_group(client, STREAM, lambda _, __: None, group=group, consumer="py",
                                    start_id="0", limit=entries, count=BATCH)
        assert stats.handled == entries, stats
        await client.aclose()

    return timed(lambda: asyncio.run(work()))


def python_publish(url, lines):
    """The Python package builds each envelope; publish_envelopes pipelines them."""
    import crowd_envelope as ce
    from crowd_envelope.redis import publish_envelopes

    async def work():
        client = aioredis.from_url(url)
        start = time.perf_counter()
        envelopes = [ce.build_envelope(json.loads(line)) for line in lines]
        built = time.perf_counter() - start
        await publish_envelopes(client, STREAM, envelopes)
        SHARES.setdefault("pyPublish", []).append(built / (time.perf_counter() - start))
        await client.aclose()

    return timed(lambda: asyncio.run(work()))


def lua_cost(r, entries):
    """What a script that reads entries costs Redis, per entry (the group
    scripts read every batch in Lua, to leave a payload over the size limit
    in Redis): 500 entries by XRANGE, by EVAL returning them, and by EVAL
    returning only their number, in microseconds of Redis's own time."""
    plain = "return redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 500)"
    count = "return #redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 500)"
    cost = {}
    for name, job in [("xrange", lambda: r.execute_command("XRANGE", STREAM, "-", "+", "COUNT", 500)),
                      ("evalReturning", lambda: r.eval(plain, 1, STREAM)),
                      ("evalCounting", lambda: r.eval(count, 1, STREAM))]:
        r.config_resetstat()
        for _ in range(20):
            job()
        stats = r.info("commandstats")
        command = "cmdstat_xrange" if name == "xrange" else "cmdstat_eval"
        cost[name] = stats[command]["usec_per_call"] / min(500, entries)
    return cost


def timed(work):
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


class Cost:
    """Where one of the program's runs spent its time, per entry: CPU in
    the program (its user + system time) and in Redis (the server's, from
    INFO cpu: commands, scripts and networking), and the commands it got."""

    def __init__(self, r):
        self.r = r
        self.runs = {}

    def measure(self, name, entries, job):
        self.r.config_resetstat()
        server_before = self.server_cpu()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        elapsed = job()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        server = (self.server_cpu() - server_before) * 1e6
        stats = self.r.info("commandstats")
        for own in ("cmdstat_config|resetstat", "cmdstat_info"):
            stats.pop(own, None)
        program = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1e6
        self.runs.setdefault(name, []).append({
            "programMicros": program / entries,
            "redisMicros": server / entries,
            # Time inside EVALSHA (scripts and what they call), per entry.
            "scriptMicros": stats.get("cmdstat_evalsha", {}).get("usec", 0) / entries,
            "commands": {name: stat["calls"] for name, stat in stats.items()},
        })
        return elapsed

    def server_cpu(self):
        cpu = self.r.info("cpu")
        return cpu["used_cpu_user"] + cpu["used_cpu_sys"]


def run(args, stdin=None):
    with open(os.devnull, "wb") as null:
        subprocess.run(args, stdin=stdin, stdout=null, check=True)


def tail_pipe(binary, url, entries):
    """`tail -f --json --from 0` read from its pipe until `entries` lines."""
    start = time.perf_counter()
    child = subprocess.Popen(
        [binary, "tail", "-f", "--json", "--from", "0"],
        stdout=subprocess.PIPE,
        env={**os.environ, "CROWD_REDIS_URL": url, "CROWD_STREAM": STREAM},
    )
    seen, fd = 0, child.stdout.fileno()
    while seen < entries:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            raise SystemExit("tail ended early")
        seen += chunk.count(b"\n")
    elapsed = time.perf_counter() - start
    child.terminate()
    child.wait()
    return elapsed


def redis_benchmark(port, payload, entries):
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-c", "1", "-P", "100", "-n", str(entries),
         "--csv", "XADD", "bench:ceiling", "*", "data", payload],
        capture_output=True, text=True, check=True,
    ).stdout.strip().splitlines()[-1]
    # "test","rps", then six latencies: the test's name holds the payload,
    # quotes unescaped, so rps is counted from the end (as report.mjs does).
    return float(re.findall(r'"([\d.]+)"', out)[-7])


def arguments(lines_name):
    """BIN PORT PAYLOAD_JSON [ENTRIES] [ROUNDS], and a file of ENTRIES lines
    of the payload's prediction beside PAYLOAD_JSON, named `lines_name`:
    (binary, port, payload, entries, rounds, lines, lines_path)."""
    binary, port, payload_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    entries = int(sys.argv[4]) if len(sys.argv) > 4 else 50_000
    rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    payload = Path(payload_path).read_text()
    lines = [json.dumps(json.loads(payload)["prediction"])] * entries
    lines_path = Path(payload_path).with_name(lines_name)
    lines_path.write_text("\n".join(lines) + "\n")
    return binary, port, payload, entries, rounds, lines, lines_path


def main():
    binary, port, payload, entries, rounds, lines, lines_path = arguments("transport-lines.jsonl")
    url = f"redis://127.0.0.1:{port}"
    env = {**os.environ, "CROWD_REDIS_URL": url, "CROWD_STREAM": STREAM}
    r = redis.Redis(port=port)
    cost = Cost(r)
    rates = {name: [] for name in (
        "xaddCeiling", "publish", "naivePublish", "npmPublish", "pyPublish",
        "consume", "naiveConsume", "npmConsume", "pyConsume", "tail", "naiveFollow")}

    def ours_publish():
        r.delete(STREAM)
        with open(lines_path, "rb") as stdin:
            return cost.measure("publish", entries, lambda: timed(lambda: subprocess.run(
                [binary, "publish", "--lines"], stdin=stdin, stdout=subprocess.DEVNULL,
                env=env, check=True)))

    def theirs_publish():
        r.delete(STREAM)
        return timed(lambda: naive_publish(r, lines))

    for round_ in range(rounds):
        say(f"round {round_ + 1}/{rounds}: {entries} entries each")
        rates["xaddCeiling"].append(redis_benchmark(port, payload, entries))
        # Alternating which goes first, so neither always meets a warm server.
        def fresh(job):
            r.delete(STREAM)
            return job()

        pair = [
            ("publish", ours_publish),
            ("naivePublish", theirs_publish),
            ("npmPublish", lambda: fresh(lambda: npm("publish", url, STREAM, lines_path))),
            ("pyPublish", lambda: fresh(lambda: python_publish(url, lines))),
        ]
        for name, job in pair if round_ % 2 == 0 else reversed(pair):
            rates[name].append(entries / job())
            assert r.xlen(STREAM) == entries, name
        group = f"g{round_}"
        consume = [
            ("consume", lambda: cost.measure("consume", entries, lambda: timed(
                lambda: subprocess.run(
                    [binary, "consume", "--group", group + "-ours", "--from", "0",
                     "--limit", str(entries), "--count", str(BATCH)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                    check=True)))),
            ("naiveConsume", lambda: timed(lambda: naive_consume(r, group + "-naive", entries))),
            ("npmConsume", lambda: npm("consume", url, STREAM, group + "-npm", entries)),
            ("pyConsume", lambda: python_consume(url, group + "-py", entries)),
            ("tail", lambda: cost.measure(
                "tail", entries, lambda: tail_pipe(binary, url, entries))),
            ("naiveFollow", lambda: timed(lambda: naive_follow(r, entries))),
        ]
        for name, job in consume if round_ % 2 == 0 else reversed(consume):
            rates[name].append(entries / job())
    say("Redis: reading entries in Lua")
    lua = lua_cost(r, entries)
    say("consume --exec true: a process per entry")
    exec_entries = min(entries, 3000)
    exec_rates = []
    for round_ in range(rounds):
        exec_rates.append(exec_entries / timed(lambda: subprocess.run(
            [binary, "consume", "--group", f"exec{round_}", "--from", "0",
             "--limit", str(exec_entries), "--exec", "true"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)))
    r.delete(STREAM, "bench:ceiling")
    median = {name: statistics.median(values) for name, values in rates.items()}
    print(json.dumps({
        "entries": entries,
        "rounds": rounds,
        "payloadBytes": len(payload.encode()),
        "perSecond": rates,
        "median": median,
        "exec": {"entries": exec_entries, "perSecond": statistics.median(exec_rates)},
        "luaMicrosPerEntry": lua,
        "buildShare": {name: statistics.median(values) for name, values in SHARES.items()},
        "cost": {
            name: {
                "programMicros": statistics.median(run["programMicros"] for run in runs),
                "redisMicros": statistics.median(run["redisMicros"] for run in runs),
                "scriptMicros": statistics.median(run["scriptMicros"] for run in runs),
                "commands": runs[-1]["commands"],
            }
            for name, runs in cost.runs.items()
        },
        "ratios": {
            "publishOverCeiling": median["publish"] / median["xaddCeiling"],
            "publishOverNaive": median["publish"] / median["naivePublish"],
            "consumeOverNaive": median["consume"] / median["naiveConsume"],
            "npmConsumeOverNaive": median["npmConsume"] / median["naiveConsume"],
            "pyConsumeOverNaive": median["pyConsume"] / median["naiveConsume"],
            "npmPublishOverNaive": median["npmPublish"] / median["naivePublish"],
            "pyPublishOverNaive": median["pyPublish"] / median["naivePublish"],
            "tailOverNaive": median["tail"] / median["naiveFollow"],
        },
    }, indent=2))


if __name__ == "__main__":
    main()
