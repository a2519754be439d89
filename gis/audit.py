"""The audit trail: sealing the hash chain, checking it, and anchors kept outside it.

Rows are inserted unsealed, without a lock, in the transaction of what they record; one sealer
(`seal`, the SQL function peta_audit_seal of db/sql/0013_audit_seal.sql) later chains the committed
ones in id order: each gets its position `seq`, its predecessor's hash and its own. The chain's order is
`seq`. Each row's hash covers its predecessor's hash and its own content, in the encoding named by its
`hash_version`: 1 for the rows written before migration 0010 (fields joined by '|', NULLs left out:
ambiguous), 2 from 0010 to 0013 (each field length-prefixed, NULL marked), 3 from 0013 to 0023 (2 plus the
position), 4 from then on (3 plus the chain). The verifier computes them here, in Python, from the stored
values, independently of the database's own digest functions.

Since migration 0023 there is one chain per kab/kota (`kota_code`, the kab/kota of what a row records) and
the deployment's own chain ('': users, keys, settings, boundaries, and everything audited before 0023). Each
chain has its own positions from 1, its own head in audit_head and its own sealing lock; the verifier walks
every chain and names the chain of the first row changed or removed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from core.errors import InputError
from db.rows import fetch_dicts

GENESIS = "0" * 64

SEAL_BATCH = 10_000
DEPLOYMENT_CHAIN = ""  # the chain of what belongs to no kab/kota

_ROWS = """SELECT id, kota_code, seq, at, actor, role, action, object_type, object_ids, before::text, after::text,
                  reason, prev_hash, hash, hash_version FROM audit_log WHERE seq IS NOT NULL ORDER BY kota_code, seq"""


@dataclass
class ChainReport:
    """The outcome of `peta audit verify`."""

    rows: int
    ok: bool
    message: str
    unsealed: int = 0


# --- the encodings -----------------------------------------------------------------------------------


def _at(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def digest_v1(prev: str, row: dict[str, Any]) -> str:
    """Encoding 1 (0004): concat_ws('|', ...) of the fields, NULLs skipped, ids joined by ','."""
    ids = ",".join(i for i in row["object_ids"] if i is not None)
    fields = [prev, str(row["id"]), _at(row["at"]), row["actor"], row["role"], row["action"], row["object_type"],
              ids, row["before"], row["after"], row["reason"]]  # fmt: skip
    return hashlib.sha256("|".join(f for f in fields if f is not None).encode()).hexdigest()


def _field(value: str | None) -> bytes:
    if value is None:
        return b"N"
    data = value.encode()
    return b"S%d:%s" % (len(data), data)


def _ids(values: Iterable[str | None] | None) -> bytes:
    if values is None:
        return b"N"
    items = list(values)
    return b"A%d:" % len(items) + b"".join(_field(v) for v in items)


def _content(row: dict[str, Any]) -> bytes:
    """A row's own fields in encodings 2 and 3, from its id on."""
    parts = [_field(str(row["id"])), _field(_at(row["at"])), _field(row["actor"]), _field(row["role"]),
             _field(row["action"]), _field(row["object_type"]), _ids(row["object_ids"]), _field(row["before"]),
             _field(row["after"]), _field(row["reason"])]  # fmt: skip
    return b"".join(parts)


def digest_v2(prev: str, row: dict[str, Any]) -> str:
    """Encoding 2 (0010): every field as N (NULL) or S<bytes>:<text>, the ids as A<count>:<fields>."""
    return hashlib.sha256(b"peta-audit-v2" + _field(prev) + _content(row)).hexdigest()


def digest_v3(prev: str, row: dict[str, Any]) -> str:
    """Encoding 3 (0013): encoding 2 with the row's chain position after the previous hash."""
    return hashlib.sha256(b"peta-audit-v3" + _field(prev) + _field(str(row["seq"])) + _content(row)).hexdigest()


def digest_v4(prev: str, row: dict[str, Any]) -> str:
    """Encoding 4 (0023): encoding 3 with the row's chain (its kab/kota code, '' for the deployment's) after the
    position."""
    head = b"peta-audit-v4" + _field(prev) + _field(str(row["seq"])) + _field(row["kota_code"])
    return hashlib.sha256(head + _content(row)).hexdigest()


DIGESTS = {1: digest_v1, 2: digest_v2, 3: digest_v3, 4: digest_v4}


def chain_name(kota_code: str) -> str:
    """How a chain is named in messages."""
    return f"the chain of {kota_code}" if kota_code else "the deployment's chain"


