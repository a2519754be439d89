"""Area codes as files write them: dotted (15.71.01.1001), plain digits (1571011001), numbers, unpadded RW/RT.

`normalise_code` turns what can be read safely into the dotted form of one level and refuses the rest
with a reason: a digit string is split only when its length is exactly that level's (2+2+2+4+3+3
digits); an ambiguous or wrong length, a number whose digits may be lost, or a code of another level
are refused. Boundary attribute tables and registry files share it.
"""

from __future__ import annotations

import math
import re

from core.levels import CODE_PATTERNS, LEVELS

# the digits of each part of a code, and how many digits each level's code has written without dots
PARTS = (2, 2, 2, 4, 3, 3)
DIGITS: dict[str, int] = {level: sum(PARTS[: i + 2]) for i, level in enumerate(LEVELS)}
EXAMPLES: dict[str, str] = {
    "kota": "15.71",
    "kecamatan": "15.71.01",
    "kelurahan": "15.71.01.1001",
    "rw": "15.71.01.1001.002",
    "rt": "15.71.01.1001.002.005",
}
NAMES = {"kota": "kota", "kecamatan": "kecamatan", "kelurahan": "kelurahan", "rw": "RW", "rt": "RT"}
_LEVEL_OF_DIGITS = {n: level for level, n in DIGITS.items()}
_SPACES = re.compile(r"\s+")
_DOTTED = re.compile(r"\d+(?:\.\d+)+")
# 1571011001.0: a code that went through a float (no dotted code has 3 or more digits before its first dot)
_FLOAT_TEXT = re.compile(r"(\d{3,})\.0+")
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d*)?[eE][+-]?\d+")
EXACT_FLOAT = 2**53  # integers above this are not all exact as float64


class CodeError(ValueError):
    """A code that cannot be read as the level's code; the message is the reason shown to the user."""


def show(value: object) -> str:
    """A short quoted form of a value for reasons."""
    text = repr(value.strip() if isinstance(value, str) else value)
    return text if len(text) <= 40 else text[:37] + "..."


def split_digits(digits: str) -> str:
    """Plain digits of a level's length (4, 6, 10, 13 or 16) in the dotted form: 1571011001 -> 15.71.01.1001."""
    parts, at = [], 0
    for width in PARTS:
        if at >= len(digits):
            break
        parts.append(digits[at : at + width])
        at += width
    return ".".join(parts)


def a_code(level: str) -> str:
    """'a kelurahan code', 'an RT code': the level's code named in a sentence."""
    name = NAMES[level]
    return f"{'an' if name[0] in 'RAEIOU' else 'a'} {name} code"


def normalise_code(value: object, level: str) -> str:
    """The code of `level` in its dotted form, or CodeError whose message says why (naming the value).

    Accepted: the dotted form; plain digits of exactly the level's length (1571011001 for a kelurahan);
    whole numbers (ints, integral floats below 2**53, '1571011001.0'); RW and RT parts written without
    their leading zeros in the dotted form (15.71.01.1001.2.5). A kota code read as the number 15.71 is
    accepted only in that exact form (a number loses trailing zeros: 15.7 could be 15.70 or 15.07).
    """
    pattern = CODE_PATTERNS[level]
    if isinstance(value, bool):
        raise CodeError(f"{show(value)} is a true/false value, not {a_code(level)}")
    raw = _from_float(value, level) if isinstance(value, float) else value if isinstance(value, str) else str(value)
    if pattern.fullmatch(raw):
        return raw
    raw = _SPACES.sub("", raw).lstrip("'")  # Excel's text marker, and spaces typed between groups
    if not raw:
        raise CodeError("missing")
    if pattern.fullmatch(raw):
        return raw
    if _SCIENTIFIC.fullmatch(raw):
        raise CodeError(f"{show(value)} is a number in scientific notation: its digits may be lost"
                        " (store codes as text)")  # fmt: skip
    float_text = _FLOAT_TEXT.fullmatch(raw)
    if float_text:
        raw = float_text.group(1)
    if raw.isdigit() and raw.isascii():
        return _from_digits(raw, level, value)
    if _DOTTED.fullmatch(raw):
        return _from_dotted(raw, level, value)
    raise CodeError(f"{show(value)} is not {a_code(level)} like {EXAMPLES[level]}")


def _from_float(value: float, level: str) -> str:
    """A number cell as the text of a code: whole numbers exactly, a kota's 15.71 as it reads."""
    if not math.isfinite(value):
        raise CodeError(f"{show(value)} is not {a_code(level)} like {EXAMPLES[level]}")
    if value.is_integer():
        if abs(value) >= EXACT_FLOAT:
            raise CodeError(f"{value:.0f} is a number too large to keep every digit (store codes as text)")
        return str(int(value))
    text = repr(value)
    if level == "kota" and CODE_PATTERNS["kota"].fullmatch(text):
        return text
    raise CodeError(f"{text} is a number with a fraction, not {a_code(level)} like {EXAMPLES[level]}"
                    " (a number loses zeros: store codes as text)")  # fmt: skip


def _from_digits(digits: str, level: str, value: object) -> str:
    """Plain digits split into the level's parts when their count is exactly the level's."""
    n, wanted = len(digits), DIGITS[level]
    if n == wanted:
        return split_digits(digits)
    other = _LEVEL_OF_DIGITS.get(n)
    if other is not None:
        raise CodeError(f"{show(value)} is not {a_code(level)}: its {n} digits make {a_code(other)}"
                        f" ({split_digits(digits)}); {a_code(level)} has {wanted} digits,"
                        f" like {EXAMPLES[level]}")  # fmt: skip
    raise CodeError(f"{show(value)} is not {a_code(level)}: it has {n} digits, and written without dots"
                    f" {a_code(level)} has exactly {wanted} ({EXAMPLES[level].replace('.', '')})")  # fmt: skip


def _from_dotted(raw: str, level: str, value: object) -> str:
    """A dotted code whose RW/RT parts lost their leading zeros, padded; any other shape refused."""
    parts = raw.split(".")
    wanted = LEVELS.index(level) + 2
    like = f"{a_code(level)} like {EXAMPLES[level]}"
    if len(parts) != wanted:
        if 2 <= len(parts) <= len(PARTS):
            raise CodeError(f"{show(value)} is {a_code(LEVELS[len(parts) - 2])} ({len(parts)} parts), not {like}")
        raise CodeError(f"{show(value)} is not {like} ({len(parts)} parts)")
    if any(len(p) != width for p, width in zip(parts[:4], PARTS, strict=False)):
        raise CodeError(f"{show(value)} is not {like} (the province, kota, kecamatan and kelurahan parts"
                        " have 2, 2, 2 and 4 digits)")  # fmt: skip
    tail = parts[4:]
    if any(len(p) > 3 for p in tail):
        raise CodeError(f"{show(value)} is not {like} (the RW and RT parts have 3 digits)")
    return ".".join(parts[:4] + [p.zfill(3) for p in tail])
