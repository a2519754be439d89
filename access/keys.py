"""Agency API keys: shown once at creation, stored as a digest, revocable, each with an area scope."""

from __future__ import annotations

import secrets
from typing import Any

from psycopg import AsyncConnection

from access.users import check_scope, token_digest
from core.errors import AuthError, InputError, NotFound
from core.principal import Agency
from db.rows import fetch_dicts

PREFIX = "pv"


async def create_key(
    conn: AsyncConnection[Any], name: str, scope_level: str, scope_codes: list[str], points_agreement: bool = False,
    programme: str | None = None,
    programme_names: bool = False,
    programme_hashes: bool = True,
) -> str:
    """A new key 'pv_<id>_<secret>' for an agency; the caller shows it once, only its digest is kept. With a
    `programme` (a code the caller checked), the key serves that programme's exchange and nothing else; without
    `programme_hashes` (an agreement) its eligibility lists leave out the shared keyed KK/NIK hashes."""
    if not name.strip():
        raise InputError("an API key needs the agency's name")
    if programme is not None and points_agreement:
        raise InputError("a programme key exchanges its programme's lists only; it holds no points agreement")
    if programme_names and programme is None:
        raise InputError("only a programme key's lists may carry names and addresses (give the programme)")
    if not programme_hashes and programme is None:
        raise InputError("only a programme key's lists may leave out the keyed hashes (give the programme)")
    if scope_level == "rt":
        raise InputError("an agency's scope is a province, the city, kecamatan or kelurahan")
    await check_scope(conn, scope_level, scope_codes)
    ident, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    async with conn.transaction():
        await conn.execute(
            """INSERT INTO api_key (name, prefix, key_hash, scope_level, scope_codes, points_agreement, programme,
                                    programme_names, programme_hashes)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)""",
            (name.strip(), ident, token_digest(secret), scope_level, sorted(set(scope_codes)), points_agreement,
             programme, programme_names, programme_hashes),
        )
    return f"{PREFIX}_{ident}_{secret}"


async def revoke_key(conn: AsyncConnection[Any], ident: str) -> None:
    """Revoke a key by its id part (the 12 hex digits after 'pv_'); it stops working at once."""
    async with conn.transaction():
        cur = await conn.execute(
            "UPDATE api_key SET revoked_at = now() WHERE prefix = %s AND revoked_at IS NULL RETURNING id", (ident,)
        )
        if await cur.fetchone() is None:
            raise NotFound(f"no active key {ident!r}")


async def list_keys(conn: AsyncConnection[Any]) -> list[dict[str, Any]]:
    """Every key's id part, agency, scope, programme with its agreements, and state (never the secret)."""
    return await fetch_dicts(
        conn,
        "SELECT prefix AS id, name, scope_level, scope_codes, programme, programme_names, programme_hashes,"
        " created_at, revoked_at, last_used_at FROM api_key ORDER BY id",
    )


async def key_hashes(conn: AsyncConnection[Any], key_id: int) -> bool:
    """Whether a programme key's eligibility lists carry the shared keyed KK/NIK hashes (its agreement; default
    yes)."""
    cur = await conn.execute("SELECT programme_hashes FROM api_key WHERE id = %s", (key_id,))
    row = await cur.fetchone()
    return bool(row[0]) if row else True


async def key_agency(conn: AsyncConnection[Any], presented: str) -> Agency:
    """The agency behind a presented key; AuthError when it is malformed, unknown or revoked."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        raise AuthError("the API key is invalid or revoked")
    async with conn.transaction():
        cur = await conn.execute(
            """UPDATE api_key SET last_used_at = now()
               WHERE prefix = %s AND key_hash = %s AND revoked_at IS NULL
               RETURNING id, name, scope_level, scope_codes, points_agreement, programme, programme_names""",
            (parts[1], token_digest(parts[2])),
        )
        row = await cur.fetchone()
    if row is None:
        raise AuthError("the API key is invalid or revoked")
    if row[5] is not None:  # bound to one programme: its own role, admitted by the programme routes only
        return Agency(row[0], row[1], row[2], tuple(row[3]), False, role="programme", programme=row[5],
                      programme_names=row[6])
    return Agency(row[0], row[1], row[2], tuple(row[3]), row[4])