# --- sealing -----------------------------------------------------------------------------------------


async def seal(conn: psycopg.AsyncConnection[Any]) -> int:
    """Chain every committed unsealed row (in batches, each its own transaction); returns how many were sealed.
    Another sealer at work at the same moment makes this one return early: that one chains them."""
    total = 0
    while True:
        async with conn.transaction():
            await conn.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")  # the sealer refuses an older snapshot
            cur = await conn.execute("SELECT peta_audit_seal(%s)", (SEAL_BATCH,))
            row = await cur.fetchone()
        done = int(row[0]) if row else 0
        total += done
        if done < SEAL_BATCH:
            return total


# --- verifying ---------------------------------------------------------------------------------------


def _problem(row: dict[str, Any], before: dict[str, Any] | None, newest_version: int) -> str | None:
    """What is wrong with one row given the one before it, None when it is intact and linked."""
    digest = DIGESTS.get(row["hash_version"])
    if digest is None:
        return f"audit row {row['id']} names an unknown hash encoding {row['hash_version']}"
    if digest(row["prev_hash"], row) != row["hash"]:
        return f"audit row {row['id']} was changed (its hash no longer matches its content)"
    if row["hash_version"] < newest_version:
        return (f"audit row {row['id']} was changed (it claims hash encoding {row['hash_version']}, superseded"
                f" by encoding {newest_version} in the rows before it)")  # fmt: skip
    if row["prev_hash"] != (before["hash"] if before else GENESIS) or (
        row["hash_version"] >= 3 and before is not None and row["seq"] != before["seq"] + 1
    ):
        if before is None:
            return f"audit rows before {row['id']} were removed (the chain breaks at {row['id']})"
        return f"audit rows between {before['id']} and {row['id']} were removed (the chain breaks at {row['id']})"
    return None


async def verify_chain(conn: psycopg.AsyncConnection[Any], *, sealing: bool = True) -> ChainReport:
    """Recompute every sealed row's hash (each with its own encoding) and link, chain by chain in chain order;
    name the first row changed or removed. The committed rows are sealed first unless `sealing` is False (then
    they are only counted); a connection in a REPEATABLE READ transaction cannot seal, so it only counts too."""
    if sealing and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
        await seal(conn)
    elif sealing:
        async with conn.transaction():  # a savepoint of the caller's transaction (read committed: its rows are seen)
            isolation = await conn.execute("SELECT current_setting('transaction_isolation')")
            if await isolation.fetchone() == ("read committed",):
                await conn.execute("SELECT peta_audit_seal(2147483647)")
    rows, chains, before, newest_version = 0, 0, None, 1
    seen: set[str] = set()  # the chains with sealed rows
    async with conn.transaction():  # one snapshot when the connection is REPEATABLE READ (the CLI's)
        heads = {
            kota: (id_, hash_)
            for kota, id_, hash_ in await (await conn.execute("SELECT kota_code, id, hash FROM audit_head")).fetchall()
        }
        async with conn.cursor(name="peta_audit_verify", row_factory=dict_row) as cur:
            cur.itersize = 2000
            await cur.execute(_ROWS)
            async for row in cur:
                if before is not None and row["kota_code"] != before["kota_code"]:
                    problem = _head_problem(before["kota_code"], before, heads)
                    if problem:
                        return ChainReport(rows, False, problem)
                    before, newest_version = None, 1
                if before is None:
                    chains += 1
                    seen.add(row["kota_code"])
                rows += 1
                problem = _problem(row, before, newest_version)
                if problem:
                    return ChainReport(rows, False, _in_chain(problem, row["kota_code"]))
                newest_version = max(newest_version, row["hash_version"])
                before = row
        unsealed = await (await conn.execute("SELECT count(*) FROM audit_log WHERE seq IS NULL")).fetchone()
    waiting = int(unsealed[0]) if unsealed else 0
    if before is not None:
        problem = _head_problem(before["kota_code"], before, heads)
        if problem:
            return ChainReport(rows, False, problem, waiting)
    for kota in sorted(set(heads) - seen):  # a head whose chain has no row left
        problem = _head_problem(kota, None, heads)
        if problem:
            return ChainReport(rows, False, problem, waiting)
    tail = f"; {waiting:,} newer not sealed yet" if waiting else ""
    where = f" in {chains:,} chains" if chains > 1 else ""
    return ChainReport(rows, True, f"{rows:,} audit rows{where}, chain intact{tail}", waiting)


