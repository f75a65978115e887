"""A Python producer, as the crowd simulation is one: every 2 seconds it
builds an envelope with the `crowd_envelope` package and publishes it with
`crowd_envelope.redis` (`make demo` runs it beside the shell producer; the
dashboard and `tail` show its entries, source ids `python-producer-N`).

Usage: CROWD_REDIS_URL=redis://127.0.0.1:6379 python examples/python_producer.py
"""

import asyncio
import os
import random
from datetime import datetime, timezone

import redis.asyncio as aioredis

import crowd_envelope as ce
from crowd_envelope.redis import publish_envelope


async def main() -> None:
    client = aioredis.from_url(os.environ.get("CROWD_REDIS_URL", "redis://127.0.0.1:6379"))
    stream = os.environ.get("CROWD_STREAM", ce.DEFAULT_STREAM_NAME)
    n = 0
    while True:
        bullish = random.randint(0, 100)
        bearish = random.randint(0, 100 - bullish)
        envelope = ce.build_envelope(
            {
                "source_type": "polymarket_bet",
                "source_id": f"python-producer-{n}",
                "question": "Will the Python producer's market resolve YES?",
                "probability": round(random.random(), 2),
                "confidence": round(random.uniform(0.4, 1.0), 2),
                "market_probability": round(random.uniform(0.05, 0.95), 2),
                "crowd": {"agents": 100, "bullish": bullish, "bearish": bearish, "neutral": 100 - bullish - bearish},
                "generated_at": datetime.now(timezone.utc),
            },
            meta={"producer": "python"},
        )
        await publish_envelope(client, stream, envelope, max_len=10_000)
        n += 1
        await asyncio.sleep(2)


if __name__ == "__main__":
    asyncio.run(main())
