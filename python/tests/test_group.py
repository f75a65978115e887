"""crowd_envelope.group against a real redis-server, with redis-py asyncio:
delivery, retries and dead letters as the Rust consumer writes them (checked
against the CLI's), the races behind "only while still pending with this
consumer" driven by hand, concurrency, gaps, the stop event, and a kill -9 of
Redis with batches in flight."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

import crowd_envelope as ce
from crowd_envelope.group import GroupStats, attempts_key, consume_group, dead_letter_key
from crowd_envelope.redis import SkippedEntry, publish_envelopes
from test_redis import Server, envelope, server  # noqa: F401 - the fixture

REPO = Path(__file__).resolve().parents[2]
BIN = os.environ.get("CROWD_ENVELOPE_BIN", str(REPO / "target" / "debug" / "crowd-envelope"))


def client_of(server: Server) -> Any:
    return aioredis.from_url(server.url, decode_responses=True)


async def pending(client: Any, stream: str, group: str) -> list[tuple[str, str]]:
    return [(p["message_id"], p["consumer"]) for p in await client.xpending_range(stream, group, "-", "+", 100)]


async def fields_of(client: Any, stream: str) -> list[dict[str, str]]:
    return [fields for _, fields in await client.xrange(stream)]


def test_the_keys_beside_a_stream_are_rusts() -> None:
    assert dead_letter_key("maf:out") == "{maf:out}:dead"
    assert dead_letter_key("orders:{eu}") == "orders:{eu}:dead"
    assert attempts_key("maf:out", "bots") == "{maf:out}:attempts:bots"
    for bad in ["a}b", "}{", "{}x", ""]:
        with pytest.raises(ValueError, match="invalid stream name"):
            dead_letter_key(bad)


def test_entries_are_handled_in_order_and_acknowledged_nothing_fetched_past_the_limit(server: Server) -> None:
    async def scenario() -> None:
        client = client_of(server)
        ids = await publish_envelopes(client, "s1", [envelope(n) for n in range(250)])
        seen: list[tuple[str, str]] = []

        async def handle(entry_id: str, decoded: ce.CrowdPredictionEnvelope) -> None:
            await asyncio.sleep(0)
            seen.append((entry_id, decoded.correlation_id))

        stats = await consume_group(client, "s1", handle, group="g", consumer="c", start_id="0", limit=250)
        assert seen == [(entry_id, f"c-{n}") for n, entry_id in enumerate(ids)]
        assert stats == GroupStats(handled=250)
        assert await pending(client, "s1", "g") == []
        # A plain function handler too; the rest is left for the next consumer.
        await publish_envelopes(client, "s1", [envelope(250), envelope(251)])
        more: list[str] = []
        await consume_group(client, "s1", lambda _, e: more.append(e.correlation_id), group="g", consumer="d", limit=1)
        assert more == ["c-250"]
        assert [owner for _, owner in await pending(client, "s1", "g")] == []
        await client.aclose()

    asyncio.run(scenario())


def test_a_failed_entry_is_retried_then_dead_lettered_with_its_attempts(server: Server) -> None:
    async def scenario() -> None:
        client = client_of(server)
        [entry_id] = await publish_envelopes(client, "s2", [envelope(0)])
        calls = 0
        skipped: list[SkippedEntry] = []

        def handle(_: str, __: ce.CrowdPredictionEnvelope) -> None:
            nonlocal calls
            calls += 1
            raise RuntimeError(f"boom {calls}")

        stats = await consume_group(client, "s2", handle, group="g", consumer="c", start_id="0", limit=1,
                                    max_deliveries=3, retry_delay_ms=20, block_ms=50, on_skip=skipped.append)
        assert calls == 3
        assert (stats.failed, stats.dead_lettered) == (3, {"handler_failed": 1})
        [letter] = await fields_of(client, dead_letter_key("s2"))
        assert list(letter) == ["data", "reason", "errors", "id", "group", "consumer", "deliveries", "attempts"]
        assert letter["data"] == (await fields_of(client, "s2"))[0]["data"]
        assert json.loads(letter["errors"]) == [
            {"path": "", "code": "handler_failed", "message": "handler failed 3 times, last: boom 3"}
        ]
        assert (letter["id"], letter["deliveries"], letter["attempts"]) == (entry_id, "3", "3")
        assert await pending(client, "s2", "g") == []
        assert await client.exists(attempts_key("s2", "g")) == 0
        assert [(s.id, s.reason) for s in skipped] == [(entry_id, "handler_failed")]
        await client.aclose()

    asyncio.run(scenario())


def test_undecodable_and_oversized_entries_get_the_dead_letters_the_cli_writes(server: Server) -> None:
    async def scenario() -> None:
        client = client_of(server)
        wrong_version = json.loads(ce.encode_envelope(envelope(1)))
        wrong_version["schema_version"] = "9.0"
        bad: list[dict[str, str]] = [
            {"data": "{not json"},
            {"data": json.dumps(wrong_version)},
            {"other": "x"},
            {"data": ce.encode_envelope(envelope(2)), "extra": "y"},
            {"data": "é" * 1500},  # 3000 bytes, over the limit
        ]
        for stream in ["py:bad", "cli:bad"]:
            for fields in bad:
                await client.xadd(stream, fields)

        def never(_: str, __: ce.CrowdPredictionEnvelope) -> None:
            raise AssertionError("nothing is handed out")

        await consume_group(client, "py:bad", never, group="g", consumer="c", start_id="0", limit=len(bad),
                            max_payload_bytes=2000)
        subprocess.run([BIN, "consume", "--redis-url", server.url, "--stream", "cli:bad", "--group", "g", "--consumer",
                        "c", "--from", "0", "--limit", str(len(bad)), "--max-payload-bytes", "2000"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        async def letters(stream: str) -> list[dict[str, Any]]:
            source = [entry_id for entry_id, _ in await client.xrange(stream)]
            return [{**fields, "id": source.index(fields["id"])} for fields in await fields_of(client, dead_letter_key(stream))]

        python = await letters("py:bad")
        assert [letter["reason"] for letter in python] == ["invalid_json", "unsupported_version", "no_data",
                                                            "extra_fields", "too_large"]
        assert python[4]["size"] == "3000" and "data" not in python[4]
        assert python == await letters("cli:bad"), "the same dead letters, field for field"
        await client.xadd("big", bad[4])
        await consume_group(client, "big", never, group="g", consumer="c", start_id="0", limit=1,
                            max_payload_bytes=2000, copy_oversized=True)
        assert (await fields_of(client, dead_letter_key("big")))[0]["data"] == bad[4]["data"]
        await client.aclose()

    asyncio.run(scenario())


@pytest.mark.parametrize("outcome", ["succeeds", "fails"])
def test_an_entry_claimed_away_while_its_handler_runs_is_not_settled_here(server: Server, outcome: str) -> None:
    async def scenario() -> None:
        client = client_of(server)
        stream = f"race:{outcome}"
        [entry_id] = await publish_envelopes(client, stream, [envelope(0)])
        started, release = asyncio.Event(), asyncio.Event()

        async def handle(_: str, __: ce.CrowdPredictionEnvelope) -> None:
            started.set()
            await release.wait()
            if outcome == "fails":
                raise RuntimeError("late failure")

        stop = asyncio.Event()
        consuming = asyncio.create_task(consume_group(client, stream, handle, group="g", consumer="first",
                                                      start_id="0", limit=1, max_deliveries=1, block_ms=50, stop=stop))
        await asyncio.wait_for(started.wait(), 10)
        # The claim a second consumer makes once the first looks dead.
        await client.xclaim(stream, "g", "second", 0, [entry_id])
        release.set()
        await asyncio.sleep(0.2)
        stop.set()
        stats = await asyncio.wait_for(consuming, 10)
        assert await pending(client, stream, "g") == [(entry_id, "second")]
        assert await client.xlen(dead_letter_key(stream)) == 0
        assert await client.hget(attempts_key(stream, "g"), entry_id) is None
        assert stats.dead_lettered == {}
        await client.aclose()

    asyncio.run(scenario())


def test_an_entry_claimed_away_while_its_batch_waits_is_not_handed_out_here(server: Server) -> None:
    async def scenario() -> None:
        client = client_of(server)
        ids = await publish_envelopes(client, "race:queued", [envelope(0), envelope(1)])
        release, stop = asyncio.Event(), asyncio.Event()
        seen: list[str] = []

        async def handle(entry_id: str, _: ce.CrowdPredictionEnvelope) -> None:
            seen.append(entry_id)
            if entry_id == ids[0]:
                await release.wait()

        consuming = asyncio.create_task(consume_group(client, "race:queued", handle, group="g", consumer="first",
                                                      start_id="0", claim_idle_ms=100, stop=stop))
        while not seen:
            await asyncio.sleep(0.005)

        async def keep_claimed() -> None:
            # A second consumer that stays alive: never idle long enough to be claimed back.
            while True:
                await client.xclaim("race:queued", "g", "second", 0, [ids[1]], justid=True)
                await asyncio.sleep(0.01)

        alive = asyncio.create_task(keep_claimed())
        await asyncio.sleep(0.2)  # past a lease renewal (every claim_idle_ms / 2)
        release.set()
        await asyncio.sleep(0.3)
        stop.set()
        await asyncio.wait_for(consuming, 10)
        alive.cancel()
        assert seen == [ids[0]]
        assert await pending(client, "race:queued", "g") == [(ids[1], "second")]
        await client.aclose()

    asyncio.run(scenario())


def test_with_concurrency_up_to_n_handlers_run_at_once_started_in_order(server: Server) -> None:
    async def scenario() -> None:
        client = client_of(server)
        ids = await publish_envelopes(client, "s3", [envelope(n) for n in range(40)])
        started: list[str] = []
        running = most = 0

        async def handle(entry_id: str, _: ce.CrowdPredictionEnvelope) -> None:
            nonlocal running, most
            started.append(entry_id)
            running += 1
            most = max(most, running)
            await asyncio.sleep(0.005)
            running -= 1

        stats = await consume_group(client, "s3", handle, group="g", consumer="c", start_id="0", limit=40,
                                    concurrency=8, count=20)
        assert (most, started, stats.handled) == (8, ids, 40)
        assert await pending(client, "s3", "g") == []
        await client.aclose()

    asyncio.run(scenario())


def test_its_own_pending_entries_come_first_then_a_dead_consumers_are_claimed(server: Server) -> None:
    async def scenario() -> None:
        client = client_of(server)
        ids = await publish_envelopes(client, "s4", [envelope(n) for n in range(6)])
        await client.xgroup_create("s4", "g", "0")
        await client.xreadgroup("g", "dead", {"s4": ">"}, count=3)
        await client.xreadgroup("g", "me", {"s4": ">"}, count=2)
        seen: list[str] = []
        stats = await consume_group(client, "s4", lambda i, _: seen.append(i), group="g", consumer="me", limit=6,
                                    claim_idle_ms=1)
        assert seen == [ids[3], ids[4], ids[0], ids[1], ids[2], ids[5]]
        assert stats.claimed == 3
        assert await pending(client, "s4", "g") == []
        await client.aclose()

    asyncio.run(scenario())


def test_entries_trimmed_before_the_group_read_them_are_told_once(server: Server) -> None:
    async def scenario() -> None:
        client = client_of(server)
        stop = asyncio.Event()
        # The group made by a consumer (create.lua), which sets its entries-read count.
        making = asyncio.create_task(consume_group(client, "s5", lambda _, __: None, group="g", consumer="c", stop=stop))
        while not await client.exists("s5"):
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(making, 10)
        await publish_envelopes(client, "s5", [envelope(n) for n in range(10)])
        await client.xtrim("s5", maxlen=4, approximate=False)
        skipped: list[SkippedEntry] = []
        seen: list[str] = []
        stats = await consume_group(client, "s5", lambda _, e: seen.append(e.correlation_id), group="g",
                                    consumer="c", limit=4, on_skip=skipped.append)
        assert seen == ["c-6", "c-7", "c-8", "c-9"]
        assert stats.trimmed == 6
        assert [(s.reason, s.missed) for s in skipped] == [("trimmed", 6)]
        await client.aclose()

    asyncio.run(scenario())


def test_stop_ends_a_waiting_consumer_and_one_in_a_batch_after_its_handlers(server: Server) -> None:
    async def scenario() -> None:
        client = client_of(server)
        stop = asyncio.Event()
        waiting = asyncio.create_task(consume_group(client, "s6", lambda _, __: None, group="g", consumer="c",
                                                    block_ms=60_000, stop=stop))
        await asyncio.sleep(0.1)
        stop.set()
        assert (await asyncio.wait_for(waiting, 5)).handled == 0
        await publish_envelopes(client, "s6", [envelope(n) for n in range(3)])
        halt = asyncio.Event()
        seen: list[str] = []

        def handle(entry_id: str, _: ce.CrowdPredictionEnvelope) -> None:
            seen.append(entry_id)
            halt.set()

        stats = await consume_group(client, "s6", handle, group="g", consumer="c", stop=halt)
        assert (len(seen), stats.handled) == (1, 1)
        assert len(await pending(client, "s6", "g")) == 2
        await client.aclose()

    asyncio.run(scenario())


def test_a_key_that_is_not_a_stream_and_bad_names_are_refused(server: Server) -> None:
    async def scenario() -> None:
        client = client_of(server)
        await client.set("plain", "x")
        with pytest.raises(Exception, match="WRONGTYPE"):
            await consume_group(client, "plain", lambda _, __: None, group="g", consumer="c")
        with pytest.raises(ValueError):
            await consume_group(client, "a}b", lambda _, __: None, group="g", consumer="c")
        with pytest.raises(ValueError):
            await consume_group(client, "s7", lambda _, __: None, group="g", consumer="c", start_id="later")
        await client.aclose()

    asyncio.run(scenario())


def test_a_kill_9_of_redis_with_batches_in_flight_loses_nothing(server: Server) -> None:
    async def scenario() -> None:
        client = client_of(server)
        await publish_envelopes(client, "s8", [envelope(n) for n in range(2000)])
        await client.aclose()
        seen: list[str] = []
        errors: list[BaseException] = []
        stop = asyncio.Event()

        async def handle(_: str, decoded: ce.CrowdPredictionEnvelope) -> None:
            seen.append(decoded.correlation_id)
            if len(seen) == 700:
                server.kill()
                server.start()
            if len(set(seen)) == 2000:
                stop.set()
            await asyncio.sleep(0)

        consumer = client_of(server)
        stats = await asyncio.wait_for(
            consume_group(consumer, "s8", handle, group="g", consumer="c", start_id="0", stop=stop,
                          on_error=errors.append),
            120,
        )
        assert errors, "the kill was noticed"
        assert set(seen) == {f"c-{n}" for n in range(2000)}, "none lost (some handled twice: at-least-once)"
        assert stats.handled == len(seen)
        assert await pending(consumer, "s8", "g") == []
        await consumer.aclose()

    asyncio.run(scenario())