def _in_chain(problem: str, kota: str) -> str:
    return problem if kota == DEPLOYMENT_CHAIN else f"{problem} in {chain_name(kota)}"


def _head_problem(kota: str, last: dict[str, Any] | None, heads: dict[str, tuple[int, str]]) -> str | None:
    """Whether a chain ends where its head says (rows removed at its end are found here)."""
    head = heads.get(kota)
    if head and (last is None or head != (last["id"], last["hash"])):
        where = last["id"] if last else "the start"
        return _in_chain(f"audit rows after {where} were removed (the chain head was {head[0]})", kota)
    return None


# --- anchors -----------------------------------------------------------------------------------------

_ANCHOR = re.compile(r"^peta-audit-anchor:(\d{1,19}):([0-9a-f]{64}):(\d{8}T\d{6}Z)$")


@dataclass(frozen=True)
class Anchor:
    """The chain's head at one moment: kept outside the database, it pins every row up to `id`."""

    id: int
    hash: str
    taken: datetime

    def __str__(self) -> str:
        return f"peta-audit-anchor:{self.id}:{self.hash}:{self.taken:%Y%m%dT%H%M%SZ}"

    @classmethod
    def parse(cls, text: str) -> Anchor:
        """An anchor from its printed form; InputError naming the expected form otherwise."""
        found = _ANCHOR.match(text.strip())
        if found is None:
            raise InputError(f"--anchor {text.strip()[:100]!r} is not an anchor printed by `peta audit anchor`"
                             " (peta-audit-anchor:<row id>:<sha-256 hex>:<YYYYMMDDTHHMMSSZ>)")  # fmt: skip
        taken = datetime.strptime(found.group(3), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        return cls(int(found.group(1)), found.group(2), taken)


async def take_anchors(conn: psycopg.AsyncConnection[Any]) -> list[Anchor]:
    """The head of every chain (the deployment's first, then each kab/kota's) of a log that verifies now;
    InputError when it is broken or empty."""
    report = await verify_chain(conn)
    if not report.ok:
        raise InputError(f"the audit chain is broken, nothing to anchor: {report.message}")
    async with conn.transaction():
        cur = await conn.execute(
            """SELECT DISTINCT ON (kota_code) id, hash FROM audit_log WHERE seq IS NOT NULL
               ORDER BY kota_code, seq DESC"""
        )
        heads = await cur.fetchall()
    if not heads:
        raise InputError("the audit log is empty: nothing to anchor yet")
    taken = datetime.now(UTC).replace(microsecond=0)
    return [Anchor(int(id_), hash_, taken) for id_, hash_ in heads]


async def take_anchor(conn: psycopg.AsyncConnection[Any]) -> Anchor:
    """The head of the deployment's chain, or of the first kab/kota chain when it has none (take_anchors)."""
    return (await take_anchors(conn))[0]


async def check_anchor(conn: psycopg.AsyncConnection[Any], anchor: Anchor) -> ChainReport:
    """Whether the chain still holds the anchored row with the anchored hash (verify the chain as well)."""
    when = f"{anchor.taken:%Y-%m-%d %H:%M:%S} UTC"
    row = await (await conn.execute("SELECT hash FROM audit_log WHERE id = %s", (anchor.id,))).fetchone()
    newest = await (await conn.execute("SELECT max(id) FROM audit_log")).fetchone()
    last = newest[0] if newest else None
    if row is None and (last is None or last < anchor.id):
        ends = f"ends at row {last}" if last is not None else "is empty"
        return ChainReport(0, False, f"the audit log was truncated: it {ends}, before row {anchor.id}"
                                     f" anchored on {when}")  # fmt: skip
    if row is None:
        return ChainReport(0, False, f"the audit log was rewritten: row {anchor.id} anchored on {when} is gone")
    if row[0] != anchor.hash:
        return ChainReport(0, False, f"the audit log was rewritten: row {anchor.id} now hashes to {row[0][:16]}…,"
                                     f" anchored on {when} as {anchor.hash[:16]}…")  # fmt: skip
    return ChainReport(0, True, f"row {anchor.id} still has the hash anchored on {when}")


async def recent(conn: psycopg.AsyncConnection[Any], limit: int = 20) -> list[dict[str, Any]]:
    """The newest audit rows (ids only for the objects; no before/after images)."""
    return await fetch_dicts(
        conn,
        """SELECT id, at, actor, role, action, object_type, cardinality(object_ids) AS objects, reason
           FROM audit_log ORDER BY id DESC LIMIT %s""",
        (limit,),
    )
