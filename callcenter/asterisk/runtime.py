"""Asterisk 22 in a Debian sid root, started and stopped by the project.

Debian stable has no Asterisk 22; sid does. ``build_root`` makes a minimal sid
root with debootstrap once, outside the checkout, and later runs reuse it.
``AsteriskProcess`` starts ``asterisk -f`` chrooted into it, inside a private
mount namespace (``unshare -m``): the project's config, sounds and run
directory are bind-mounted in, and the mounts vanish with the process, so
nothing is left mounted on the host whatever way it ends.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from callcenter.errors import CallcenterError, PeerError

__all__ = [
    "REQUIRED_MAJOR",
    "AsteriskProcess",
    "RootError",
    "build_root",
    "root_version",
]

log = logging.getLogger(__name__)

REQUIRED_MAJOR = 22
_PACKAGES = "asterisk,asterisk-core-sounds-en-gsm,asterisk-core-sounds-ru-gsm"
_READY_MARK = ".callcenter-root-ready"
# Where things appear inside the root.
_IN_ROOT_CONFIG = "/etc/asterisk"
_IN_ROOT_SOUNDS = "/srv/callcenter/sounds"
_IN_ROOT_RUN = "/srv/callcenter/run"


class RootError(CallcenterError):
    """The Asterisk root could not be built or is not usable."""


def root_version(root: Path) -> str:
    """The Asterisk version installed in ``root`` (e.g. '22.10.1+dfsg...')."""
    result = subprocess.run(["chroot", str(root), "asterisk", "-V"], capture_output=True, text=True, check=False)
    match = re.search(r"Asterisk (\S+)", result.stdout)
    if result.returncode != 0 or not match:
        raise RootError(f"{root}: cannot run asterisk -V: {result.stderr.strip() or result.stdout.strip()}")
    return match.group(1)


def build_root(root: Path) -> str:
    """Make the Asterisk root if it is not there yet; return the Asterisk version. Idempotent."""
    if (root / _READY_MARK).exists():
        return _check_major(root)
    if shutil.which("debootstrap") is None:
        raise RootError("debootstrap is not installed (apt-get install debootstrap)")
    building = root.with_name(root.name + ".building")
    if building.exists():
        shutil.rmtree(building)
    building.parent.mkdir(parents=True, exist_ok=True)
    log.info("building the Asterisk root in %s (debootstrap sid, about a minute)", root)
    command = ["debootstrap", "--variant=minbase", f"--include={_PACKAGES}", "sid", str(building)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise RootError(f"debootstrap failed ({result.returncode}):\n{tail}")
    _prepare(building)
    version = _check_major(building)
    (building / _READY_MARK).write_text(version + "\n")
    if root.exists():
        shutil.rmtree(root)
    building.rename(root)
    return version


def _check_major(root: Path) -> str:
    version = root_version(root)
    if int(version.split(".", 1)[0]) != REQUIRED_MAJOR:
        raise RootError(f"{root} has Asterisk {version}; Asterisk {REQUIRED_MAJOR} is required (delete the root)")
    return version


def _prepare(root: Path) -> None:
    """Mount points and the sound languages Asterisk looks up by code."""
    for path in (_IN_ROOT_SOUNDS, _IN_ROOT_RUN):
        (root / path.lstrip("/")).mkdir(parents=True, exist_ok=True)
    sounds = root / "usr/share/asterisk/sounds"
    # The Debian package names the Russian voice ru_RU_f_IvrvoiceRU; channels ask for 'ru'.
    russian = sounds / "ru"
    if not russian.exists():
        russian.symlink_to("ru_RU_f_IvrvoiceRU")


@dataclass(frozen=True)
class Mount:
    source: Path
    target: str  # inside the root
    read_only: bool = False


class AsteriskProcess:
    """One Asterisk, chrooted into ``root`` with ``mounts`` bind-mounted in."""

    def __init__(self, root: Path, config_dir: Path, sounds_dir: Path, state_dir: Path) -> None:
        self.root = root
        self.state_dir = state_dir
        self.mounts = (
            Mount(config_dir, _IN_ROOT_CONFIG, read_only=True),
            Mount(sounds_dir, _IN_ROOT_SOUNDS, read_only=True),
            Mount(state_dir, _IN_ROOT_RUN),
        )
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def log_file(self) -> Path:
        return self.state_dir / "log" / "messages"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "asterisk.pid"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        self._stop_leftover()
        for sub in ("log", "spool", "run", "db", "cache", "generated", "recordings"):
            (self.state_dir / sub).mkdir(parents=True, exist_ok=True)
        self._write_hosts()
        script = ["set -e", "mount --make-rprivate /"]
        for mount in self.mounts:
            target = shlex.quote(str(self.root) + mount.target)
            script.append(f"mount --bind {shlex.quote(str(mount.source))} {target}")
            if mount.read_only:
                script.append(f"mount -o remount,bind,ro {target}")
        root = shlex.quote(str(self.root))
        script += [
            f"mount -t proc proc {root}/proc",
            f"mount --rbind /dev {root}/dev",
            f"exec chroot {root} /usr/sbin/asterisk -f -n -C {_IN_ROOT_CONFIG}/asterisk.conf",
        ]
        output = open(self.state_dir / "log" / "console.log", "ab")
        try:
            self._process = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "sh", "-c", "\n".join(script)],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us, and we stop Asterisk in order
            )
        finally:
            output.close()
        self.pid_file.write_text(f"{self._process.pid}\n")
        log.info("Asterisk starting (pid %d, root %s)", self._process.pid, self.root)

    def wait_ready(self, port: int, timeout: float = 30.0) -> None:
        """Wait until the AMI port answers: Asterisk has loaded its modules."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process and self._process.poll() is not None:
                raise PeerError(f"Asterisk exited with status {self._process.returncode}; see {self.log_file}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                    conn.settimeout(2)
                    if conn.recv(64).startswith(b"Asterisk Call Manager"):
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise PeerError(f"Asterisk did not open AMI on port {port} within {timeout:.0f} s; see {self.log_file}")

    def stop(self, timeout: float = 15.0) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            # SIGTERM: Asterisk hangs up its channels and exits; the namespace and its mounts go with it.
            self._process.terminate()
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("Asterisk did not stop within %.0f s; killing it", timeout)
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait(5)
        log.info("Asterisk stopped (status %s)", self._process.returncode)
        self._process = None
        self.pid_file.unlink(missing_ok=True)

    def _stop_leftover(self) -> None:
        """A run killed with SIGKILL leaves its Asterisk behind; it would hold our ports."""
        try:
            pid = int(self.pid_file.read_text())
            command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (FileNotFoundError, ValueError):
            return
        if b"asterisk" not in command_line:  # the pid was reused by something else
            return
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        log.warning("stopped a leftover Asterisk (pid %d) from an earlier run", pid)
        for _ in range(100):
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        os.killpg(pid, signal.SIGKILL)

    def _write_hosts(self) -> None:
        # Without the host's own name in /etc/hosts Asterisk does failing DNS lookups on every call (RTCP).
        hostname = socket.gethostname()
        (self.root / "etc/hosts").write_text(f"127.0.0.1\tlocalhost {hostname}\n::1\tlocalhost ip6-localhost\n")
