"""`peta users` and `peta keys`: people with roles and area scopes, agency API keys."""

from __future__ import annotations

from typing import Any

import psycopg
import typer
from rich.table import Table

from access.keys import create_key, list_keys, revoke_key
from access.users import ROLES, add_user, disable_user, list_users, set_head_of_office, set_role
from core.errors import InputError
from core.privacy import keyed_hash
from core.settings import load_secret_key
from gis.queries import area_codes
from peta.common import console, handle_errors, run_async, settings

users_app = typer.Typer(
    help="People: roles (admin, coordinator, verifier, planner) and area scopes.", no_args_is_help=True
)
keys_app = typer.Typer(help="Agency API keys (shown once, stored hashed).", no_args_is_help=True)
SCOPE_HELP = "Scope level: provinsi (codes like 15), kota, kecamatan, kelurahan, or rt (verifiers)."
CODES_HELP = (
    "Area code(s) of the scope, repeatable (e.g. --scope 15.71.01); default, at kota level: the kab/kota loaded,"
    " when there is only one."
)


async def _scope_codes(conn: psycopg.AsyncConnection[Any], level: str, codes: list[str] | None) -> list[str]:
    """The codes given, or at kota level the one kab/kota loaded; InputError naming what to give otherwise."""
    if codes:
        return codes
    if level != "kota":
        raise InputError(f"--scope: give the {level} code(s) of the scope")
    loaded = await area_codes(conn, "kota")
    if len(loaded) != 1:
        found = f"{len(loaded)} are loaded ({', '.join(loaded[:10])})" if loaded else "none is loaded yet"
        raise InputError(f"--scope: name the kab/kota of the scope (e.g. --scope 15.71): {found}")
    return loaded


@users_app.command("add")
@handle_errors
def users_add(
    username: str = typer.Argument(..., help="Login name (lower case)."),
    role: str = typer.Option(..., help=f"One of {', '.join(ROLES)}."),
    scope_level: str = typer.Option("kota", help=SCOPE_HELP),
    scope: list[str] | None = typer.Option(None, help=CODES_HELP),
    full_name: str | None = typer.Option(None, help="Full name, for the audit trail."),
    kk: str | None = typer.Option(
        None,
        help="The user's own KK number (16 digits; stored only as a keyed hash): their family's visits are flagged.",
    ),
    password: str = typer.Option(
        ...,
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        help="At least 10 characters; asked for when not given.",
    ),
) -> None:
    """Create a user."""
    kk_hash = None
    if kk is not None:
        if not (len(kk.strip()) == 16 and kk.strip().isdigit()):
            raise ValueError("--kk must be the 16 digits of a KK number")
        kk_hash = keyed_hash(load_secret_key(settings()), kk)

    async def add(conn: psycopg.AsyncConnection[Any]) -> list[str]:
        codes = await _scope_codes(conn, scope_level, scope)
        await add_user(conn, username, password, role, scope_level, codes, full_name, kk_hash)
        return codes

    codes = run_async(add)
    console.print(f"user {username} ({role}, {scope_level} {', '.join(codes)}) created")


@users_app.command("list")
@handle_errors
def users_list() -> None:
    """Every user with role, scope, state and live sessions."""
    rows = run_async(list_users)
    table = Table("username", "name", "role", "scope", "disabled", "sessions")
    for r in rows:
        table.add_row(
            r["username"],
            r["full_name"] or "",
            r["role"] + (" (head of office)" if r["head_of_office"] else ""),
            f"{r['scope_level']} {', '.join(r['scope_codes'])}",
            "yes" if r["disabled"] else "",
            str(r["sessions"]),
        )
    console.print(table)


@users_app.command("disable")
@handle_errors
def users_disable(username: str = typer.Argument(..., help="Login name.")) -> None:
    """Disable a user; every session of theirs ends at once."""
    run_async(lambda c: disable_user(c, username))
    console.print(f"user {username} disabled; sessions ended")


@users_app.command("role")
@handle_errors
def users_role(
    username: str = typer.Argument(..., help="Login name."),
    role: str = typer.Option(..., help=f"One of {', '.join(ROLES)}."),
    scope_level: str = typer.Option("kota", help=SCOPE_HELP),
    scope: list[str] | None = typer.Option(None, help=CODES_HELP),
) -> None:
    """Change a user's role and scope; every session of theirs ends at once."""

    async def change(conn: psycopg.AsyncConnection[Any]) -> list[str]:
        codes = await _scope_codes(conn, scope_level, scope)
        await set_role(conn, username, role, scope_level, codes)
        return codes

    codes = run_async(change)
    console.print(f"user {username} is now {role} ({scope_level} {', '.join(codes)}); sessions ended")


@users_app.command("head-of-office")
@handle_errors
def users_head_of_office(
    username: str = typer.Argument(..., help="Login name of a coordinator or administrator."),
    revoke: bool = typer.Option(False, "--revoke", help="Withdraw the permission instead of granting it."),
) -> None:
    """Make a coordinator or administrator head of office: the second step of a two-step approval of visits
    (verval.approval_steps: 2), never by the person who took the first."""
    run_async(lambda c: set_head_of_office(c, username, not revoke))
    console.print(f"user {username} is {'no longer' if revoke else 'now'} head of office")


@keys_app.command("create")
@handle_errors
def keys_create(
    name: str = typer.Argument(..., help="The agency, e.g. 'BPJS Kesehatan cabang kota'."),
    scope_level: str = typer.Option("kota", help="provinsi (codes like 15), kota, kecamatan or kelurahan."),
    scope: list[str] | None = typer.Option(None, help=CODES_HELP),
    points_agreement: bool = typer.Option(
        False, "--points-agreement", help="An agreement lets this agency see household points (always geomasked)."
    ),
) -> None:
    """Create a key; it is printed once and cannot be shown again."""

    async def create(conn: psycopg.AsyncConnection[Any]) -> str:
        return await create_key(conn, name, scope_level, await _scope_codes(conn, scope_level, scope), points_agreement)

    key = run_async(create)
    console.print(f"API key for {name} (store it now, it is not shown again):")
    print(key)


@keys_app.command("list")
@handle_errors
def keys_list() -> None:
    """Every key's id, agency, scope, programme (with its agreements) and state."""
    table = Table("id", "agency", "scope", "created", "revoked", "last used", "programme")
    for r in run_async(list_keys):
        table.add_row(
            r["id"],
            r["name"],
            f"{r['scope_level']} {', '.join(r['scope_codes'])}",
            f"{r['created_at']:%Y-%m-%d}",
            f"{r['revoked_at']:%Y-%m-%d}" if r["revoked_at"] else "",
            f"{r['last_used_at']:%Y-%m-%d %H:%M}" if r["last_used_at"] else "",
            _programme_cell(r),
        )
    console.print(table)


def _programme_cell(r: dict[str, Any]) -> str:
    """A key's programme and its agreements ('' for a general agency key)."""
    if not r["programme"]:
        return ""
    terms = (["names"] if r["programme_names"] else []) + ([] if r["programme_hashes"] else ["no hashes"])
    return r["programme"] + (f" ({', '.join(terms)})" if terms else "")


@keys_app.command("revoke")
@handle_errors
def keys_revoke(key_id: str = typer.Argument(..., help="The key's id (the 12 hex digits after 'pv_').")) -> None:
    """Revoke a key; it stops working at once."""
    run_async(lambda c: revoke_key(c, key_id))
    console.print(f"key {key_id} revoked")
