"""Per-source politeness settings and the two clocks they drive: a token bucket and backoff.

Both take ``clock`` and ``sleep`` so tests can watch the waits without waiting.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

from pydantic import BaseModel, ConfigDict, Field

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


class Politeness(BaseModel):
    """How hard one source may be asked; ``politeness:`` in sources.yaml, all optional."""

    model_config = ConfigDict(extra="forbid")

    concurrency: int = Field(4, ge=1, description="requests in flight at once")
    rate_per_s: float = Field(4.0, ge=0, description="steady requests per second; 0 = no limit")
    burst: int = Field(4, ge=1, description="requests allowed at once after a quiet spell")
    timeout_s: float = Field(10.0, gt=0, description="per request, seconds")
    retries: int = Field(3, ge=0, description="retries of one request (rate limit, 5xx, timeout)")
    backoff_s: float = Field(1.0, ge=0, description="first retry delay, doubles each retry")
    backoff_max_s: float = Field(60.0, ge=0, description="ceiling of one retry delay")
    retry_after_max_s: float = Field(
        300.0, ge=0, description="longest Retry-After honoured; a longer one backs the source off"
    )
    cooldown_s: float = Field(
        600.0, ge=0, description="how long a refused or failing source rests before a probe"
    )
    cooldown_max_s: float = Field(6 * 3600.0, ge=0, description="ceiling of a doubled cooldown")
    failures_to_open: int = Field(
        3, ge=1, description="failed tasks in a row (retryable errors) that open the circuit"
    )


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; ``take`` waits for one."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.clock = clock
        self.sleep = sleep
        self.stamp = clock()
        self.lock = asyncio.Lock()

    async def take(self) -> None:
        if self.rate <= 0:
            return
        async with self.lock:
            now = self.clock()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens < 1:
                wait = (1 - self.tokens) / self.rate
                await self.sleep(wait)
                self.stamp = self.clock()
                self.tokens = 1.0
            self.tokens -= 1


def backoff_delay(
    policy: Politeness,
    attempt: int,
    retry_after: float | None,
    *,
    rng: Callable[[], float] = random.random,
) -> float:
    """Full-jitter exponential backoff, never shorter than what the server asked for."""
    ceiling = min(policy.backoff_max_s, policy.backoff_s * 2.0**attempt)
    delay = ceiling * (0.5 + rng() / 2)
    return max(delay, retry_after or 0.0)
