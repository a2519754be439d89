"""Pseudonymising identity numbers (NIK, KK): keyed hashes for matching, masked forms for display."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache


@lru_cache(maxsize=8)
def _keyed(key: bytes) -> hmac.HMAC:
    return hmac.new(key, digestmod=hashlib.sha256)


def keyed_hash(key: bytes, value: str) -> str:
    """Hex HMAC-SHA256 of `value` (whitespace stripped) under `key`."""
    mac = _keyed(key).copy()  # the keyed state is computed once per key, not once per value
    mac.update(value.strip().encode())
    return mac.hexdigest()


def mask_number(value: str) -> str:
    """First 6 and last 4 characters kept, the rest as '******': 1571015003900001 -> 157101******0001."""
    text = value.strip()
    if len(text) <= 10:
        return "*" * len(text)
    return text[:6] + "******" + text[-4:]
