"""Users: roles, area scopes, argon2 passwords, revocable sessions and login throttling."""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation

from core.errors import AuthError, InputError, NotFound, Throttled
from core.principal import User
from db.rows import fetch_dicts

ROLES = ("admin", "coordinator", "verifier", "planner")
SCOPE_LEVELS = ("provinsi", "kota", "kecamatan", "kelurahan", "rt")
PROVINCE = re.compile(r"\d{2}")
MIN_PASSWORD = 10
MAX_FAILURES = 5  # attempts per username and client address evaluated within THROTTLE_WINDOW
THROTTLE_WINDOW = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=8)

_hasher = PasswordHasher()
# verified against when the username is unknown, so both cases cost the same time
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def token_digest(token: str) -> str:
    """What is stored for a session token or key secret: its SHA-256 (they are random, so no salt is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


async def check_scope(conn: AsyncConnection[Any], level: str, codes: list[str]) -> None:
    if level not in SCOPE_LEVELS:
        raise InputError(f"unknown scope level {level!r}; use one of {', '.join(SCOPE_LEVELS)}")
    if not codes:
        raise InputError("a scope needs at least one area code")
    if level == "provinsi":  # no province areas are stored: a province is the kab/kota loaded under its code
        bad = sorted(c for c in codes if not PROVINCE.fullmatch(c))
        if bad:
            raise InputError(f"province codes are two digits (e.g. 15), got {', '.join(bad)}")
        cur = await conn.execute(
            "SELECT array_agg(c ORDER BY c) FROM unnest(%s::text[]) c "
            "WHERE NOT EXISTS (SELECT 1 FROM area a WHERE a.level = 'kota' AND starts_with(a.code, c || '.'))",
            (codes,),
        )
        row = await cur.fetchone()
        if row and row[0]:
            raise InputError(f"no kab/kota is loaded in province(s) {', '.join(row[0])}")
        return
    cur = await conn.execute(
        "SELECT array_agg(c ORDER BY c) FROM unnest(%s::text[]) c "
        "WHERE NOT EXISTS (SELECT 1 FROM area a WHERE a.code = c AND a.level = %s)",
        (codes, level),
    )
    row = await cur.fetchone()
    if row and row[0]:
        raise InputError(f"no {level} area with code(s) {', '.join(row[0])}")


def _check_user(username: str, password: str | None, role: str, level: str) -> None:
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    if role == "verifier" and level != "rt":
        raise InputError("a verifier's scope is a set of RTs (--scope-level rt)")
    if password is not None and len(password) < MIN_PASSWORD:
        raise InputError(f"the password must have at least {MIN_PASSWORD} characters")
    if not username or not username[0].isalnum() or username != username.lower():
        raise InputError("usernames are lower-case letters, digits, '.', '_' or '-', 3 to 64 characters")


async def add_user(
    conn: AsyncConnection[Any],
    username: str,
    password: str,
    role: str,
    scope_level: str,
    scope_codes: list[str],
    full_name: str | None = None,
    kk_hash: str | None = None,
) -> int:
    """Create a user; InputError when the name is taken, the role or scope is unknown or the password short.

    `kk_hash` is the keyed hash of the user's own KK number (verifiers): a visit to that family is flagged.
    """
    _check_user(username, password, role, scope_level)
    await check_scope(conn, scope_level, scope_codes)
    hashed = await asyncio.to_thread(_hasher.hash, password)
    try:
        async with conn.transaction():
            cur = await conn.execute(
                """INSERT INTO app_user (username, full_name, password_hash, role, scope_level, scope_codes, kk_hash)
                   VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id""",
                (username, full_name, hashed, role, scope_level, sorted(set(scope_codes)), kk_hash),
            )
            row = await cur.fetchone()
    except UniqueViolation as exc:
        raise InputError(f"the username {username!r} is taken") from exc
    assert row is not None
    return int(row[0])


async def list_users(conn: AsyncConnection[Any]) -> list[dict[str, Any]]:
    """Every user with role, scope and state (no password hashes)."""
    return await fetch_dicts(
        conn,
        """SELECT u.username, u.full_name, u.role, u.scope_level, u.scope_codes, u.head_of_office,
                  u.disabled_at IS NOT NULL AS disabled,
                  (SELECT count(*) FROM auth_session s WHERE s.user_id = u.id AND s.revoked_at IS NULL
                     AND s.expires_at > now()) AS sessions FROM app_user u ORDER BY u.username""",
    )


async def _revoke_all(conn: AsyncConnection[Any], user_id: int) -> None:
    await conn.execute(
        "UPDATE auth_session SET revoked_at = now() WHERE user_id = %s AND revoked_at IS NULL", (user_id,)
    )


async def disable_user(conn: AsyncConnection[Any], username: str) -> None:
    """Disable a user and end every session at once."""
    async with conn.transaction():
        cur = await conn.execute(
            "UPDATE app_user SET disabled_at = now(), updated_at = now() WHERE username = %s RETURNING id",
            (username,),
        )
        row = await cur.fetchone()
        if row is None:
            raise NotFound(f"no user {username!r}")
        await _revoke_all(conn, row[0])


async def set_role(
    conn: AsyncConnection[Any], username: str, role: str, scope_level: str, scope_codes: list[str]
) -> None:
    """Change a user's role and scope; their sessions end at once."""
    _check_user(username, None, role, scope_level)
    await check_scope(conn, scope_level, scope_codes)
    async with conn.transaction():
        cur = await conn.execute(
            # a head of office who stops being staff stops being one (migration 0024's check)
            """UPDATE app_user SET role = %s, scope_level = %s, scope_codes = %s, updated_at = now(),
                   head_of_office = head_of_office AND %s IN ('admin', 'coordinator')
               WHERE username = %s RETURNING id""",
            (role, scope_level, sorted(set(scope_codes)), role, username),
        )
        row = await cur.fetchone()
        if row is None:
            raise NotFound(f"no user {username!r}")
        await _revoke_all(conn, row[0])


