"""The stream over any `redis.asyncio` client, with the original module's
signatures: `publish_envelope`, `read_envelopes`, `follow_envelopes`.

Beyond them, as the Rust and npm followers do: every entry that is not
delivered is reported to `on_skip` with its reason (a decode reason,
`no_data`, `extra_fields`; when following, `trimmed` with the number lost,
or `stream_reset`), and a follower resumes after a lost connection from
the last id it saw, losing and repeating nothing. Each follower read is the
Lua script the Rust follower runs (`src/redis/follow.lua`), which leaves a
payload over the size limit in Redis.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any, AsyncIterator, Callable, Optional, Sequence, Union

from redis.asyncio.cluster import RedisCluster

from ._native import FOLLOW_SCRIPT, RANGE_SCRIPT, CrowdPredictionEnvelope, DecodeError, decode_entry, encode_envelope
from ._stream import LOST, backoff_seconds, cursor_at, OnSkip, SkippedEntry, gap, logger, report, script_entries, text, wait_ms


__all__ = [
    "PUBLISH_WINDOW",
    "NotReplicatedError",
    "SkippedEntry",
    "follow_envelopes",
    "publish_envelope",
    "publish_envelopes",
    "read_envelopes",
]


class NotReplicatedError(Exception):
    """Entries added to the stream that fewer replicas had than
    `wait_replicas` asked for, by its timeout: they are there, but a failover
    now could lose them (publishing again would add them twice)."""

    def __init__(self, ids: list[str], replicas: int, wanted: int) -> None:
        self.ids, self.replicas, self.wanted = ids, replicas, wanted
        super().__init__(
            f"{len(ids)} entr{'y' if len(ids) == 1 else 'ies'} added ({', '.join(ids)}), but {replicas} of the "
            f"{wanted} replica(s) asked for have them: a failover now would lose them"
        )


def _check_wait(redis_client: Any, wait_replicas: int) -> None:
    # redis-py sends WAIT on a cluster to every master and adds up their
    # answers, none on the connection that wrote: it would say nothing true.
    if wait_replicas > 0 and isinstance(redis_client, RedisCluster):
        raise TypeError(
            "wait_replicas needs the connection that wrote, which RedisCluster does not give: "
            "use a client of the stream's master"
        )


async def _written(pipe: Any, wait_replicas: int, wait_timeout_ms: int) -> list[str]:
    """Runs a pipeline of XADDs, then WAIT on its connection when asked;
    gives the ids, or raises `NotReplicatedError`."""
    if wait_replicas <= 0:
        return [text(entry_id) for entry_id in await pipe.execute()]
    pipe.execute_command("WAIT", wait_replicas, wait_timeout_ms)
    *added, replicas = await pipe.execute()
    ids = [text(entry_id) for entry_id in added]
    if int(replicas) < wait_replicas:
        raise NotReplicatedError(ids, int(replicas), wait_replicas)
    return ids


def _decode(
    entry_id: str,
    fields: dict[Any, Any],
    oversized: Optional[int],
    max_payload_bytes: Optional[int],
    on_skip: Optional[OnSkip],
) -> Optional[CrowdPredictionEnvelope]:
    names = [text(name) for name in fields]
    data = next((value for name, value in fields.items() if text(name) == "data"), None)
    try:
        return decode_entry(names, data, oversized, max_payload_bytes)
    except DecodeError as error:
        report(SkippedEntry(entry_id, error.reason, error.errors), on_skip)
        return None


async def publish_envelope(
    redis_client: Any,
    stream_name: str,
    envelope: Union[CrowdPredictionEnvelope, dict[str, Any]],
    *,
    max_len: Optional[int] = None,
    wait_replicas: int = 0,
    wait_timeout_ms: int = 1000,
) -> str:
    """Publishes the envelope as one `data` field (validated first; raises
    `ValidationError`); gives the entry id. `max_len` trims the stream to
    about that many entries. `wait_replicas` returns only once that many
    replicas have the entry (`WAIT` on the connection that wrote it, up to
    `wait_timeout_ms`), else raises `NotReplicatedError`: Redis replicates
    asynchronously, and without it an entry a master acknowledged and then
    lost in a failover is gone."""
    _check_wait(redis_client, wait_replicas)
    data = encode_envelope(envelope)
    if wait_replicas <= 0:
        # redis-py's xadd trims only when maxlen is given, approximately by default.
        return text(await redis_client.xadd(stream_name, {"data": data}, maxlen=max_len))
    # A pipeline: the WAIT goes on the connection that wrote.
    pipe = redis_client.pipeline(transaction=False)
    pipe.xadd(stream_name, {"data": data}, maxlen=max_len)
    return (await _written(pipe, wait_replicas, wait_timeout_ms))[0]


PUBLISH_WINDOW = 500
"""Envelopes `publish_envelopes` sends in one pipeline, at most."""


async def publish_envelopes(
    redis_client: Any,
    stream_name: str,
    envelopes: Sequence[Union[CrowdPredictionEnvelope, dict[str, Any]]],
    *,
    max_len: Optional[int] = None,
    wait_replicas: int = 0,
    wait_timeout_ms: int = 1000,
) -> list[str]:
    """Publishes many envelopes, pipelined: all are validated first (raises
    `ValidationError`, and none is sent), then sent `PUBLISH_WINDOW` to a
    pipeline, one round trip each, in order. Gives the ids in order; a
    refusal by Redis raises the first (the others of its pipeline may have
    been added), as Rust's `publish_envelopes` does. `wait_replicas` as
    `publish_envelope`, for each pipeline (the error holds its ids)."""
    _check_wait(redis_client, wait_replicas)
    payloads = [encode_envelope(envelope) for envelope in envelopes]
    ids: list[str] = []
    for start in range(0, len(payloads), PUBLISH_WINDOW):
        pipe = redis_client.pipeline(transaction=False)
        for data in payloads[start : start + PUBLISH_WINDOW]:
            pipe.xadd(stream_name, {"data": data}, maxlen=max_len)
        ids.extend(await _written(pipe, wait_replicas, wait_timeout_ms))
    return ids


async def read_envelopes(
    redis_client: Any,
    stream_name: str,
    count: int,
    *,
    on_skip: Optional[OnSkip] = None,
    max_payload_bytes: Optional[int] = None,
) -> list[tuple[str, CrowdPredictionEnvelope]]:
    """The newest `count` envelopes, newest first, as `(id, envelope)`. A
    payload over `max_payload_bytes` is left in Redis (one Lua script, Rust's
    `read_entries`) and reported as `too_large`."""
    limit = max_payload_bytes if max_payload_bytes is not None else 1 << 20
    reply = await redis_client.eval(RANGE_SCRIPT, 1, stream_name, "XREVRANGE", "+", "-", str(count), str(limit))
    out: list[tuple[str, CrowdPredictionEnvelope]] = []
    for entry_id, fields, size in script_entries(reply):
        envelope = _decode(entry_id, fields, size, max_payload_bytes, on_skip)
        if envelope is not None:
            out.append((entry_id, envelope))
    return out


@dataclass
class _Cursor:
    last_id: str
    index: str = ""
    more: bool = False


async def follow_envelopes(
    redis_client: Any,
    stream_name: str,
    *,
    block_ms: int = 0,
    last_id: str = "$",
    count: int = 100,
    on_skip: Optional[OnSkip] = None,
    on_error: Optional[Callable[[BaseException], None]] = None,
    max_payload_bytes: Optional[int] = None,
    since: Optional[datetime] = None,
) -> AsyncIterator[tuple[str, CrowdPredictionEnvelope]]:
    """Every envelope added after `last_id` (`$`: after the call), as
    `(id, envelope)`, for as long as it is iterated. `block_ms` is how long
    one wait for new entries blocks (0: until one arrives). A lost
    connection goes to `on_error` and is retried with backoff. `since`,
    instead of `last_id`: the entries added at or after that time (naive:
    UTC); before the stream's first entry, from it; in the future, a
    `ValueError`."""
    if since is not None and last_id != "$":
        raise TypeError("follow_envelopes: give last_id or since, not both")
    cursor = _Cursor(last_id if since is None else await cursor_at(redis_client, stream_name, since))
    limit = max_payload_bytes if max_payload_bytes is not None else 1 << 20
    failures = 0
    while True:
        try:
            entries = await _read(redis_client, stream_name, cursor, count, limit, on_skip)
            if not entries:
                await redis_client.xread({stream_name: cursor.last_id}, count=1, block=wait_ms(block_ms))
            failures = 0
        except LOST as error:
            await _failed(error, on_error, failures)
            failures += 1
            continue
        for entry_id, fields, size in entries:
            envelope = _decode(entry_id, fields, size, max_payload_bytes, on_skip)
            if envelope is not None:
                yield entry_id, envelope


async def _failed(error: BaseException, on_error: Optional[Callable[[BaseException], None]], failures: int) -> None:
    logger.warning("follow: %s; reconnecting", error)
    if on_error is not None:
        on_error(error)
    await asyncio.sleep(backoff_seconds(failures))


async def _read(
    redis_client: Any,
    stream_name: str,
    cursor: _Cursor,
    count: int,
    limit: int,
    on_skip: Optional[OnSkip],
) -> list[tuple[str, dict[str, Any], Optional[int]]]:
    """One read by the followers' script; a gap or a reset goes to `on_skip`."""
    reply = await redis_client.eval(
        FOLLOW_SCRIPT,
        1,
        stream_name,
        cursor.last_id,
        str(count),
        str(limit),
        cursor.index,
        "1" if cursor.more else "0",
    )
    status, resolved, index, missed, next_id, entries, more = reply
    # The script gives the cursor back, `$` resolved: where a gap starts.
    status, after, next_id = text(status), text(resolved), text(next_id)
    cursor.last_id = after
    cursor.more = int(more) == 1
    if status == "reset":
        report(gap("stream_reset", after, next_id, None), on_skip)
        cursor.last_id, cursor.index, cursor.more = "0-0", "", False
        return []
    cursor.index = str(index) if int(index) >= 0 else ""
    out = script_entries(entries)
    if status == "ok" and int(missed) != -1:
        # next_id is the oldest entry left, which is after the cursor.
        report(gap("trimmed", after, next_id, int(missed) if int(missed) >= 0 else None), on_skip)
    if out:
        cursor.last_id = out[-1][0]
    return out
