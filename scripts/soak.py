#!/usr/bin/env python3
"""`make soak`: the chaos soak of issue 26, against the real program.

For SOAK_MINUTES (default 10) a producer publishes valid and hostile entries
to a real redis-server (AOF, fsync always) while two `crowd-envelope consume`
processes share a group and one `crowd-envelope tail -f --json` follows the
stream. Every few seconds one fault, drawn from SOAK_SEED: kill -9 of Redis
(restarted from its AOF), kill -9 of a consumer (a new one takes its place),
a consumer stopped (SIGSTOP) longer than the claim time, or a trim of entries
nobody has read yet (everyone stopped while the producer goes on).

Then the exact accounting, where every published entry is told once:
- the group: each valid entry handled at least once, or dead-lettered once as
  `deleted` (trimmed while pending), or inside a reported `trimmed` gap; each
  hostile entry dead-lettered exactly once or inside a gap; each gap's count
  equal to the entries published in it; each duplicate handling attributed to
  a fault (the first handler killed or stopped, or Redis killed) between the
  two handlings;
- the follower: each entry shown (valid), skipped (hostile) or inside a
  reported gap, in order, never twice, with exact gap counts;
- memory flat: a process that lived through the run grew at most
  SOAK_RSS_GROWTH_MIB (default 24) from its first minute to its last.

Progress goes to stderr every 30 s; the figures to target/soak/report.json
and docs/soak-stats.json (the bench report quotes them). Exit status 1 on any
discrepancy, 2 if the harness itself could not run.

The producer chooses each entry's id (XADD with an explicit id), so a publish
whose reply was lost to a Redis kill is retried with the same id: Redis then
either takes it or refuses it as not above the top, which proves it landed.
The set of published entries is therefore known exactly.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(os.environ.get("CROWD_ENVELOPE_BIN", ROOT / "target/debug/crowd-envelope"))
OUT = ROOT / "target/soak"
STREAM = "soak:stream"
GROUP = "soak"
CLAIM_IDLE_MS = 4000
RATE = int(os.environ.get("SOAK_RATE", "200"))  # entries a second
LIMIT = 1 << 20  # the consumers' --max-payload-bytes
CHILDREN: list[subprocess.Popen[Any]] = []  # every process started, killed at the end


def log(message: str) -> None:
    print(f"soak: {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


# ---------------------------------------------------------------- Redis ----


class RedisProcess:
    """One redis-server with its AOF in OUT/redis; kill() is kill -9."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = OUT / "redis"
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self.url = f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
             "--appendonly", "yes", "--appendfsync", "always", "--save", ""],
            stdout=open(self.dir / "redis.log", "ab"), stderr=subprocess.STDOUT)
        CHILDREN.append(self.proc)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_timeout=1).ping():
                    return
            except redis.exceptions.BusyLoadingError:
                pass
            except redis.exceptions.ConnectionError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not come up within 30 s")

    def kill(self) -> None:
        if self.proc:
            self.proc.kill()
            self.proc.wait()

    def client(self, retries: int = 3) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=5, decode_responses=True,
                           retry=Retry(NoBackoff(), retries))


# ------------------------------------------------------------- producer ----


def payloads() -> dict[str, list[bytes]]:
    """Valid envelopes built by the program itself, and hostile entries of
    every kind a consumer must dead-letter (the field name, `data`, is the
    stream's, SPEC.md)."""
    valid = []
    for name in ("fomo2_report", "polymarket_bet", "oddsoddy_strategy"):
        built = subprocess.run([str(BIN), "build", str(ROOT / f"examples/predictions/{name}.json")],
                               check=True, capture_output=True).stdout.strip()
        valid.append(built)
    wrong = valid[0].replace(b'"probability":0.72', b'"probability":7.2')
    assert wrong != valid[0], "the schema-invalid entry must differ from the valid one"
    return {
        "valid": valid,
        "invalid_json": [b'{"schema_version": "1", "arena": '],
        "invalid": [wrong],
        "not_utf8": [b'\xff\xfe{"schema_version":"1"}'],
        "too_large": [b'{"pad":"' + b"x" * (LIMIT + 200_000) + b'"}'],
    }


