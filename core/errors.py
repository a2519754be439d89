"""Every error a user can act on, raised by any layer; the API and the CLI map them once."""

from __future__ import annotations


class PetaError(Exception):
    """Base of every error a user can act on; the message is safe to show."""


class ConfigError(PetaError):
    """The environment or the machine is not set up as needed."""


class DatabaseUnavailable(PetaError):
    """No database can be reached or none is configured; the subclasses: it is busy, or a query took too long.

    The message is for the log (it may name hosts); `detail` is what a client is told (HTTP 503), and
    `retry_after` how many seconds it should wait before trying again.
    """

    detail = "the database is not reachable"
    retry_after = 10


class ServerBusy(DatabaseUnavailable):
    """Every database connection this request may use is taken."""

    detail = "the server is busy: every database connection this request may use is taken"
    retry_after = 2


class QueryTimeout(DatabaseUnavailable):
    """A statement ran past the caller's time bound and was cancelled; `detail` names the bound."""

    retry_after = 5

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(message)
        self.detail = detail


class InputError(PetaError):
    """A file or a request that cannot be accepted, with one reason per problem."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []

    def __str__(self) -> str:
        head = super().__str__()
        if not self.problems:
            return head
        return head + "\n" + "\n".join(f"  - {p}" for p in self.problems)


class NotFound(PetaError):
    """The requested object does not exist (or is not visible to the caller)."""


class Forbidden(PetaError):
    """Authenticated, but the role may not do this."""


class Conflict(PetaError):
    """The request collides with the current state (already assigned, a name taken, a final status)."""


class AuthError(PetaError):
    """Wrong credentials, or a token that is unknown, expired or revoked."""


class Throttled(PetaError):
    """Too many failed logins, or too many requests."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
