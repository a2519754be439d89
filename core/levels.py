"""The administrative levels, their order and their code formats (Kemendagri + RW/RT keys)."""

from __future__ import annotations

import re

LEVELS: tuple[str, ...] = ("kota", "kecamatan", "kelurahan", "rw", "rt")

# kab/kota PP.KK · kecamatan PP.KK.CC · kelurahan PP.KK.CC.DDDD · rw +.WWW · rt +.TTT (PP the province)
CODE_PATTERNS: dict[str, re.Pattern[str]] = {
    "kota": re.compile(r"^\d{2}\.\d{2}$"),
    "kecamatan": re.compile(r"^\d{2}\.\d{2}\.\d{2}$"),
    "kelurahan": re.compile(r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$"),
    "rw": re.compile(r"^\d{2}\.\d{2}\.\d{2}\.\d{4}\.\d{3}$"),
    "rt": re.compile(r"^\d{2}\.\d{2}\.\d{2}\.\d{4}\.\d{3}\.\d{3}$"),
}
# the length of each level's code: a code's first PREFIX[level] characters name its area at that level
PREFIX: dict[str, int] = {"kota": 5, "kecamatan": 8, "kelurahan": 13, "rw": 17, "rt": 21}


def check_level(level: str) -> str:
    """The level name normalised, or ValueError listing the valid ones."""
    norm = level.strip().lower()
    if norm not in LEVELS:
        raise ValueError(f"unknown level {level!r}; use one of {', '.join(LEVELS)}")
    return norm


def parent_level(level: str) -> str | None:
    """The level directly above, None for the city."""
    idx = LEVELS.index(level)
    return LEVELS[idx - 1] if idx > 0 else None


def child_level(level: str) -> str | None:
    """The level directly below, None for RT."""
    idx = LEVELS.index(level)
    return LEVELS[idx + 1] if idx + 1 < len(LEVELS) else None


def parent_code(code: str) -> str:
    """The parent's code by prefix: PP.KK.CC.DDDD -> PP.KK.CC."""
    return code.rsplit(".", 1)[0]


def level_of_code(code: str) -> str | None:
    """The level whose code format matches, or None."""
    for level, pattern in CODE_PATTERNS.items():
        if pattern.match(code):
            return level
    return None