@dataclass
class Producer:
    redis: RedisProcess
    stop: threading.Event = field(default_factory=threading.Event)
    published: list[tuple[str, str]] = field(default_factory=list)  # (id, kind), in order
    retried: int = 0
    landed_unanswered: int = 0

    def run(self, rng: random.Random) -> None:
        kinds = payloads()
        last = (0, 0)
        # No retries inside redis-py: publish() retries itself, knowing
        # what a lost reply means.
        conn = self.redis.client(retries=0)
        period = 1.0 / RATE
        due = time.monotonic()
        while not self.stop.is_set():
            draw = rng.random()
            kind = ("valid" if draw < 0.95 else "invalid_json" if draw < 0.965 else "invalid"
                    if draw < 0.98 else "not_utf8" if draw < 0.998 else "too_large")
            now = int(time.time() * 1000)
            last = (now, 0) if now > last[0] else (last[0], last[1] + 1)
            entry_id = f"{last[0]}-{last[1]}"
            fields: dict[str, bytes] = {"data": rng.choice(kinds[kind])}
            if kind == "not_utf8" and rng.random() < 0.3:
                fields = {"other": b"no data field"}
                kind = "no_data"
            self.publish(conn, entry_id, fields, kind)
            due += period
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            else:
                due = time.monotonic()

    def publish(self, conn: redis.Redis, entry_id: str, fields: dict[str, bytes], kind: str) -> None:
        answered_once = False
        while True:
            try:
                conn.xadd(STREAM, fields, id=entry_id)  # type: ignore[arg-type]
                break
            except redis.exceptions.ResponseError as e:
                if "equal or smaller" in str(e) and answered_once:
                    self.landed_unanswered += 1  # our earlier attempt landed
                    break
                raise
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                    redis.exceptions.BusyLoadingError):
                answered_once = True
                self.retried += 1
                time.sleep(0.1)
        self.published.append((entry_id, kind))


# ---------------------------------------------------------- the program ----


@dataclass
class Program:
    """A `crowd-envelope` process whose stdout and stderr lines are read as
    they come, each with the time it arrived."""
    name: str
    args: list[str]
    url: str
    out: list[tuple[float, str]] = field(default_factory=list)
    err: list[tuple[float, str]] = field(default_factory=list)
    started: float = 0.0
    rss: list[tuple[float, int]] = field(default_factory=list)
    proc: Optional[subprocess.Popen[str]] = None

    def start(self) -> "Program":
        env = dict(os.environ, CROWD_REDIS_URL=self.url, CROWD_STREAM=STREAM, CROWD_LOG="info")
        self.proc = subprocess.Popen([str(BIN), *self.args], env=env, text=True, bufsize=1,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        CHILDREN.append(self.proc)
        self.started = time.monotonic()
        for stream, sink in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._read, args=(stream, sink), daemon=True).start()
        return self

    def _read(self, stream: Any, sink: list[tuple[float, str]]) -> None:
        for line in stream:
            sink.append((time.monotonic(), line.rstrip("\n")))

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive() and self.proc:
            self.proc.send_signal(sig)

    def sample_rss(self) -> None:
        if not self.alive() or not self.proc:
            return
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        if match:
            self.rss.append((time.monotonic(), int(match.group(1)) * 1024))


def consumer(name: str, url: str) -> Program:
    return Program(name, ["consume", "--group", GROUP, "--from", "0", "--consumer", name,
                          "--claim-idle-ms", str(CLAIM_IDLE_MS), "--retry-delay-ms", "200",
                          "--block-ms", "1000", "--max-payload-bytes", str(LIMIT)], url)


GAP = re.compile(r"(\d+) entries after \S+ were trimmed.* id=(\S+)\.\.(\S+) reason=trimmed")
TAIL_GAP = re.compile(r"skipped (\S+)\.\.(\S+): trimmed: (\d+) entries")
TAIL_SKIP = re.compile(r"skipped (\d+-\d+): (\w+):")


# ----------------------------------------------------------- accounting ----


@dataclass
class Fault:
    at: float
    kind: str  # redis_kill, consumer_kill, consumer_stop, trim
    target: str = ""
    detail: str = ""
    ended: Optional[float] = None  # when a stop ended (SIGCONT)


def in_gap(gaps: list[tuple[tuple[int, int], tuple[int, int], int]], key: tuple[int, int]) -> bool:
    return any(after < key < before for after, before, _ in gaps)


