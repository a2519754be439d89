"""Request rate limits: a token bucket per API key, per logged-in user, and per client address for
anonymous requests (and wrong credentials), per process."""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field

from starlette.requests import HTTPConnection

from core.errors import Throttled


def client_address(request: HTTPConnection) -> str:
    """The client's address as one party: IPv4 as is, IPv6 by its /64 (one subscriber holds a whole /64).

    It is the connection's peer: behind a reverse proxy, the proxy, unless uvicorn is told to trust the
    proxy's X-Forwarded-For (`--proxy-headers --forwarded-allow-ips`; `peta serve` does not).
    """
    host = request.client.host if request.client else ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


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
        if len(self._buckets) > 100_000:  # forget full (idle) buckets rather than grow without bound
            full = [k for k, (n, at) in self._buckets.items() if n + (now - at) * rate >= self.per_minute]
            for k in full:
                del self._buckets[k]
            if len(self._buckets) > 100_000:
                self._buckets.clear()

    def hit_address(self, request: HTTPConnection) -> None:
        """Take one request from the bucket of the request's client address."""
        self.hit(f"addr:{client_address(request)}")
