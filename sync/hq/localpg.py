"""A throwaway PostgreSQL server on a unix socket in a temporary folder (tests and the load test).

``initdb`` + ``pg_ctl start`` with no TCP listener and trust authentication
for the local socket only; the folder is removed at :meth:`LocalPostgres.stop`.
PostgreSQL refuses to run as root, so under root the server runs as ``nobody``
(``runuser``), in a folder that user owns.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from sync.errors import HqError

PG_BIN_DIRS = (Path("/usr/lib/postgresql/15/bin"), Path("/usr/local/bin"), Path("/usr/bin"))
SUPERUSER = "hq"


def _binary(name: str) -> str:
    for folder in PG_BIN_DIRS:
        if (folder / name).is_file():
            return str(folder / name)
    found = shutil.which(name)
    if found is None:
        raise HqError(f"{name} not found: install the Debian 'postgresql' package")
    return found


class LocalPostgres:
    """A private PostgreSQL cluster; :meth:`create_database` gives each user a fresh database.

    Raises:
        HqError: the binaries are missing or the server does not start.
    """

    def __init__(self, *, max_connections: int = 100) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="hqpg-"))  # short: a socket path is at most 107 bytes
        self.data = self.folder / "data"
        self._as: list[str] = []
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.folder, nobody.pw_uid, nobody.pw_gid)
            self._as = [_binary_runuser(), "-u", "nobody", "--"]
        self._run(_binary("initdb"), "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync")
        options = (
            f"-c listen_addresses='' -c unix_socket_directories='{self.folder}' -c fsync=off"
            f" -c max_connections={max_connections}"
        )
        self._run(_binary("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"), "-w", "start")

    def _run(self, *args: str) -> None:
        try:
            subprocess.run([*self._as, *args], check=True, capture_output=True, timeout=120)  # noqa: S603
        except subprocess.CalledProcessError as err:
            log = self.folder / "log"
            tail = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
            raise HqError(f"{Path(args[0]).name} failed: {err.stderr.decode(errors='replace')[-2000:]}{tail}") from err

    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy URL of ``database`` over the socket (psycopg 3)."""
        return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.folder}"

    def create_database(self) -> str:
        """A new empty database; its URL."""
        import psycopg

        name = f"hq_{secrets.token_hex(6)}"
        with psycopg.connect(host=str(self.folder), user=SUPERUSER, dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # a generated name, not input
        return self.url(name)

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        try:
            self._run(_binary("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def _binary_runuser() -> str:
    found = shutil.which("runuser")
    if found is None:
        raise HqError("PostgreSQL will not run as root and runuser is missing")
    return found