def check_gaps(who: str, gaps: list[tuple[str, str, int]], published: list[tuple[str, str]],
               problems: list[str]) -> list[tuple[tuple[int, int], tuple[int, int], int]]:
    keys = [id_key(i) for i, _ in published]
    spans = sorted((id_key(a), id_key(b), n) for a, b, n in gaps)
    for (a, b, n), nxt in zip(spans, spans[1:] + [None]):
        inside = sum(1 for k in keys if a < k < b)
        if inside != n:
            problems.append(f"{who}: gap {a}..{b} told {n} entries, {inside} were published there")
        if nxt and nxt[0] < b:
            problems.append(f"{who}: gaps {a}..{b} and {nxt[0]}..{nxt[1]} overlap")
    return spans


def account(producer: Producer, consumers: list[Program], follower: Program,
            faults: list[Fault], dead: list[tuple[str, str]]) -> tuple[dict[str, Any], list[str]]:
    problems: list[str] = []
    published = producer.published
    kinds = dict(published)

    # The group.
    handlings: dict[str, list[tuple[float, str]]] = {}
    gaps: list[tuple[str, str, int]] = []
    for c in consumers:
        for at, line in c.out:
            try:
                handled_id = json.loads(line)["id"]
            except (ValueError, KeyError):
                problems.append(f"group: {c.name} printed a line that is not an entry: {line[:80]!r}")
                continue
            handlings.setdefault(handled_id, []).append((at, c.name))
        for _, line in c.err:
            if m := GAP.search(line):
                gaps.append((m.group(2), m.group(3), int(m.group(1))))
    spans = check_gaps("group", gaps, published, problems)
    letters: dict[str, list[str]] = {}
    for original, reason in dead:
        letters.setdefault(original, []).append(reason)
    def explained(handlers: list[tuple[float, str]], until: float) -> bool:
        """A fault that can make an entry go round twice: Redis killed
        between its first handling and `until`, or one of its handlers
        killed or stopped (a stop, from its start to its end, overlapping
        the time from 15 s before the first handling, a claim time and the
        longest stop, to `until`)."""
        first, names = handlers[0][0], {name for _, name in handlers}
        return any((f.kind == "redis_kill" and first - 1 <= f.at <= until + 1)
                   or ((f.target in names or f.target == "all")
                       and f.at <= until + 1 and (f.ended or f.at) >= first - 15)
                   for f in faults)

    duplicates = attributed = handled_then_deleted = 0
    for entry_id, kind in published:
        handled = sorted(handlings.get(entry_id, []))
        reasons = letters.get(entry_id, [])
        gapped = in_gap(spans, id_key(entry_id))
        if gapped and (handled or reasons):
            problems.append(f"group: {entry_id} is inside a told gap but was read ({len(handled)} handled, {reasons})")
        elif kind == "valid":
            if not handled and reasons != ["deleted"] and not gapped:
                problems.append(f"group: valid {entry_id} lost (handled 0, dead letters {reasons})")
            if handled and reasons:
                # Handled, its handler killed before the acknowledgement,
                # then trimmed: the claim finds it gone.
                if reasons == ["deleted"] and explained(handled, time.monotonic()):
                    handled_then_deleted += 1
                else:
                    problems.append(f"group: valid {entry_id} handled and dead-lettered {reasons}")
        else:
            if handled:
                problems.append(f"group: hostile {entry_id} ({kind}) was handled")
            if len(reasons) != 1 and not gapped:
                problems.append(f"group: hostile {entry_id} ({kind}) dead-lettered {len(reasons)} times")
        for at, _ in handled[1:]:
            duplicates += 1
            if explained([h for h in handled if h[0] <= at], at):
                attributed += 1
            else:
                problems.append(f"group: {entry_id} handled twice ({handled}) with no fault to explain it")
    strays = set(handlings) - set(kinds)
    if strays:
        problems.append(f"group: {len(strays)} handled ids were never published, e.g. {sorted(strays)[:3]}")

    # The follower.
    seen = [json.loads(line)["id"] for _, line in follower.out if line.startswith('{"id"')]
    skipped: dict[str, str] = {}
    tail_gaps = []
    for _, line in follower.err:
        if m := TAIL_GAP.search(line):
            tail_gaps.append((m.group(1), m.group(2), int(m.group(3))))
        elif m := TAIL_SKIP.search(line):
            skipped[m.group(1)] = m.group(2)
    if any(id_key(a) >= id_key(b) for a, b in zip(seen, seen[1:])):
        problems.append("follower: entries out of order or shown twice")
    follower_spans = check_gaps("follower", tail_gaps, published, problems)
    shown = set(seen)
    for entry_id, kind in published:
        told = (entry_id in shown) + (entry_id in skipped) + in_gap(follower_spans, id_key(entry_id))
        if told != 1:
            problems.append(f"follower: {entry_id} ({kind}) told {told} times")
        elif kind == "valid" and entry_id not in shown and entry_id in skipped:
            problems.append(f"follower: valid {entry_id} skipped as {skipped[entry_id]}")
        elif kind != "valid" and entry_id in shown:
            problems.append(f"follower: hostile {entry_id} ({kind}) shown")

    # Memory: a process alive for at least three minutes, its first minute
    # (after 30 s of warm-up) against its last.
    growth_limit = int(os.environ.get("SOAK_RSS_GROWTH_MIB", "24")) << 20
    memory = {}
    for p in [follower, *consumers]:
        if len(p.rss) < 2 or p.rss[-1][0] - p.rss[0][0] < 180:
            continue
        start, end = p.rss[0][0], p.rss[-1][0]
        early = max(r for t, r in p.rss if start + 30 <= t <= start + 90)
        late = max(r for t, r in p.rss if t >= end - 60)
        memory[p.name] = {"early_mib": round(early / 2**20, 1), "late_mib": round(late / 2**20, 1)}
        if late - early > growth_limit:
            problems.append(f"memory: {p.name} grew from {early >> 20} MiB to {late >> 20} MiB")

    counts: dict[str, int] = {}
    for _, kind in published:
        counts[kind] = counts.get(kind, 0) + 1
    valid_handled = sum(1 for i, k in published if k == "valid" and handlings.get(i))
    report = {
        "published": len(published),
        "by_kind": counts,
        "publishes_retried": producer.retried,
        "publishes_landed_unanswered": producer.landed_unanswered,
        "faults": {k: sum(1 for f in faults if f.kind == k) for k in sorted({f.kind for f in faults})},
        "group": {
            "valid_handled": valid_handled,
            "handled_twice": duplicates,
            "handled_twice_attributed": attributed,
            "handled_then_dead_lettered_deleted": handled_then_deleted,
            "dead_letters": len(dead),
            "dead_letters_by_reason": {r: sum(1 for _, x in dead if x == r) for r in sorted({x for _, x in dead})},
            "gaps": len(gaps),
            "trimmed_unread": sum(n for _, _, n in gaps),
        },
        "follower": {
            "shown": len(seen),
            "skipped": len(skipped),
            "gaps": len(tail_gaps),
            "trimmed_unread": sum(n for _, _, n in tail_gaps),
        },
        "memory": memory,
        "discrepancies": len(problems),
    }
    return report, problems