async def set_head_of_office(conn: AsyncConnection[Any], username: str, head: bool) -> None:
    """Grant or withdraw the head of office's permission: the second step of a two-step approval (verval.approval).
    Only a coordinator or administrator can hold it; their sessions go on (the permission is read at each decision)."""
    async with conn.transaction():
        cur = await conn.execute("SELECT role FROM app_user WHERE username = %s FOR UPDATE", (username,))
        row = await cur.fetchone()
        if row is None:
            raise NotFound(f"no user {username!r}")
        if head and row[0] not in ("admin", "coordinator"):
            raise InputError(f"{username!r} is a {row[0]}: only a coordinator or administrator can be head of office")
        await conn.execute(
            "UPDATE app_user SET head_of_office = %s, updated_at = now() WHERE username = %s", (head, username)
        )


# One attempt takes one slot of its (username, client address) pair, atomically: concurrent attempts
# queue on the pair's row, so exactly MAX_FAILURES of them are evaluated in a window whatever the timing.
# A success clears the pair; other addresses have their own slots, so nobody locks an account for others.
_TAKE_SLOT = """
INSERT INTO login_throttle AS t (username, client, attempts, window_start) VALUES (%(u)s, %(c)s, 1, now())
ON CONFLICT (username, client) DO UPDATE  -- values only (Citus: no function or stable operator here): now() as
    -- the proposed row's window_start, and the start before which a window is over (`old`) given from here
    SET attempts = CASE WHEN t.window_start <= %(old)s THEN 1 ELSE t.attempts + 1 END,
        window_start = CASE WHEN t.window_start <= %(old)s THEN EXCLUDED.window_start ELSE t.window_start END
RETURNING t.attempts, t.window_start  -- the window's end is added here in Python (Citus: no stable operator here)
"""


async def _take_slot(conn: AsyncConnection[Any], username: str, client: str) -> None:
    async with conn.transaction():  # committed at once: the row is locked only for this statement
        old = datetime.now(UTC) - THROTTLE_WINDOW
        cur = await conn.execute(_TAKE_SLOT, {"u": username, "c": client, "old": old})
        row = await cur.fetchone()
        if secrets.randbelow(100) == 0:  # forget windows long over, now and then
            await conn.execute("DELETE FROM login_throttle WHERE window_start < now() - %s", (THROTTLE_WINDOW * 2,))
    assert row is not None
    if row[0] > MAX_FAILURES:
        wait = math.ceil((row[1] + THROTTLE_WINDOW - datetime.now(UTC)).total_seconds())
        raise Throttled(f"too many failed logins for {username!r} from this address; try again later", max(1, wait))


async def authenticate(conn: AsyncConnection[Any], username: str, password: str, client: str | None = None) -> User:
    """The user behind a username and password; AuthError (one message for every failure) or Throttled.

    At most MAX_FAILURES attempts per username and client address are evaluated in THROTTLE_WINDOW.
    """
    await _take_slot(conn, username.strip().lower()[:100], client or "")
    async with conn.transaction():
        cur = await conn.execute(
            """SELECT id, username, role, scope_level, scope_codes, password_hash FROM app_user
               WHERE username = %s AND disabled_at IS NULL""",
            (username,),
        )
        row = await cur.fetchone()
        ok = await asyncio.to_thread(_verify, row[5] if row else _DUMMY_HASH, password) and row is not None
        await conn.execute(
            "INSERT INTO login_attempt (username, client, ok) VALUES (%s, %s, %s)", (username[:100], client, ok)
        )
        if ok:
            await conn.execute(
                "DELETE FROM login_throttle WHERE username = %s AND client = %s",
                (username.strip().lower()[:100], client or ""),
            )
    if not ok or row is None:
        raise AuthError("wrong username or password")
    return User(row[0], row[1], row[2], row[3], tuple(row[4]))


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


async def open_session(conn: AsyncConnection[Any], user: User, kind: str = "bearer") -> str:
    """A new random session token for the user (returned once; only its digest is stored)."""
    token = secrets.token_urlsafe(32)
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO auth_session (user_id, token_hash, kind, expires_at) VALUES (%s, %s, %s, now() + %s)",
            (user.id, token_digest(token), kind, SESSION_TTL),
        )
    return token


async def session_user(conn: AsyncConnection[Any], token: str) -> User:
    """The user of a live session; AuthError when the token is unknown, expired, revoked or the user disabled."""
    cur = await conn.execute(
        """SELECT u.id, u.username, u.role, u.scope_level, u.scope_codes FROM auth_session s
           JOIN app_user u ON u.id = s.user_id
           WHERE s.token_hash = %s AND s.revoked_at IS NULL AND s.expires_at > now() AND u.disabled_at IS NULL""",
        (token_digest(token),),
    )
    row = await cur.fetchone()
    if row is None:
        raise AuthError("the token is invalid, expired or revoked")
    return User(row[0], row[1], row[2], row[3], tuple(row[4]))


async def close_session(conn: AsyncConnection[Any], token: str) -> None:
    """Log out: the session ends at once."""
    async with conn.transaction():
        await conn.execute(
            "UPDATE auth_session SET revoked_at = now() WHERE token_hash = %s AND revoked_at IS NULL",
            (token_digest(token),),
        )
