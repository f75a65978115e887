"""crowd_envelope.redis on more than one redis-server (tests/topology.py
starts them): redis-py's `RedisCluster` through a node that does not own the
stream's slot (publish, read, follow, consume_group), and a client from `Sentinel(...).master_for(...)`; a follower
goes on across `kill -9` of the stream's master, every entry once and in
order."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.sentinel import Sentinel

from crowd_envelope.group import consume_group, dead_letter_key
from crowd_envelope.redis import (
    NotReplicatedError,
    follow_envelopes,
    publish_envelope,
    publish_envelopes,
    read_envelopes,
)
from test_redis import STREAM, envelope

TOPOLOGY = Path(__file__).resolve().parents[2] / "tests" / "topology.py"


def topology(kind: str) -> Iterator[dict[str, Any]]:
    child = subprocess.Popen([sys.executable, str(TOPOLOGY), kind], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert child.stdout is not None and child.stdin is not None
    line = child.stdout.readline()
    assert line, f"tests/topology.py {kind} started"
    try:
        yield json.loads(line)
    finally:
        child.stdin.close()
        child.wait(30)


@pytest.fixture
def cluster() -> Iterator[dict[str, Any]]:
    yield from topology("cluster")


@pytest.fixture
def sentinels() -> Iterator[dict[str, Any]]:
    yield from topology("sentinel")


async def follow_into(client: Any, seen: list[str], n: int) -> None:
    async for _, decoded in follow_envelopes(client, STREAM, last_id="0", block_ms=200, on_error=lambda _: None):
        seen.append(decoded.correlation_id)
        if len(seen) == n:
            return


async def publish_through(client: Any, n: int) -> str:
    """Publishes `envelope(n)`, retrying while the deployment fails over."""
    for attempt in range(200):
        try:
            return await publish_envelope(client, STREAM, envelope(n))
        except Exception:  # noqa: BLE001 - any error of a failover, retried
            if attempt == 199:
                raise
            await asyncio.sleep(0.1)
    raise AssertionError("unreachable")


async def until(seconds: float, ready: Any) -> None:
    for _ in range(int(seconds * 10)):
        if ready():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


async def follow_across_a_kill(client: Any, pid: int) -> None:
    """A follower of the three entries there; `kill -9` of `pid` (the
    stream's master); three more published: the follower has all six, once
    each, in order."""
    seen: list[str] = []
    follower = asyncio.create_task(follow_into(client, seen, 6))
    await until(30, lambda: len(seen) >= 3)
    os.kill(pid, signal.SIGKILL)
    for n in range(3, 6):
        await publish_through(client, n)
    await asyncio.wait_for(follower, 60)
    assert seen == [f"c-{n}" for n in range(6)], "once each, in order"


def test_redis_cluster_through_a_node_that_does_not_own_the_stream(cluster: dict[str, Any]) -> None:
    async def scenario() -> None:
        client = RedisCluster(host="127.0.0.1", port=cluster["other"]["port"])
        ids = await publish_envelopes(client, STREAM, [envelope(n) for n in range(3)])
        # redis-py sends WAIT to every master of a cluster: refused, before
        # anything is written.
        with pytest.raises(TypeError, match="wait_replicas needs the connection that wrote"):
            await publish_envelope(client, STREAM, envelope(9), wait_replicas=1)
        newest = await read_envelopes(client, STREAM, 10)
        assert [entry_id for entry_id, _ in newest] == ids[::-1]
        # A group consumer: its scripts touch the stream, its dead letters
        # and attempt counts together, which share the stream's slot.
        bad = await client.xadd(STREAM, {"data": "{bad"})
        handled: list[str] = []
        failures = 0

        def handle(_: str, decoded: Any) -> None:
            nonlocal failures
            if decoded.correlation_id == "c-0" and failures == 0:
                failures += 1
                raise RuntimeError("once")
            handled.append(decoded.correlation_id)

        stats = await consume_group(client, STREAM, handle, group="bots", consumer="c", start_id="0", limit=4,
                                    retry_delay_ms=10, block_ms=100)
        assert handled == ["c-1", "c-2", "c-0"], "the failed one retried after the rest of its batch"
        assert (stats.handled, stats.failed, stats.dead_lettered) == (3, 1, {"invalid_json": 1})
        assert await client.xlen(dead_letter_key(STREAM)) == 1
        assert await client.xpending_range(STREAM, "bots", "-", "+", 10) == []
        await client.xdel(STREAM, bad)
        await follow_across_a_kill(client, cluster["owner"]["pid"])
        await client.aclose()

    asyncio.run(scenario())


def test_a_sentinel_master_for_client_follows_the_promoted_replica(sentinels: dict[str, Any]) -> None:
    async def scenario() -> None:
        sentinel = Sentinel([("127.0.0.1", port) for port in sentinels["sentinels"]], socket_timeout=2)
        client = sentinel.master_for(sentinels["name"])
        ids = await publish_envelopes(client, STREAM, [envelope(n) for n in range(2)], wait_replicas=1,
                                      wait_timeout_ms=3000)
        ids.append(await publish_envelope(client, STREAM, envelope(2), wait_replicas=1, wait_timeout_ms=3000))
        with pytest.raises(NotReplicatedError) as refused:
            await publish_envelope(client, STREAM, envelope(9), wait_replicas=2, wait_timeout_ms=200)
        assert (refused.value.replicas, refused.value.wanted, len(refused.value.ids)) == (1, 2, 1)
        assert "but 1 of the 2 replica(s)" in str(refused.value)
        await client.xdel(STREAM, *refused.value.ids)
        with pytest.raises(NotReplicatedError) as refused:
            await publish_envelopes(client, STREAM, [envelope(8), envelope(9)], wait_replicas=2, wait_timeout_ms=200)
        assert len(refused.value.ids) == 2
        await client.xdel(STREAM, *refused.value.ids)
        assert [entry_id for entry_id, _ in await read_envelopes(client, STREAM, 10)] == ids[::-1]
        await follow_across_a_kill(client, sentinels["master"]["pid"])
        replica = sentinel.master_for(sentinels["name"])
        assert await replica.xlen(STREAM) == 6
        assert (await sentinel.discover_master(sentinels["name"]))[1] == sentinels["replica"]["port"]
        await client.aclose()

    asyncio.run(scenario())
