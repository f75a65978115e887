"""crowd_envelope.redis against a real redis-server, with redis-py asyncio."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import tempfile
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest
import redis.asyncio as aioredis

import crowd_envelope as ce
from crowd_envelope.redis import PUBLISH_WINDOW, follow_envelopes, publish_envelope, publish_envelopes, read_envelopes

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


def test_publish_envelopes_pipelines_in_order_validates_all_first_raises_on_a_refusal(server: Server) -> None:
    async def scenario() -> None:
        client = aioredis.from_url(server.url)
        many = [envelope(n) for n in range(2 * PUBLISH_WINDOW + 7)]
        ids = await publish_envelopes(client, STREAM, many)
        stored = await client.xrange(STREAM, "-", "+")
        assert [entry_id.decode() for entry_id, _ in stored] == ids
        assert [ce.decode_envelope(fields[b"data"]).correlation_id for _, fields in stored] == [
            e.correlation_id for e in many
        ]
        with pytest.raises(ce.ValidationError):
            await publish_envelopes(client, STREAM, [envelope(0), {"schema_version": "1"}])
        assert await client.xlen(STREAM) == len(many), "none of a batch with an invalid envelope is sent"
        await client.set("not-a-stream", "x")
        with pytest.raises(Exception, match="WRONGTYPE"):
            await publish_envelopes(client, "not-a-stream", [envelope(0), envelope(1)])
        assert await publish_envelopes(client, STREAM, []) == []
        await publish_envelopes(client, "trimmed", many, max_len=10)
        assert await client.xlen("trimmed") < len(many)
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


def net_output(client_info: dict[str, Any]) -> int:
    return int(client_info["total_net_output_bytes"])


def test_payloads_over_the_limit_stay_in_redis_and_every_skip_names_its_entry(server: Server, caplog) -> None:
    """read and follow: an oversized payload is not sent (one Lua script
    bounds it), and every entry not delivered is reported with its id."""

    async def scenario() -> None:
        client = aioredis.from_url(server.url)
        good = await publish_envelope(client, STREAM, envelope(1))
        big = await client.xadd(STREAM, {"data": "x" * (3 << 19)})  # 1.5 MiB, over the 1 MiB default
        odd_name = await client.xadd(STREAM, {b"\xff": b"1", "data": envelope(2).to_json()})
        no_data = await client.xadd(STREAM, {"other": "1"})
        last = await publish_envelope(client, STREAM, envelope(5))
        skips = list(zip([entry_id.decode() for entry_id in (big, odd_name, no_data)], ["too_large", "extra_fields", "no_data"]))
        follower = aioredis.from_url(server.url)
        for run in ("read", "follow"):
            skipped: list[Any] = []
            before = net_output(await client.info("stats"))
            with caplog.at_level(logging.WARNING, logger="crowd_envelope"):
                if run == "read":
                    delivered = [entry_id for entry_id, _ in await read_envelopes(follower, STREAM, 10, on_skip=skipped.append)]
                else:
                    follow = follow_envelopes(follower, STREAM, last_id="0", block_ms=100, on_skip=skipped.append)
                    delivered = [(await follow.__anext__())[0] for _ in range(2)]
                    await follow.aclose()
            sent = net_output(await client.info("stats")) - before
            assert sent < 64 << 10, f"{run}: {sent} bytes sent, the 1.5 MiB payload among them"
            assert delivered == ([last, good] if run == "read" else [good, last])
            assert [(s.id, s.reason) for s in skipped] == (skips[::-1] if run == "read" else skips)
            large = next(s for s in skipped if s.reason == "too_large")
            assert str(3 << 19) in large.errors[0]["message"] and str(1 << 20) in large.errors[0]["message"], large.errors
            logged = [record.getMessage() for record in caplog.records]
            assert any(line.startswith(f"skipping stream entry {skips[0][0]} (too_large): [{{") for line in logged), logged
            odd = next(s for s in skipped if s.reason == "extra_fields")
            assert odd.errors[0]["message"] == "expected exactly one field, 'data', found also \ufffd", odd.errors
            caplog.clear()
        # A limit of the caller's own: an envelope over it stays in Redis too.
        await client.xadd(STREAM, {"data": envelope(3).to_json() + " " * (400 << 10)})
        skipped = []
        before = net_output(await client.info("stats"))
        assert await read_envelopes(follower, STREAM, 1, on_skip=skipped.append, max_payload_bytes=1000) == []
        assert net_output(await client.info("stats")) - before < 64 << 10
        assert [s.reason for s in skipped] == ["too_large"] and "1000" in skipped[0].errors[0]["message"]
        follow = follow_envelopes(follower, STREAM, last_id=last, block_ms=100, on_skip=skipped.append,
                                  max_payload_bytes=1000)
        await publish_envelope(client, STREAM, envelope(4))
        before = net_output(await client.info("stats"))
        assert (await follow.__anext__())[1].correlation_id == "c-4"
        assert net_output(await client.info("stats")) - before < 64 << 10
        await follow.aclose()
        assert [s.reason for s in skipped] == ["too_large", "too_large"]
        assert "1000" in skipped[1].errors[0]["message"]
        await follower.aclose()
        await client.aclose()

    asyncio.run(scenario())


def test_publish_max_len_trims_about_that_many(server: Server) -> None:
    async def scenario() -> None:
        client = aioredis.from_url(server.url)
        ids = [await publish_envelope(client, STREAM, envelope(n), max_len=10) for n in range(250)]
        length = await client.xlen(STREAM)
        # Approximate (MAXLEN ~): Redis drops whole nodes of 100 entries only.
        assert 10 < length <= 110, length
        newest = await client.xrevrange(STREAM, count=1)
        assert newest[0][0].decode() == ids[-1]
        assert list(newest[0][1]) == [b"data"]
        await client.aclose()

    asyncio.run(scenario())


def test_follow_from_an_id_in_pages_tells_only_real_gaps(server: Server) -> None:
    """The follower's cursor (the last read's index and whether it left
    entries): pages from a given id report no gap; entries trimmed under it
    are reported even when their number cannot be told; entries trimmed
    before it started from an id are not its loss."""

    async def scenario() -> None:
        client = aioredis.from_url(server.url)
        ids = [await publish_envelope(client, STREAM, envelope(n)) for n in range(6)]
        skipped: list[Any] = []
        follow = follow_envelopes(client, STREAM, last_id=ids[0], count=1, block_ms=100, on_skip=skipped.append)
        assert [(await follow.__anext__())[0] for _ in range(3)] == ids[1:4]
        assert skipped == []
        await client.xtrim(STREAM, maxlen=0)
        new = [await publish_envelope(client, STREAM, envelope(10 + n)) for n in range(2)]
        assert [(await follow.__anext__())[0] for _ in range(2)] == new
        await follow.aclose()
        assert [(s.reason, s.missed, s.id) for s in skipped] == [("trimmed", None, f"{ids[3]}..{new[0]}")]
        assert skipped[0].errors[0]["message"].startswith(f"entries after {ids[3]} were trimmed")
        skipped.clear()
        follow = follow_envelopes(client, STREAM, last_id=ids[0], count=1, block_ms=100, on_skip=skipped.append)
        assert (await follow.__anext__())[0] == new[0]
        await follow.aclose()
        assert skipped == []
        await client.aclose()

    asyncio.run(scenario())


def test_a_stream_made_anew_below_the_cursor_is_reported_and_read_from_its_start(server: Server) -> None:
    async def scenario() -> None:
        client = aioredis.from_url(server.url)
        for n in range(3):
            await client.xadd(STREAM, {"data": envelope(n).to_json()}, id=f"100-{n}")
        skipped: list[Any] = []
        follow = follow_envelopes(client, STREAM, last_id="0", block_ms=100, on_skip=skipped.append)
        assert [(await follow.__anext__())[0] for _ in range(3)] == ["100-0", "100-1", "100-2"]
        await client.delete(STREAM)
        for n in range(2):
            await client.xadd(STREAM, {"data": envelope(10 + n).to_json()}, id=f"5-{n}")
        assert [(await follow.__anext__())[0] for _ in range(2)] == ["5-0", "5-1"]
        await follow.aclose()
        assert [(s.reason, s.missed, s.id) for s in skipped] == [("stream_reset", None, "100-2..5-1")]
        assert "100-2" in skipped[0].errors[0]["message"]
        await client.aclose()

    asyncio.run(scenario())


def test_follow_by_default_waits_in_redis_for_what_comes_after_the_call(server: Server) -> None:
    """Defaults: `$` (only entries added after the call) and a wait that
    blocks until one arrives, not a poll."""

    async def scenario() -> None:
        client = aioredis.from_url(server.url)
        await publish_envelope(client, STREAM, envelope(0))
        follower = aioredis.from_url(server.url)
        seen: list[str] = []

        async def follow() -> None:
            async for _, decoded in follow_envelopes(follower, STREAM):
                seen.append(decoded.correlation_id)
                if len(seen) == 2:
                    return

        task = asyncio.create_task(follow())
        deadline = time.monotonic() + 10
        while not any("b" in c["flags"] for c in await client.client_list()):
            assert time.monotonic() < deadline, "the follower never blocked"
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)
        await client.config_resetstat()
        await asyncio.sleep(0.3)
        stats = await client.info("commandstats")
        assert "cmdstat_eval" not in stats and "cmdstat_xread" not in stats, stats
        for n in (1, 2):
            await publish_envelope(client, STREAM, envelope(n))
        await asyncio.wait_for(task, 10)
        assert seen == ["c-1", "c-2"]
        await follower.aclose()
        await client.aclose()

    asyncio.run(scenario())


def test_reconnecting_backs_off_from_100_ms_doubling_to_5_s_and_starts_over(server: Server, monkeypatch, caplog) -> None:
    import types

    import crowd_envelope.redis as ce_redis

    real_sleep = asyncio.sleep
    delays: list[float] = []

    async def sleep(delay: float) -> None:
        delays.append(delay)
        await real_sleep(0.001)

    monkeypatch.setattr(ce_redis, "asyncio", types.SimpleNamespace(sleep=sleep))

    async def wait_until(done: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 30
        while not done():
            assert time.monotonic() < deadline
            await real_sleep(0.01)

    async def scenario() -> None:
        caplog.set_level(logging.WARNING, logger="crowd_envelope")
        server.kill()
        errors: list[BaseException] = []
        follower = aioredis.from_url(server.url)
        follow = follow_envelopes(follower, STREAM, last_id="0", block_ms=100, on_error=errors.append)
        starts = []
        for outage, correlation in ((9, "c-1"), (1, "c-2")):
            task = asyncio.ensure_future(follow.__anext__())
            starts.append(len(delays))
            await wait_until(lambda: len(delays) >= starts[-1] + outage)
            server.start()
            client = aioredis.from_url(server.url)
            await publish_envelope(client, STREAM, envelope(int(correlation[2:])))
            assert (await asyncio.wait_for(task, 30))[1].correlation_id == correlation
            await client.aclose()
            if outage > 1:
                server.kill()
        assert delays[:9] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0])
        assert all(delay == 5.0 for delay in delays[8 : starts[1]])
        assert delays[starts[1]] == pytest.approx(0.1), "a read that succeeds starts the backoff over"
        assert len(errors) == len(delays)
        logged = [record.getMessage() for record in caplog.records if record.name == "crowd_envelope"]
        assert logged[0] == f"follow: {errors[0]}; reconnecting", logged
        assert all(isinstance(error, (ConnectionError, OSError, aioredis.ConnectionError)) for error in errors)
        await follow.aclose()
        await follower.aclose()

    asyncio.run(scenario())


def test_a_wait_longer_than_redis_pys_socket_timeout_is_no_error(server: Server) -> None:
    """redis-py 8 times out a read after 5 s by default: a follower waiting
    longer for its next entry (block_ms 0: until one arrives) is not a lost
    connection."""

    async def scenario() -> None:
        client = aioredis.from_url(server.url)
        errors: list[BaseException] = []
        seen: list[str] = []

        async def follow() -> None:
            async for _, decoded in follow_envelopes(client, STREAM, on_error=errors.append):
                seen.append(decoded.correlation_id)
                return

        task = asyncio.create_task(follow())
        await asyncio.sleep(6)
        await publish_envelope(client, STREAM, envelope(0))
        await asyncio.wait_for(task, 10)
        assert (seen, errors) == (["c-0"], [])
        await client.aclose()

    asyncio.run(scenario())


def test_follow_from_a_time_gives_the_entries_added_since(server: Server) -> None:
    """`since`: the entries added at or after it; a time before the first
    entry gives all, with no gap; a time in the future is refused."""

    async def scenario() -> None:
        client = aioredis.from_url(server.url)
        now_ms = int(time.time() * 1000)
        for question, ago in [("3h", 3 * 3_600_000), ("90m", 90 * 60_000), ("10m", 10 * 60_000)]:
            built = ce.build_envelope({**PREDICTION, "question": question})
            await client.xadd("since", {"data": ce.encode_envelope(built)}, id=f"{now_ms - ago}-0")

        async def read(since: datetime) -> tuple[list[str], list[Any]]:
            seen: list[str] = []
            skipped: list[Any] = []
            async for _, decoded in follow_envelopes(client, "since", since=since, block_ms=100, on_skip=skipped.append):
                seen.append(decoded.prediction.question)
                if decoded.prediction.question == "10m":
                    break
            return seen, skipped

        now = datetime.now(timezone.utc)
        assert (await read(now - timedelta(hours=2)))[0] == ["90m", "10m"]
        # A naive time is UTC.
        assert (await read((now - timedelta(minutes=100)).replace(tzinfo=None)))[0] == ["90m", "10m"]
        assert await read(now - timedelta(days=1)) == (["3h", "90m", "10m"], [])
        with pytest.raises(ValueError, match="is in the future"):
            await read(now + timedelta(hours=1))
        with pytest.raises(TypeError, match="not both"):
            await follow_envelopes(client, "since", since=now, last_id="0").__anext__()
        await client.aclose()

    asyncio.run(scenario())
