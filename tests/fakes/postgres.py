"""A real PostgreSQL server for the tests: the one that answers, else one started here.

Where it looks, in order:
1. ``SWITCHGEAR_TEST_POSTGRES_URL`` (a server URL, e.g. ``postgresql://postgres@127.0.0.1:5432``);
2. a server on 127.0.0.1:5432 accepting user ``postgres`` without a password (trust auth);
3. its own server: ``initdb`` + ``pg_ctl`` from the PostgreSQL binaries (Debian's
   ``/usr/lib/postgresql/<version>/bin``, or on the PATH) into a temporary folder, on a free port,
   stopped and deleted when the session ends. As root it runs as the ``postgres`` user (initdb
   refuses root). ``SWITCHGEAR_TEST_POSTGRES=start`` skips 1 and 2.

Each test session works in databases of its own, created here and dropped at the end.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg

DEFAULT = "postgresql://postgres@127.0.0.1:5432"


def _binaries() -> Path | None:
    """The folder of initdb and pg_ctl, newest version first; None when PostgreSQL is not installed."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version, reverse=True)
    found = shutil.which("initdb")
    if found:
        candidates.append(found)
    for initdb in candidates:
        folder = Path(initdb).parent
        if (folder / "pg_ctl").exists():
            return folder
    return None


def _version(path: str) -> float:
    try:
        return float(Path(path).parts[-3])
    except (ValueError, IndexError):
        return 0.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _answers(url: str) -> bool:
    try:
        conn = await asyncpg.connect(url + "/postgres", timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


def _probe(url: str) -> bool:
    """Whether a server answers at ``url`` (asked from a thread of its own: the tests' loop is not
    to be touched)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _answers(url)).result()


class PostgresServer:
    def __init__(self, url: str, folder: Path | None = None, bindir: Path | None = None) -> None:
        self.url = url.rstrip("/")  # no database name
        self._folder = folder  # set when this process started the server
        self._bindir = bindir

    @classmethod
    def find_or_start(cls) -> PostgresServer | None:
        """A running server; None when none answers and no PostgreSQL binaries exist to start one."""
        given = os.environ.get("SWITCHGEAR_TEST_POSTGRES_URL")
        if given:
            return cls(given)
        if os.environ.get("SWITCHGEAR_TEST_POSTGRES") != "start" and _probe(DEFAULT):
            return cls(DEFAULT)
        bindir = _binaries()
        if bindir is None:
            return None
        return cls._start(bindir)

    @classmethod
    def _start(cls, bindir: Path) -> PostgresServer:
        folder = Path(tempfile.mkdtemp(prefix="switchgear-pg-"))
        as_user: list[str] = []
        if os.geteuid() == 0:  # initdb will not run as root
            shutil.chown(folder, user="postgres", group="postgres")
            as_user = ["runuser", "-u", "postgres", "--"]
        data, port = folder / "data", _free_port()
        run = {"check": True, "capture_output": True, "timeout": 120}
        subprocess.run(  # noqa: PLW1510
            [
                *as_user,
                bindir / "initdb",
                "-D",
                data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            **run,
        )
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(  # noqa: PLW1510
            [*as_user, bindir / "pg_ctl", "-D", data, "-o", options, "-l", folder / "log", "-w", "start"],
            **run,
        )
        return cls(f"postgresql://postgres@127.0.0.1:{port}", folder, bindir)

    @property
    def started_here(self) -> bool:
        return self._folder is not None

    def database_url(self, name: str) -> str:
        return f"{self.url}/{name}"

    async def create_database(self, name: str) -> str:
        conn = await asyncpg.connect(self.url + "/postgres", timeout=10)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.database_url(name)

    async def drop_database(self, name: str) -> None:
        conn = await asyncpg.connect(self.url + "/postgres", timeout=10)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    def stop(self) -> None:
        if self._folder is None or self._bindir is None:
            return
        as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(  # noqa: PLW1510
            [*as_user, self._bindir / "pg_ctl", "-D", self._folder / "data", "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self._folder, ignore_errors=True)
