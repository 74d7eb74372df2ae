"""A private PostgreSQL cluster under the run directory, for `make run` and the tests.

initdb and pg_ctl refuse to run as root, so they run as the 'postgres' user on
a data directory it owns. The cluster listens on 127.0.0.1 with a generated
password (scram-sha-256); its Unix socket lives in the data directory (mode
0700), so only the postgres user reaches it without a password.
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from callcenter.errors import PeerError

__all__ = ["PostgresCluster", "find_bindir"]

log = logging.getLogger(__name__)


def find_bindir() -> Path:
    """The newest installed PostgreSQL server's bin directory."""
    candidates = sorted(
        (path for path in Path("/usr/lib/postgresql").glob("*/bin") if (path / "pg_ctl").exists()),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    if not candidates:
        raise PeerError("no PostgreSQL server found in /usr/lib/postgresql (apt-get install postgresql)")
    return candidates[-1]


class PostgresCluster:
    def __init__(self, data_dir: Path, port: int, password: str, user: str = "postgres") -> None:
        self.data_dir = data_dir
        self.port = port
        self._password = password
        self._user = user

    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / "postgresql.log"

    def _run(self, *arguments: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(find_bindir() / arguments[0]), *arguments[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", self._user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, stdin=subprocess.DEVNULL)

    def _own(self, path: Path) -> None:
        if os.geteuid() == 0:
            entry = pwd.getpwnam(self._user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> None:
        """Create the cluster with a 'callcenter' superuser and database."""
        if self.initialized():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._own(self.data_dir)
        with tempfile.NamedTemporaryFile("w", delete=False, prefix="pw-", dir=self.data_dir.parent) as handle:
            handle.write(self._password + "\n")
        password_file = Path(handle.name)
        self._own(password_file)
        try:
            result = self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                "callcenter",
                f"--pwfile={password_file}",
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                check=False,
            )
        finally:
            password_file.unlink(missing_ok=True)
        if result.returncode != 0:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            raise PeerError(f"initdb failed: {result.stderr.strip() or result.stdout.strip()}")
        log.info("created a PostgreSQL cluster in %s", self.data_dir)

    def running(self) -> bool:
        return (
            self.initialized() and self._run("pg_ctl", "status", "-D", str(self.data_dir), check=False).returncode == 0
        )

    def start(self) -> None:
        self.init()
        if self.running():
            log.info("PostgreSQL already running on port %d", self.port)
            return
        self.log_file.touch()
        self._own(self.log_file)
        options = f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.data_dir}"
        result = self._run(
            "pg_ctl",
            "start",
            "-w",
            "-t",
            "60",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-o",
            options,
            check=False,
        )
        if result.returncode != 0:
            raise PeerError(f"PostgreSQL did not start: {result.stderr.strip()}; see {self.log_file}")
        self._create_database()
        log.info("PostgreSQL running on 127.0.0.1:%d (data %s)", self.port, self.data_dir)

    def stop(self) -> None:
        if not self.running():
            return
        self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "60", check=False)
        log.info("PostgreSQL stopped")

    def _create_database(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            result = self._run(
                "psql",
                "-h",
                str(self.data_dir),
                "-p",
                str(self.port),
                "-U",
                "callcenter",
                "-d",
                "postgres",
                "-tAc",
                "SELECT 1 FROM pg_database WHERE datname='callcenter'",
                check=False,
            )
            if result.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise PeerError(f"cannot query PostgreSQL: {result.stderr.strip()}")
            time.sleep(0.2)
        if result.stdout.strip() != "1":
            self._run("createdb", "-h", str(self.data_dir), "-p", str(self.port), "-U", "callcenter", "callcenter")
