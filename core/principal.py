"""Who acts: a signed-in user, an agency's API key, or the command line, and how the audit names each.

The audit's `actor` is built here and nowhere else: `user:<username>`, `key:<key id>`, `cli:<os user>`.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass


@dataclass(frozen=True)
class User:
    """An authenticated person."""

    id: int
    username: str
    role: str
    scope_level: str
    scope_codes: tuple[str, ...]

    @property
    def actor(self) -> str:
        return f"user:{self.username}"


@dataclass(frozen=True)
class Agency:
    """An authenticated agency client (an API key)."""

    id: int
    name: str
    scope_level: str
    scope_codes: tuple[str, ...]
    points_agreement: bool = False
    role: str = "agency"  # "programme": a key bound to one programme's exchange (purpose limitation)
    programme: str | None = None
    programme_names: bool = False  # an agreement: its eligibility lists carry names and addresses

    @property
    def actor(self) -> str:
        return f"key:{self.id}"


@dataclass(frozen=True)
class CliPrincipal:
    """The command line: it acts with the admin's rights, and the audit names the operating-system user."""

    actor: str
    role: str = "admin"
    username: str = "cli"
    scope_level: str = "kota"
    scope_codes: tuple[str, ...] = ()

    @classmethod
    def current(cls) -> CliPrincipal:
        return cls(f"cli:{getpass.getuser()}")


Principal = User | Agency | CliPrincipal
# who takes part in the verification workflow: people, never an agency's key
Staff = User | CliPrincipal
