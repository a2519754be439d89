"""A private PostgreSQL cluster that a test may crash and restart: loopback only, under a temporary directory,
stopped at the end. The shared test server is never crashed."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.settings import Settings
from db.connect import create_database
from db.embedded import EmbeddedCluster
from db.migrate import migrate


class Crashable:
    """One cluster and one migrated database on it."""

    def __init__(self, home: Path) -> None:
        self.cluster = EmbeddedCluster(Settings(PETA_HOME=str(home)))
        self.server_url = self.cluster.start().url
        self.url = create_database(self.server_url, "peta_crash")
        migrate(self.url)

    def crash(self) -> None:
        """Stop the server at once, as a power cut would: no checkpoint, recovery from the WAL at the next start."""
        self.cluster.stop(mode="immediate")

    def restart(self) -> None:
        """A clean restart (connections are cut; nothing committed is lost)."""
        self.cluster.stop(mode="fast")
        self.start()

    def start(self) -> None:
        """Start it again on the same port (after a crash: recovered)."""
        state = self.cluster.start()
        assert state.url == self.server_url, "the cluster came back on another port"


@contextmanager
def crashable() -> Iterator[Crashable]:
    """A `Crashable` cluster in a fresh temporary directory, stopped and removed afterwards whatever happened."""
    home = Path(tempfile.mkdtemp(prefix="peta-crash-"))
    home.chmod(0o711)  # the server may run as another account (postgres, when the tests run as root)
    try:
        box = Crashable(home)
        try:
            yield box
        finally:
            box.cluster.stop(mode="immediate")
    finally:
        shutil.rmtree(home, ignore_errors=True)
