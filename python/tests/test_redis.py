"""crowd_envelope.redis against a real redis-server, with redis-py asyncio."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import redis.asyncio as aioredis

import crowd_envelope as ce
from crowd_envelope.redis import follow_envelopes, publish_envelope, read_envelopes

STREAM = ce.DEFAULT_STREAM_NAME
PREDICTION = {
    "source_type": "fomo2_report",
    "source_id": "r-1",
    "question": "Up?",
    "probability": 0.8,
    "confidence": 0.9,
    "crowd": {"agents": 10, "bullish": 8, "bearish": 1, "neutral": 1},
    "generated_at": "2026-01-01T00:00:00Z",
}


def envelope(n: int) -> ce.CrowdPredictionEnvelope:
    return ce.build_envelope(PREDICTION, correlation_id=f"c-{n}")


class Server:
    """A redis-server of the test's own on a free port (AOF on, so a kill -9
    and restart keeps the stream)."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.dir = tempfile.mkdtemp(prefix="crowd-py-redis-")
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", self.dir],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"


@pytest.fixture
def server():
    running = Server()
    yield running
    running.kill()


def test_publish_then_read_newest_first_and_skips_reported(server: Server) -> None:
    async def scenario() -> None:
        client = aioredis.from_url(server.url)
        ids = [await publish_envelope(client, STREAM, envelope(n)) for n in range(3)]
        await client.xadd(STREAM, {"data": "{"})
        await client.xadd(STREAM, {"data": envelope(9).to_json(), "source": "x"})
        skipped = []
        newest = await read_envelopes(client, STREAM, 10, on_skip=skipped.append)
        assert [entry_id for entry_id, _ in newest] == ids[::-1]
        assert newest[0][1].correlation_id == "c-2"
        assert [s.reason for s in skipped] == ["extra_fields", "invalid_json"]
        raw = await client.xrange(STREAM, ids[0], ids[0])
        assert list(raw[0][1]) == [b"data"]
        with pytest.raises(ce.ValidationError):
            await publish_envelope(client, STREAM, {"schema_version": "1"})
        await client.aclose()

    asyncio.run(scenario())


def test_follow_survives_kill_9_and_restart_nothing_lost_nothing_repeated(server: Server) -> None:
    async def scenario() -> None:
        client = aioredis.from_url(server.url)
        first = await publish_envelope(client, STREAM, envelope(-1))
        seen: list[str] = []
        errors: list[BaseException] = []

        async def follow() -> None:
            follower = aioredis.from_url(server.url)
            async for _, decoded in follow_envelopes(follower, STREAM, last_id=first, block_ms=100,
                                                     on_error=errors.append):
                seen.append(decoded.correlation_id)
                if len(seen) == 10:
                    break
            await follower.aclose()

        task = asyncio.create_task(follow())
        for n in range(5):
            await publish_envelope(client, STREAM, envelope(n))
        while len(seen) < 5:
            await asyncio.sleep(0.01)
        server.kill()
        await asyncio.sleep(0.3)
        server.start()
        client = aioredis.from_url(server.url)
        for n in range(5, 10):
            await publish_envelope(client, STREAM, envelope(n))
        await asyncio.wait_for(task, 30)
        assert seen == [f"c-{n}" for n in range(10)]
        assert errors, "the lost connection was reported"
        await client.aclose()

    asyncio.run(scenario())


def test_entries_trimmed_under_a_paused_follower_are_reported_with_their_number(server: Server) -> None:
    async def scenario() -> None:
        client = aioredis.from_url(server.url)
        for n in range(10):
            await publish_envelope(client, STREAM, envelope(n))
        skipped = []
        follow = follow_envelopes(client, STREAM, last_id="0", count=1, block_ms=100, on_skip=skipped.append)
        first = await follow.__anext__()
        assert first[1].correlation_id == "c-0"
        for n in range(50):
            await client.xadd(STREAM, {"data": envelope(100 + n).to_json()}, maxlen=5, approximate=False)
        rest = [(await follow.__anext__())[0] for _ in range(5)]
        await follow.aclose()
        left = [entry_id.decode() for entry_id, _ in await client.xrange(STREAM)]
        assert rest == left
        assert [(s.reason, s.missed) for s in skipped] == [("trimmed", 54)]
        assert skipped[0].errors[0]["message"].startswith("54 entries after ")
        await client.aclose()

    asyncio.run(scenario())
