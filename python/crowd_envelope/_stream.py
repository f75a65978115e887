"""What the stream helpers share (`redis.py`, `group.py`): the skip they
report, the errors that mean a lost connection, and the entries as the Lua
scripts give them (src/redis/bounded.lua)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Optional, Union

from redis import exceptions as redis_errors

from ._native import gap_skip

logger = logging.getLogger("crowd_envelope")


@dataclass(frozen=True)
class SkippedEntry:
    """An entry that was not delivered, and why. For `trimmed` and
    `stream_reset` the id is the range `after..before`, and `missed` how
    many entries were lost (None when Redis cannot tell)."""

    id: str
    reason: str
    errors: list[dict[str, str]] = field(default_factory=lambda: list[dict[str, str]]())
    missed: Optional[int] = None


OnSkip = Callable[[SkippedEntry], None]

# What a lost or restarting server raises; retried from the cursor.
LOST = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.BusyLoadingError,
    ConnectionError,
    OSError,
    asyncio.TimeoutError,
)


# redis-py 8 reads a reply with a 5 s socket timeout unless told otherwise,
# which a longer blocking XREAD would run into: a wait is at most a second
# (the loop around it waits again), never until the socket times out.
WAIT_CAP_MS = 1000


def wait_ms(block_ms: int) -> int:
    """How long one blocking read waits: `block_ms` (0: as long as it may), at most `WAIT_CAP_MS`."""
    return WAIT_CAP_MS if block_ms <= 0 else min(block_ms, WAIT_CAP_MS)


BACKOFF_SECONDS = (0.1, 5.0)
"""Rust's reconnect backoff (`BACKOFF` in src/redis/mod.rs): 100 ms, doubling, at most 5 s."""


def backoff_seconds(failures: int) -> float:
    """The wait before a retry after `failures` failed attempts in a row."""
    delay: float = BACKOFF_SECONDS[0] * 2**failures
    return min(delay, BACKOFF_SECONDS[1])


async def cursor_at(redis_client: Any, stream_name: str, since: datetime) -> str:
    """The id to follow after for every entry added at or after `since`
    (Rust's `cursor_at`; a naive datetime is UTC): just before its
    millisecond, or `0-0` when the stream's first entry is not older (a time
    before the stream starts at its first entry, with no gap told). A time
    in the future raises `ValueError`: no entry was added then yet."""
    at = since if since.tzinfo is not None else since.replace(tzinfo=timezone.utc)
    if at > datetime.now(timezone.utc):
        raise ValueError(f"since: {at.isoformat()} is in the future: no entry was added then yet")
    ms = max(0, int(at.timestamp() * 1000 // 1))
    first = await redis_client.xrange(stream_name, count=1)
    first_ms = int(text(first[0][0]).split("-")[0]) if first else None
    return f"{ms - 1}-18446744073709551615" if first_ms is not None and first_ms < ms else "0-0"


def text(value: Union[str, bytes]) -> str:
    # A field name that is not UTF-8 is named with U+FFFD in the skip, as the
    # Rust reader names it (a lone surrogate could not be handed to the codec).
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def report(skipped: SkippedEntry, on_skip: Optional[OnSkip]) -> None:
    logger.warning("skipping stream entry %s (%s): %s", skipped.id, skipped.reason, skipped.errors)
    if on_skip is not None:
        on_skip(skipped)


def script_entries(reply: Any) -> list[tuple[str, dict[str, Any], Optional[int]]]:
    """A script's `{id, fields, size}` entries (src/redis/bounded.lua)."""
    out: list[tuple[str, dict[str, Any], Optional[int]]] = []
    for entry_id, flat, size in reply:
        fields = {text(flat[i]): flat[i + 1] for i in range(0, len(flat) - 1, 2)}
        out.append((text(entry_id), fields, int(size) if int(size) > 0 else None))
    return out


def gap(reason: str, after: str, before: str, missed: Optional[int]) -> SkippedEntry:
    """A gap as a skip, worded by the Rust core as every follower words it."""
    entry_id, reason, errors = gap_skip(reason, after, before, missed)
    return SkippedEntry(entry_id, reason, errors, missed)
