"""`peta users` and `peta keys`: people with roles and area scopes, agency API keys."""

from __future__ import annotations

import typer
from rich.table import Table

from access.keys import create_key, list_keys, revoke_key
from access.users import ROLES, add_user, disable_user, list_users, set_role
from core.privacy import keyed_hash
from core.settings import load_secret_key
from peta.common import console, handle_errors, run_async, settings

users_app = typer.Typer(
    help="People: roles (admin, coordinator, verifier, planner) and area scopes.", no_args_is_help=True
)
keys_app = typer.Typer(help="Agency API keys (shown once, stored hashed).", no_args_is_help=True)
SCOPE_HELP = "Scope level: kota, kecamatan, kelurahan, or rt (verifiers)."
CODES_HELP = "Area code(s) of the scope, repeatable (e.g. --scope 15.71.01)."


@users_app.command("add")
@handle_errors
def users_add(
    username: str = typer.Argument(..., help="Login name (lower case)."),
    role: str = typer.Option(..., help=f"One of {', '.join(ROLES)}."),
    scope_level: str = typer.Option("kota", help=SCOPE_HELP),
    scope: list[str] = typer.Option(["15.71"], help=CODES_HELP),
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
    run_async(lambda c: add_user(c, username, password, role, scope_level, scope, full_name, kk_hash))
    console.print(f"user {username} ({role}, {scope_level} {', '.join(scope)}) created")


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
            r["role"],
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
    scope: list[str] = typer.Option(["15.71"], help=CODES_HELP),
) -> None:
    """Change a user's role and scope; every session of theirs ends at once."""
    run_async(lambda c: set_role(c, username, role, scope_level, scope))
    console.print(f"user {username} is now {role} ({scope_level} {', '.join(scope)}); sessions ended")


@keys_app.command("create")
@handle_errors
def keys_create(
    name: str = typer.Argument(..., help="The agency, e.g. 'BPJS Kesehatan Jambi'."),
    scope_level: str = typer.Option("kota", help="kota, kecamatan or kelurahan."),
    scope: list[str] = typer.Option(["15.71"], help=CODES_HELP),
    points_agreement: bool = typer.Option(
        False, "--points-agreement", help="An agreement lets this agency see household points (always geomasked)."
    ),
) -> None:
    """Create a key; it is printed once and cannot be shown again."""
    key = run_async(lambda c: create_key(c, name, scope_level, scope, points_agreement))
    console.print(f"API key for {name} (store it now, it is not shown again):")
    print(key)


@keys_app.command("list")
@handle_errors
def keys_list() -> None:
    """Every key's id, agency, scope and state."""
    table = Table("id", "agency", "scope", "created", "revoked", "last used")
    for r in run_async(list_keys):
        table.add_row(
            r["id"],
            r["name"],
            f"{r['scope_level']} {', '.join(r['scope_codes'])}",
            f"{r['created_at']:%Y-%m-%d}",
            f"{r['revoked_at']:%Y-%m-%d}" if r["revoked_at"] else "",
            f"{r['last_used_at']:%Y-%m-%d %H:%M}" if r["last_used_at"] else "",
        )
    console.print(table)


@keys_app.command("revoke")
@handle_errors
def keys_revoke(key_id: str = typer.Argument(..., help="The key's id (the 12 hex digits after 'pv_').")) -> None:
    """Revoke a key; it stops working at once."""
    run_async(lambda c: revoke_key(c, key_id))
    console.print(f"key {key_id} revoked")
