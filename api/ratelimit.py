"""Request rate limits per API key and per logged-in user: a token bucket per principal, per process."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from access.users import Throttled


@dataclass
class RateLimiter:
    """`per_minute` requests a minute on average, bursts up to the same number."""

    per_minute: int
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def hit(self, who: str) -> None:
        """Take one request from `who`'s bucket; Throttled (429, Retry-After) when it is empty."""
        now = time.monotonic()
        rate = self.per_minute / 60.0
        tokens, last = self._buckets.get(who, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - last) * rate)
        if tokens < 1.0:
            self._buckets[who] = (tokens, now)
            raise Throttled(f"too many requests; at most {self.per_minute} a minute", int((1.0 - tokens) / rate) + 1)
        self._buckets[who] = (tokens - 1.0, now)
        if len(self._buckets) > 100_000:  # forget idle principals rather than grow without bound
            self._buckets.clear()
