"""The embedded default: a PostgreSQL cluster under $PETA_HOME/pgdata started from the machine's binaries."""

from __future__ import annotations

import glob
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from core.errors import ConfigError
from core.settings import Settings

DB_NAME = "peta"
DB_USER = "peta"
APP_ROLE = "peta_app"
STATE_FILE = "embedded.json"


@dataclass
class ClusterState:
    """What `peta db up` recorded for later commands."""

    bindir: str
    pgdata: str
    port: int
    user: str
    password: str
    dbname: str = DB_NAME
    os_user: str | None = None
    app_password: str | None = None

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.dbname}"

    @property
    def app_url(self) -> str | None:
        """The least-privilege application role's URL, once `peta db up` has enabled it."""
        if not self.app_password:
            return None
        return f"postgresql://{APP_ROLE}:{self.app_password}@127.0.0.1:{self.port}/{self.dbname}"


def find_bindir(settings: Settings) -> Path:
    """Directory holding initdb/pg_ctl/postgres, or a ConfigError naming the package to install."""
    candidates: list[Path] = []
    if settings.pg_bindir:
        candidates.append(settings.pg_bindir)
    else:
        pg_config = shutil.which("pg_config")
        if pg_config:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
            if out.returncode == 0:
                candidates.append(Path(out.stdout.strip()))
        versions = sorted(
            glob.glob("/usr/lib/postgresql/*/bin"),
            key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
            reverse=True,
        )
        candidates.extend(Path(p) for p in versions)
    for cand in candidates:
        if all((cand / tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
            return cand
    raise ConfigError(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found"
        + (f" in {settings.pg_bindir}" if settings.pg_bindir else "")
        + ". Install them: apt-get install postgresql-15 postgresql-15-postgis-3 "
        "(or run `make demo` as root, which installs them), or set DATABASE_URL."
    )


def _major_version(bindir: Path) -> str:
    out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True)
    # "postgres (PostgreSQL) 15.19 (Debian ...)"
    return out.stdout.split(")")[1].split()[0].split(".")[0]


def sharedir(bindir: Path) -> Path:
    """The server's share directory (extensions' control files live in its extension/ folder)."""
    pg_config = bindir / "pg_config"
    if pg_config.exists():
        out = subprocess.run([str(pg_config), "--sharedir"], capture_output=True, text=True)
        if out.returncode == 0:
            return Path(out.stdout.strip())
    return Path(f"/usr/share/postgresql/{_major_version(bindir)}")


def check_postgis(bindir: Path) -> None:
    """Raise a ConfigError naming the package when the PostGIS extension is not installed."""
    control = sharedir(bindir) / "extension" / "postgis.control"
    if not control.exists():
        major = _major_version(bindir)
        raise ConfigError(
            f"The PostGIS extension is not installed for PostgreSQL {major} "
            f"(no {control}). "
            f"Install it: apt-get install postgresql-{major}-postgis-3"
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_free(port: int) -> bool:
    """Whether PostgreSQL could listen on `port`: it sets SO_REUSEADDR, so the sockets a stopped server left in
    TIME_WAIT do not count (without it, a restart after a crash moved the server to another port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class EmbeddedCluster:
    """Create, start, stop and describe the cluster under `settings.peta_home`."""

    def __init__(self, settings: Settings, home: Path | None = None) -> None:
        self.settings = settings
        self.home = home or settings.peta_home  # a Citus node lives in its own folder (db.citus)
        self.pgdata = self.home / "pgdata"
        self.logfile = self.home / "log" / "postgresql.log"
        self.state_path = self.home / STATE_FILE

    # -- state -----------------------------------------------------------
    def load_state(self) -> ClusterState | None:
        """The recorded state, or None when `db up` never ran here."""
        if not self.state_path.exists():
            return None
        return ClusterState(**json.loads(self.state_path.read_text()))

    def _save_state(self, state: ClusterState) -> None:
        self.state_path.write_text(json.dumps(asdict(state), indent=2))
        self.state_path.chmod(0o600)

    # -- process helpers -------------------------------------------------
    def _os_user(self) -> pwd.struct_passwd | None:
        """The unprivileged account the server runs as when we are root (postgres refuses root)."""
        if os.geteuid() != 0:
            return None
        for name in ("postgres", "nobody"):
            try:
                return pwd.getpwnam(name)
            except KeyError:
                continue
        raise ConfigError("running as root but no unprivileged 'postgres' or 'nobody' user exists")

    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        user = self._os_user()
        kwargs: dict[str, object] = {}
        if user is not None:
            kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        if user is not None:
            env["HOME"] = user.pw_dir
        proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd="/", **kwargs)  # type: ignore[call-overload]
        if check and proc.returncode != 0:
            raise ConfigError(
                f"{Path(args[0]).name} failed (exit {proc.returncode}): {(proc.stderr or proc.stdout).strip()[-2000:]}"
            )
        return proc

    def _prepare_dirs(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        self.logfile.parent.mkdir(exist_ok=True)
        user = self._os_user()
        if user is None:
            return
        for path in (self.pgdata, self.logfile.parent):
            os.chown(path, user.pw_uid, user.pw_gid)
        # the server user must be able to reach pgdata through every parent directory
        for parent in self.pgdata.parents:
            if not os.stat(parent).st_mode & 0o001:
                raise ConfigError(
                    f"{parent} is not traversable by the '{user.pw_name}' account the embedded "
                    f"PostgreSQL runs as (we are root); chmod o+x it or set PETA_HOME elsewhere"
                )

    # -- lifecycle -------------------------------------------------------
    def is_initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def is_running(self) -> bool:
        state = self.load_state()
        if state is None or not self.is_initialised():
            return False
        proc = self._run([str(Path(state.bindir) / "pg_ctl"), "status", "-D", str(self.pgdata)], check=False)
        return proc.returncode == 0

    def init(self, bindir: Path, password: str | None = None, preload: str | None = None) -> ClusterState:
        """Run initdb once, with a generated (or the given) password and loopback-only TCP; `preload` names
        shared_preload_libraries (citus for the nodes of an embedded Citus cluster)."""
        self._prepare_dirs()
        password = password or secrets.token_urlsafe(18)
        pwfile = self.home / ".pwfile"
        pwfile.write_text(password + "\n")
        user = self._os_user()
        if user is not None:
            os.chown(pwfile, user.pw_uid, user.pw_gid)
        pwfile.chmod(0o600)
        try:
            self._run(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    DB_USER,
                    "--auth-host=scram-sha-256",
                    "--auth-local=reject",
                    f"--pwfile={pwfile}",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        with open(self.pgdata / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# peta embedded defaults\n"
                "listen_addresses = '127.0.0.1'\n"
                "unix_socket_directories = ''\n"
                "max_connections = 100\n"
                "shared_buffers = 256MB\n"
                "work_mem = 32MB\n"
                "maintenance_work_mem = 256MB\n"
                + (f"shared_preload_libraries = '{preload}'\n" if preload else "")
            )
        state = ClusterState(
            bindir=str(bindir),
            pgdata=str(self.pgdata),
            port=_free_port(),
            user=DB_USER,
            password=password,
            os_user=user.pw_name if user else None,
        )
        self._save_state(state)
        return state

    def start(self, password: str | None = None, preload: str | None = None) -> ClusterState:
        """Create the cluster if needed (see `init`) and start it on a free port; returns its state."""
        bindir = find_bindir(self.settings)
        check_postgis(bindir)
        state = self.load_state() if self.is_initialised() else None
        if state is None:
            state = self.init(bindir, password, preload)
        else:
            self._prepare_dirs()
        if self.is_running():
            return state
        if not _port_free(state.port):
            state.port = _free_port()
        state.bindir = str(bindir)
        self._save_state(state)
        self._run(
            [
                str(bindir / "pg_ctl"),
                "start",
                "-D",
                str(self.pgdata),
                "-w",
                "-t",
                "60",
                "-l",
                str(self.logfile),
                "-o",
                f"-p {state.port}",
            ]
        )
        return state

    def enable_app_role(self, url: str) -> ClusterState:
        """Let the application's least-privilege role log in with a generated password (after migrations)."""
        import psycopg
        from psycopg import sql

        state = self.load_state()
        assert state is not None
        if not state.app_password:
            state.app_password = secrets.token_urlsafe(18)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(APP_ROLE), sql.Literal(state.app_password)
                )
            )
        self._save_state(state)
        return state

    def stop(self, mode: str = "fast") -> bool:
        """Stop the cluster (pg_ctl's mode: fast, smart, or immediate: a crash, recovered at the next start);
        False when it was not running."""
        state = self.load_state()
        if state is None or not self.is_running():
            return False
        self._run([str(Path(state.bindir) / "pg_ctl"), "stop", "-D", str(self.pgdata), "-m", mode, "-w"])
        return True

    def status(self) -> dict[str, object]:
        """What runs where, for `peta db status`."""
        state = self.load_state()
        return {
            "home": str(self.home),
            "pgdata": str(self.pgdata),
            "initialised": self.is_initialised(),
            "running": self.is_running(),
            "port": state.port if state else None,
            "url": _redact(state.url) if state else None,
            "log": str(self.logfile),
        }


def _redact(url: str) -> str:
    head, _, tail = url.partition("@")
    scheme_user = head.rsplit(":", 1)[0]
    return f"{scheme_user}:***@{tail}"
