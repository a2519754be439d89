"""Approval of a visit in one step or two (DOMAIN.md: the verifier officer, then the head of office).

With one step (`verval.approval_steps: 1`, the default) a coordinator or administrator approves or returns a
submitted visit. With two, that first decision only checks it ('checked'); a head of office (a coordinator or
administrator granted `app_user.head_of_office`), never the person who checked it, then approves or returns it.
A kab/kota may set its own number of steps (`kab_kota: {"PP.KK": {verval: {approval_steps: 2}}}`). Only the final
approval updates the family's record, so ranks, figures and coverage count final approvals only; a checked visit
is still awaiting a decision. Each step is an UPDATE of the visit under the actor's name: the audit trigger keeps
it with its before and after images, and the visit keeps checked_by/checked_at beside decided_by/decided_at.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from core.config import merge, shipped
from core.errors import Forbidden
from core.principal import CliPrincipal, Staff

PENDING = ("submitted", "checked")  # awaiting a decision: a checked visit counts wherever a submitted one does


async def approval_steps(conn: AsyncConnection[Any], kota_codes: list[str]) -> dict[str, int]:
    """The number of approval steps in force per kab/kota: its own setting, else the deployment's."""
    cur = await conn.execute("SELECT key, value FROM peta_config WHERE key IN ('verval', 'kab_kota')")
    stored = dict(await cur.fetchall())
    default = int(merge(shipped("verval"), stored.get("verval") or {})["approval_steps"])
    own = stored.get("kab_kota") or {}
    return {k: int(((own.get(k) or {}).get("verval") or {}).get("approval_steps", default)) for k in kota_codes}


async def is_head_of_office(conn: AsyncConnection[Any], principal: Staff) -> bool:
    """Whether the person may take the second step. The command line acts with the administrator's rights, and
    the migration role that changes who is a head of office: it counts as one (four eyes still hold for it)."""
    if isinstance(principal, CliPrincipal):
        return True
    cur = await conn.execute(
        "SELECT head_of_office FROM app_user WHERE username = %s AND disabled_at IS NULL", (principal.username,)
    )
    row = await cur.fetchone()
    return bool(row and row[0])


def step_of(status: str) -> int | None:
    """Which step a visit awaits (1: the verifier officer's, 2: the head of office's), or None once decided."""
    if status == "checked":
        return 2  # however many steps are configured now: a checked visit is finished by a head of office
    if status == "submitted":
        return 1
    return None


def refusal(step: int | None, checked_by: str | None, actor: str, head: bool) -> str | None:
    """Why this actor may not take the visit's next step (a code the page words), or None when they may."""
    if step == 2:
        if not head:
            return "not_head"
        if checked_by == actor:
            return "four_eyes"
    return None


def check_may_decide(vid: int, step: int, checked_by: str | None, actor: str, head: bool) -> None:
    """Forbidden, with the reason, when the actor may not take the visit's next step."""
    why = refusal(step, checked_by, actor, head)
    if why == "not_head":
        raise Forbidden(f"verification {vid} was checked by {checked_by}; the second step is a head of office's")
    if why == "four_eyes":
        raise Forbidden(f"verification {vid} was checked by you ({actor}): another person, a head of office, "
                        "decides it (four eyes)")  # fmt: skip


async def annotate(conn: AsyncConnection[Any], rows: list[dict[str, Any]], principal: Staff) -> list[dict[str, Any]]:
    """Each listed visit with the steps of its kab/kota, the step it awaits, and whether this person may take it
    (`may_decide`; if not, `refusal`: not_head, four_eyes, or not_staff for a verifier)."""
    if not rows:
        return rows
    steps = await approval_steps(conn, sorted({r["rt_code"][:5] for r in rows}))
    staff = principal.role in ("admin", "coordinator")
    head = staff and await is_head_of_office(conn, principal)
    for r in rows:
        r["approval_steps"] = steps[r["rt_code"][:5]]
        r["step"] = step = step_of(r["status"])
        why = None
        if step is not None:
            why = refusal(step, r["checked_by"], principal.actor, head) if staff else "not_staff"
        r["may_decide"] = step is not None and why is None
        r["refusal"] = why
    return rows
