"""A throwaway PostgreSQL cluster for tests: initdb + pg_ctl on a free loopback port in a temp dir.

Used by the `postgres_server` fixture (tests/conftest.py). `PHQWATCH_TEST_POSTGRES_URL` points the tests
at an existing server instead. When neither works the fixture skips, unless PHQWATCH_REQUIRE_POSTGRES=1.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path


def find_bin(name: str) -> str | None:
    """A PostgreSQL binary from PATH or /usr/lib/postgresql/*/bin (newest version first)."""
    hits = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return hits[0] if hits else shutil.which(name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    """A running cluster; `url` connects as the superuser to database `postgres`."""

    url: str
    datadir: Path | None = None
    _run_as: list[str] | None = None
    _pg_ctl: str | None = None
    _opts: str = ""

    def stop_server(self, mode: str = "fast") -> None:
        """Stop the server and keep its data (fault tests: `start_server()` brings it back)."""
        self._ctl("-m", mode, "stop")

    def start_server(self) -> None:
        """Start the server again on the same data, port and options."""
        assert self.datadir is not None
        self._ctl("-o", self._opts, "-l", str(self.datadir.parent / "log"), "-w", "-t", "60", "start")

    def _ctl(self, *args: str) -> None:
        assert self.datadir is not None and self._pg_ctl is not None, "not a cluster started by these tests"
        r = subprocess.run(
            [*(self._run_as or []), self._pg_ctl, "-D", str(self.datadir), *args],
            capture_output=True,
            text=True,
            timeout=90,
        )
        if r.returncode != 0:
            raise RuntimeError(f"pg_ctl {' '.join(args[-1:])} failed: {r.stderr.strip()[-300:]}")

    def stop(self) -> None:
        if self.datadir is None or self._pg_ctl is None:
            return
        subprocess.run(
            [*(self._run_as or []), self._pg_ctl, "-D", str(self.datadir), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def start_cluster() -> Cluster:
    """initdb + pg_ctl start; raises RuntimeError with the reason when it cannot."""
    initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise RuntimeError("PostgreSQL binaries (initdb, pg_ctl) not found; `apt-get install postgresql`")
    run_as: list[str] = []
    root = tempfile.mkdtemp(prefix="phqwatch-pg-")
    if os.geteuid() == 0:  # initdb refuses root: run as the postgres user
        import pwd

        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            raise RuntimeError("running as root and no 'postgres' user exists to run initdb") from None
        os.chown(root, pw.pw_uid, pw.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    datadir = Path(root) / "data"
    port = free_port()
    r = subprocess.run(
        [*run_as, initdb, "-D", str(datadir), "-A", "trust", "-U", "phqwatch", "-E", "UTF8", "--no-sync"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if r.returncode != 0:
        raise RuntimeError(f"initdb failed: {r.stderr.strip()[-500:]}")
    opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    r = subprocess.run(
        [*run_as, pg_ctl, "-D", str(datadir), "-o", opts, "-l", str(Path(root) / "log"), "-w", "-t", "60", "start"],
        capture_output=True,
        text=True,
        timeout=90,
    )
    if r.returncode != 0:
        log = (Path(root) / "log").read_text(errors="replace")[-500:] if (Path(root) / "log").exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {r.stderr.strip()[-300:]} {log}")
    return Cluster(f"postgresql+psycopg://phqwatch@127.0.0.1:{port}/postgres", datadir, run_as, pg_ctl, opts)


def create_database(server_url: str) -> str:
    """A fresh, empty database on the server; returns its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = "t_" + uuid.uuid4().hex[:12]
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()