# ---------------------------------------------------------------- chaos ----


def main() -> int:
    minutes = float(os.environ.get("SOAK_MINUTES", "10"))
    seed = int(os.environ.get("SOAK_SEED", str(random.randrange(1 << 30))))
    rng = random.Random(seed)
    if not BIN.exists():
        log(f"no program at {BIN}: run `make build` first")
        return 2
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    log(f"{minutes} min, seed {seed}, {RATE} entries/s, claim time {CLAIM_IDLE_MS} ms")

    server = RedisProcess()
    server.start()
    serial = iter(range(1, 1 << 30))
    consumers = [consumer(f"c{next(serial)}", server.url).start() for _ in range(2)]
    follower = Program("follower", ["tail", "-f", "--json", "--from", "0", "--block-ms", "1000",
                                    "--max-payload-bytes", str(LIMIT)], server.url).start()
    admin = server.client()
    deadline = time.monotonic() + 30
    while not any(g["name"] == GROUP for g in groups(admin)):
        if time.monotonic() > deadline:
            log("the consumers did not create their group within 30 s")
            return 2
        time.sleep(0.1)

    producer = Producer(server)
    producing = threading.Thread(target=producer.run, args=(rng,), daemon=True)
    producing.start()
    faults: list[Fault] = []
    began = time.monotonic()
    end = began + minutes * 60
    next_fault = began + rng.uniform(5, 10)
    next_progress = began + 30
    while time.monotonic() < end:
        time.sleep(0.5)
        now = time.monotonic()
        for p in [follower, *consumers]:
            p.sample_rss()
        if not producing.is_alive():
            log("the producer stopped")
            return 2
        if not follower.alive():
            log(f"the follower exited: {follower.err[-3:]}")
            return 2
        if now >= next_progress:
            next_progress += 30
            log(f"{int(now - began)} s: {len(producer.published)} published, faults "
                f"{ {k: sum(1 for f in faults if f.kind == k) for k in {f.kind for f in faults}} }")
        if now < next_fault:
            continue
        next_fault = now + rng.uniform(6, 14)
        kind = rng.choice(["redis_kill", "consumer_kill", "consumer_kill", "consumer_stop", "trim", "trim"])
        live = [c for c in consumers if c.alive()]
        if kind == "redis_kill":
            faults.append(Fault(time.monotonic(), kind))
            server.kill()
            time.sleep(rng.uniform(0.5, 3))
            server.start()
        elif kind == "consumer_kill":
            victim = rng.choice(live)
            victim.signal(signal.SIGKILL)
            faults.append(Fault(time.monotonic(), kind, victim.name))
            time.sleep(rng.uniform(0.2, 2))
            consumers.append(consumer(f"c{next(serial)}", server.url).start())
        elif kind == "consumer_stop":
            victim = rng.choice(live)
            stop = Fault(time.monotonic(), kind, victim.name)
            faults.append(stop)
            victim.signal(signal.SIGSTOP)
            time.sleep(CLAIM_IDLE_MS / 1000 + rng.uniform(1, 4))
            victim.signal(signal.SIGCONT)
            stop.ended = time.monotonic()
        else:
            # Everyone stops while the producer goes on; then all but the
            # newest few hundred entries go, most of them unread.
            stopped = [follower, *live]
            for p in stopped:
                p.signal(signal.SIGSTOP)
            time.sleep(rng.uniform(1, 3))
            keep = rng.randint(50, 300)
            try:
                trimmed = admin.xtrim(STREAM, maxlen=keep, approximate=False)
            except redis.exceptions.RedisError as e:
                trimmed = f"failed: {e}"
            faults.append(Fault(time.monotonic(), kind, "all", f"kept {keep}, trimmed {trimmed}"))
            for p in stopped:
                p.signal(signal.SIGCONT)

    producer.stop.set()
    producing.join()
    log(f"faults done; {len(producer.published)} published; waiting for the group and follower to catch up")
    last = producer.published[-1][0]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = next((g for g in groups(admin) if g["name"] == GROUP), None)
        told = [line for _, line in follower.out + follower.err if last in line]
        if state and state["pending"] == 0 and state.get("lag") == 0 and told:
            break
        time.sleep(1)
    else:
        log("the group or the follower did not catch up within 120 s")
    for p in [follower, *consumers]:
        p.signal(signal.SIGINT)
    for p in [follower, *consumers]:
        if p.proc:
            try:
                p.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.proc.kill()
    time.sleep(0.5)  # the readers take the last lines
    # A dead letter may hold a payload that is not UTF-8: read it as bytes.
    raw = redis.Redis(port=server.port, socket_timeout=30).xrange(f"{{{STREAM}}}:dead")
    dead = [(f.get(b"id", b"?").decode(), f.get(b"reason", b"?").decode()) for _, f in raw]
    report, problems = account(producer, consumers, follower, faults, dead)
    report.update(minutes=minutes, seed=seed, rate=RATE, claim_idle_ms=CLAIM_IDLE_MS,
                  finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    (OUT / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (OUT / "faults.json").write_text(json.dumps([f.__dict__ for f in faults], indent=2) + "\n")
    for p in [follower, *consumers]:
        (OUT / f"{p.name}.err").write_text("\n".join(line for _, line in p.err) + "\n")
    if minutes >= 10:
        (ROOT / "docs/soak-stats.json").write_text(json.dumps(report, indent=2) + "\n")
    server.kill()
    log(json.dumps(report))
    for problem in problems[:50]:
        log(f"DISCREPANCY: {problem}")
    log(f"{len(problems)} discrepancies; figures in {OUT / 'report.json'}")
    return 1 if problems else 0


def groups(conn: redis.Redis) -> list[dict[str, Any]]:
    try:
        return list(conn.xinfo_groups(STREAM))
    except redis.exceptions.RedisError:
        return []


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        # Nothing outlives the soak, whatever ended it.
        for child in CHILDREN:
            if child.poll() is None:
                child.kill()
