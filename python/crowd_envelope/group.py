"""Consumer groups over any `redis.asyncio` client: Rust's `GroupConsumer`
(src/redis/group/), running the same Lua scripts, so an entry's fate is
decided in Redis, atomically, and only while it is still pending with this
consumer, whichever language each consumer of a group is written in.

A batch is read in one call, handled in order (up to `concurrency` handlers
at once), and settled in one call. An entry is acknowledged only after its
handler succeeds; a failed one is retried with doubling delays (its attempt
count kept in Redis, in `attempts_key`), and after `max_deliveries` attempts
written to `dead_letter_key` and acknowledged, atomically; an entry that does
not decode goes there at once. Its own pending entries come first after a
start or a lost connection, and entries idle with a dead consumer are
claimed.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Optional, Union

from redis import exceptions as redis_errors

from ._native import (
    GROUP_CLAIM_SCRIPT,
    GROUP_CREATE_SCRIPT,
    GROUP_READ_SCRIPT,
    GROUP_SETTLE_SCRIPT,
    GROUP_TAKE_SCRIPT,
    CrowdPredictionEnvelope,
    DecodeError,
    decode_entry,
)
from ._stream import LOST, backoff_seconds, OnSkip, SkippedEntry, gap, logger, report, script_entries, text, wait_ms

__all__ = ["GroupStats", "attempts_key", "consume_group", "dead_letter_key"]

Handler = Callable[[str, CrowdPredictionEnvelope], Union[None, Awaitable[None]]]


@dataclass
class GroupStats:
    """What `consume_group` did (Rust's `GroupStats`)."""

    handled: int = 0
    """Entries whose handler succeeded, and were acknowledged."""
    failed: int = 0
    """Handler failures (each a retry later, or a dead letter at the last attempt)."""
    claimed: int = 0
    """Entries claimed from idle consumers."""
    dead_lettered: dict[str, int] = field(default_factory=lambda: dict[str, int]())
    """Entries written to the dead-letter stream, by reason."""
    trimmed: int = 0
    """Entries trimmed from the stream before the group read them."""


def _beside(stream: str, suffix: str) -> str:
    opening = stream.find("{")
    closing = stream.find("}", opening + 1) if opening >= 0 else -1
    if closing > opening + 1:
        return stream + suffix
    if stream and "}" not in stream:
        return f"{{{stream}}}{suffix}"
    raise ValueError(
        f"invalid stream name {stream!r}: expected a name without `}}`, or with a hash tag (`{{…}}`, not empty): "
        "no other name has keys beside it in its cluster slot"
    )


def dead_letter_key(stream: str) -> str:
    """The dead-letter stream of `stream` (Rust's `dead_letter_key`):
    `{stream}:dead`, or `stream:dead` for a name with a hash tag of its own,
    so it shares the stream's cluster slot. A name with a `}` and no hash
    tag, or empty, raises `ValueError`."""
    return _beside(stream, ":dead")


def attempts_key(stream: str, group: str) -> str:
    """The hash of a group's attempt counts (Rust's `attempts_key`)."""
    return _beside(stream, f":attempts:{group}")


_STREAM_ID = re.compile(r"^(\$|0|\d+-\d+|\d+)$")
# The `errors` of a dead letter for an entry deleted while pending (Rust's `deleted_errors`).
_DELETED_ERRORS = json.dumps(
    [{"path": "", "code": "missing", "message": "the entry was deleted from the stream before it was handled"}],
    separators=(",", ":"),
)
_Entry = tuple[str, dict[str, Any], Optional[int]]


@dataclass
class _Settle:
    """What becomes of one entry, as settle.lua takes it: "ack", "fail" or "bury"."""

    id: str
    action: str
    reason: str = ""
    copy: bool = False
    fields: list[str] = field(default_factory=lambda: list[str]())


async def consume_group(
    redis_client: Any,
    stream_name: str,
    handler: Handler,
    *,
    group: str,
    consumer: str,
    start_id: str = "$",
    block_ms: int = 5000,
    count: int = 100,
    concurrency: int = 1,
    claim_idle_ms: int = 30_000,
    max_deliveries: int = 5,
    retry_delay_ms: int = 1000,
    max_payload_bytes: Optional[int] = None,
    limit: Optional[int] = None,
    copy_oversized: bool = False,
    stop: Optional[asyncio.Event] = None,
    on_skip: Optional[OnSkip] = None,
    on_error: Optional[Callable[[BaseException], None]] = None,
) -> GroupStats:
    """Consumes `stream_name` as `consumer` of `group` (made, with the
    stream, if missing, at `start_id`: `$`, `0` or an entry id), calling
    `handler(id, envelope)` (a function or a coroutine function; an exception
    is a failed attempt), until `stop` is set or `limit` entries are handled
    or dead-lettered; gives the counts. The defaults are Rust's
    `GroupOptions::new`. With `concurrency` above 1, entries start in stream
    order and may finish, and be acknowledged, in any order. Dead letters and
    gaps (`trimmed`, with their number) go to `on_skip`; lost connections to
    `on_error`, and are retried with backoff."""
    if not _STREAM_ID.match(start_id):
        raise ValueError(f"invalid start_id {start_id!r}: expected $, 0 or an entry id")
    options = _Options(
        group, consumer, start_id, block_ms, max(1, count), max(1, concurrency), claim_idle_ms, max_deliveries,
        retry_delay_ms, max_payload_bytes if max_payload_bytes is not None else 1 << 20, limit, copy_oversized,
    )
    return await _Consumer(redis_client, stream_name, handler, options, stop, on_skip, on_error).run()


@dataclass(frozen=True)
class _Options:
    group: str
    consumer: str
    start_id: str
    block_ms: int
    count: int
    concurrency: int
    claim_idle_ms: int
    max_deliveries: int
    retry_delay_ms: int
    max_payload_bytes: int
    limit: Optional[int]
    copy_oversized: bool


class _Consumer:
    def __init__(
        self,
        redis_client: Any,
        stream: str,
        handler: Handler,
        options: _Options,
        stop: Optional[asyncio.Event],
        on_skip: Optional[OnSkip],
        on_error: Optional[Callable[[BaseException], None]],
    ) -> None:
        self.redis, self.stream, self.handler, self.options = redis_client, stream, handler, options
        self.dead, self.attempts = dead_letter_key(stream), attempts_key(stream, options.group)
        self.stop = stop or asyncio.Event()
        self.on_skip, self.on_error = on_skip, on_error
        self.stats = GroupStats()
        self.connected = False
        self.own_pending = True
        self.next_retry: Optional[float] = None
        self.last_claim: Optional[float] = None
        self.unsettled: list[_Settle] = []
        self.read_ahead: list[_Entry] = []

    async def run(self) -> GroupStats:
        failures = 0
        while not self.stop.is_set() and self._remaining() > 0:
            try:
                await self._round()
                failures = 0
            except (*LOST, redis_errors.ResponseError) as error:
                # NOGROUP (the group or stream deleted): made anew at the reconnect.
                if isinstance(error, redis_errors.ResponseError) and not str(error).startswith("NOGROUP"):
                    raise
                if self.stop.is_set():
                    break
                logger.warning("consume: %s; reconnecting", error)
                if self.on_error is not None:
                    self.on_error(error)
                # What it fetched and did not finish is pending with it: handled first.
                self.connected, self.own_pending, self.next_retry, self.read_ahead = False, True, None, []
                await self._sleep(backoff_seconds(failures))
                failures += 1
        # Stopped mid-batch: what was handled is acknowledged before it goes.
        if self.unsettled:
            try:
                await self._send()
            except LOST as error:
                logger.warning("stopping: %s; %d entries stay pending with this consumer", error, len(self.unsettled))
        return self.stats

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.stop.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    async def _script(self, script: str, keys: list[str], args: list[Any]) -> Any:
        return await self.redis.eval(script, len(keys), *keys, *args)

    async def _connect(self) -> None:
        if not self.connected:
            await self._script(GROUP_CREATE_SCRIPT, [self.stream], [self.options.group, self.options.start_id])
            self.connected = True

    async def _round(self) -> None:
        """One round, as Rust's `poll`: its own due entries, then idle ones to claim, then new ones."""
        await self._connect()
        await self._send()
        while self._wants_more() and self.own_pending and (self.next_retry is None or self.next_retry <= time.monotonic()):
            due = await self._due_own_entries()
            if not due:
                break
            await self._process(await self._take(due))
        claim_every = self.options.claim_idle_ms / 2000
        if self._wants_more() and (self.last_claim is None or time.monotonic() - self.last_claim >= claim_every):
            claimed = await self._claim()
            self.stats.claimed += len(claimed)
            await self._process(claimed)
            self.last_claim = time.monotonic()
        if self._wants_more():
            await self._handle_new()

    async def _handle_new(self) -> None:
        """New entries; a full batch means more wait, so the next is read while this one is handled."""
        wanted = self._remaining()
        entries, self.read_ahead = self.read_ahead, []
        if not entries:
            entries, after = await self._read(wanted)
            if not entries:
                await self._wait_for_more(after)
                return
        following = self._remaining(len(entries))
        if len(entries) < wanted or following == 0 or self.stop.is_set():
            await self._process(entries)
            return
        started = time.monotonic()
        ahead = asyncio.ensure_future(self._read(following))
        try:
            await self._process(entries)
        finally:
            more, _ = await ahead
        if more and time.monotonic() - started >= self.options.claim_idle_ms / 2000:
            kept = await self._renew([entry_id for entry_id, _, _ in more])
            more = [entry for entry in more if entry[0] in kept]
        self.read_ahead = more

    async def _read(self, count: int) -> tuple[list[_Entry], str]:
        """`read.lua`: up to `count` new entries; entries trimmed before the group read them are told as a gap."""
        args = [self.options.group, self.options.consumer, count, self.options.max_payload_bytes]
        raw, missed, after, before = await self._script(GROUP_READ_SCRIPT, [self.stream], args)
        entries = script_entries(raw or [])
        after = text(after)
        if int(missed) > 0:
            self.stats.trimmed += int(missed)
            first = entries[0][0] if entries else text(before)
            report(gap("trimmed", after, first, int(missed)), self.on_skip)
        return entries, after

    async def _wait_for_more(self, after: str) -> None:
        """Blocks until an entry after `after` arrives, up to `block_ms`, a due retry, or `stop`."""
        block = self.options.block_ms
        if self.own_pending and self.next_retry is not None:
            block = min(block, int((self.next_retry - time.monotonic()) * 1000))
        read = asyncio.ensure_future(self.redis.xread({self.stream: after}, count=1, block=wait_ms(max(1, block))))
        stopped = asyncio.ensure_future(self.stop.wait())
        done, _ = await asyncio.wait({read, stopped}, return_when=asyncio.FIRST_COMPLETED)
        for task in (read, stopped):
            if task not in done:
                task.cancel()
        if read in done:
            read.result()

    async def _due_own_entries(self) -> list[str]:
        """Its own pending entries whose turn has come: never tried, or failed and waited long enough."""
        ahead = {entry_id for entry_id, _, _ in self.read_ahead}
        reply = await self.redis.xpending_range(
            self.stream, self.options.group, "-", "+", self.options.count + len(ahead), consumername=self.options.consumer
        )
        self.next_retry = None
        listed = [(text(p["message_id"]), int(p["time_since_delivered"])) for p in reply]
        listed = [(entry_id, idle) for entry_id, idle in listed if entry_id not in ahead]
        if not listed:
            self.own_pending = False
            return []
        counts = await self.redis.hmget(self.attempts, [entry_id for entry_id, _ in listed])
        now = time.monotonic()
        due: list[str] = []
        for (entry_id, idle), attempts in zip(listed, counts):
            wait = self._retry_after(int(attempts or 0)) - idle
            if wait <= 0 and len(due) < self._remaining():
                due.append(entry_id)
            else:
                at = now + max(wait, 0) / 1000
                self.next_retry = at if self.next_retry is None else min(self.next_retry, at)
        return due

    def _retry_after(self, attempts: int) -> int:
        """Rust's `GroupOptions::retry_after`, in ms: none before the first attempt, then doubling."""
        if attempts <= 0:
            return 0
        delay: int = self.options.retry_delay_ms * 2 ** (attempts - 1)
        return min(delay, self.options.claim_idle_ms)

    async def _run_take(self, mode: str, ids: list[str]) -> Any:
        """`take.lua`; entries deleted from the stream while pending are dead-lettered there."""
        args = [self.options.group, self.options.consumer, mode, _DELETED_ERRORS, self.options.max_payload_bytes, *ids]
        taken, deleted = await self._script(GROUP_TAKE_SCRIPT, [self.stream, self.dead, self.attempts], args)
        self._count_deleted(deleted)
        return taken

    async def _take(self, ids: list[str]) -> list[_Entry]:
        return script_entries(await self._run_take("data", ids) or [])

    async def _renew(self, ids: list[str]) -> set[str]:
        kept: list[Union[str, bytes]] = await self._run_take("lease", ids) or []
        return {text(entry_id) for entry_id in kept}

    async def _claim(self) -> list[_Entry]:
        """`claim.lua`: entries idle long enough with another consumer."""
        args = [self.options.group, self.options.consumer, self.options.claim_idle_ms, max(1, self._remaining()),
                self.options.max_payload_bytes, _DELETED_ERRORS]
        claimed, deleted = await self._script(GROUP_CLAIM_SCRIPT, [self.stream, self.dead, self.attempts], args)
        self._count_deleted(deleted)
        return script_entries(claimed or [])

    def _count_deleted(self, deleted: Any) -> None:
        if deleted:
            self.stats.dead_lettered["deleted"] = self.stats.dead_lettered.get("deleted", 0) + len(deleted)

    async def _process(self, entries: list[_Entry]) -> None:
        """Handles a batch: entries start in order, up to `concurrency` at
        once, none after `stop` or the limit; what is left is renewed every
        `claim_idle_ms / 2`. Ends with the batch settled in Redis."""
        queue = list(entries)
        running: dict[asyncio.Future[None], _Entry] = {}
        renew_every = max(0.01, self.options.claim_idle_ms / 2000)
        lease = time.monotonic() + renew_every
        at = 0
        while True:
            while len(running) < self.options.concurrency and at < len(queue) and self._may_start():
                entry = queue[at]
                at += 1
                envelope = self._decode(entry)
                if envelope is None:
                    continue
                try:
                    result = self.handler(entry[0], envelope)
                except Exception as error:  # the handler's failure, counted
                    await self._settle_outcome(entry, error)
                    continue
                if inspect.isawaitable(result):
                    running[asyncio.ensure_future(result)] = entry
                else:
                    # A plain function has finished: no task for it.
                    await self._settle_outcome(entry, None)
            if not running:
                break
            done, _ = await asyncio.wait(running, timeout=max(0, lease - time.monotonic()), return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                entry = running.pop(task)
                await self._settle_outcome(entry, task.exception())
            if time.monotonic() >= lease:
                await self._send()
                left = [entry[0] for entry in running.values()] + [entry[0] for entry in queue[at:]]
                if left:
                    kept = await self._renew(left)
                    queue = queue[:at] + [entry for entry in queue[at:] if entry[0] in kept]
                lease = time.monotonic() + renew_every
        await self._send()

    def _decode(self, entry: _Entry) -> Optional[CrowdPredictionEnvelope]:
        """The envelope, or None with its dead letter queued."""
        _, fields, oversized = entry
        data = fields.get("data")
        try:
            return decode_entry(list(fields), data, oversized, self.options.max_payload_bytes)
        except DecodeError as error:
            self._bury(entry, error.reason, error.errors)
            return None

    def _may_start(self) -> bool:
        return not self.stop.is_set() and (self.options.limit is None or self._done() < self.options.limit)

    async def _settle_outcome(self, entry: _Entry, error: Optional[BaseException]) -> None:
        """A success queues the acknowledgement; a failure is counted in Redis at once (its count decides)."""
        entry_id = entry[0]
        if error is None:
            self.stats.handled += 1
            self.unsettled.append(_Settle(entry_id, "ack"))
            return
        self.stats.failed += 1
        self.unsettled.append(_Settle(entry_id, "fail"))
        attempts = await self._send()
        if attempts is None or attempts < 0:
            return  # another consumer has it now
        logger.warning("handler failed on %s (%d attempts): %s", entry_id, attempts, error)
        if attempts >= self.options.max_deliveries:
            message = f"handler failed {attempts} times, last: {error}"
            self._bury(entry, "handler_failed", [{"path": "", "code": "handler_failed", "message": message}])
            return
        self.own_pending = True
        at = time.monotonic() + self._retry_after(attempts) / 1000
        self.next_retry = at if self.next_retry is None else min(self.next_retry, at)

    def _bury(self, entry: _Entry, reason: str, errors: list[dict[str, str]]) -> None:
        """Queues a dead letter, acknowledged with it. The payload is copied
        inside Redis (byte for byte, as the Rust consumer writes it), and one
        over the size limit only with `copy_oversized`."""
        entry_id, fields, oversized = entry
        copy = "data" in fields if oversized is None else self.options.copy_oversized
        errors_json = json.dumps(errors, separators=(",", ":"), ensure_ascii=False)
        values = ["reason", reason, "errors", errors_json, "id", entry_id, "group", self.options.group,
                  "consumer", self.options.consumer]
        if oversized is not None:
            values += ["size", str(oversized)]
        self.unsettled.append(_Settle(entry_id, "bury", reason, copy, values))

    async def _send(self) -> Optional[int]:
        """`settle.lua` on the queue in one call, acknowledgements first;
        gives the result of the last other entry. When the call fails the
        queue is kept, and sent first after the reconnect."""
        if not self.unsettled:
            return None
        acks = [s for s in self.unsettled if s.action == "ack"]
        others = [s for s in self.unsettled if s.action != "ack"]
        args: list[Any] = [self.options.group, self.options.consumer, len(acks), *(s.id for s in acks)]
        for settle in others:
            if settle.action == "bury":
                args += [settle.id, "bury", "copy" if settle.copy else "", len(settle.fields), *settle.fields]
            else:
                args += [settle.id, "fail", "", 0]
        _, results = await self._script(GROUP_SETTLE_SCRIPT, [self.stream, self.dead, self.attempts], args)
        if len(results or []) != len(others):
            raise RuntimeError(f"settle.lua gave {len(results or [])} results for {len(others)} entries")
        self.unsettled = []
        for settle, result in zip(others, results or []):
            if settle.action == "bury" and int(result) >= 0:
                self.stats.dead_lettered[settle.reason] = self.stats.dead_lettered.get(settle.reason, 0) + 1
                report(SkippedEntry(settle.id, settle.reason, json.loads(settle.fields[3])), self.on_skip)
        return int(results[-1]) if results else None

    def _done(self) -> int:
        return self.stats.handled + sum(self.stats.dead_lettered.values())

    def _remaining(self, fetched: int = 0) -> int:
        """How many more it may fetch: its batch size, or less near its `limit`."""
        if self.options.limit is None:
            return self.options.count
        return max(0, min(self.options.count, self.options.limit - self._done() - fetched))

    def _wants_more(self) -> bool:
        return self._remaining() > 0 and not self.stop.is_set()
