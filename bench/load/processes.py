"""The load run's processes: SIPp (callers, agents), `callcenter serve`, and what /proc says of them.

Every process here is started by the harness and stopped by it (by its own pid), every wait is bounded.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.load.figures import SippStats, parse_sipp_stats

__all__ = ["ProcSample", "Service", "Sipp", "free_udp_port", "proc_sample", "scrape"]

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def free_udp_port(host: str, even: bool = False) -> int:
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind((host, 0))
            port: int = probe.getsockname()[1]
        if not even or port % 2 == 0:
            return port
    raise RuntimeError(f"no free UDP port on {host}")


class Sipp:
    """One SIPp process in the background; its statistics in a CSV file written every second."""

    def __init__(self, name: str, work_dir: Path, scenario: str, arguments: list[str]) -> None:
        self.name = name
        self.work_dir = work_dir
        self.scenario_file = work_dir / f"{name}.xml"
        self.scenario_file.write_text(scenario)
        self.stat_file = work_dir / f"{name}-stats.csv"
        self.stat_file.unlink(missing_ok=True)
        self.command = [
            "sipp",
            *arguments,
            "-sf",
            str(self.scenario_file),
            "-nostdin",
            "-trace_stat",
            "-stf",
            str(self.stat_file),
            "-fd",
            "1",
            "-trace_err",
            "-error_file",
            str(work_dir / f"{name}-errors.log"),
        ]
        self._output = (work_dir / f"{name}-output.log").open("w")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> Sipp:
        self._process = subprocess.Popen(
            self.command, cwd=self.work_dir, stdin=subprocess.DEVNULL, stdout=self._output, stderr=subprocess.STDOUT
        )
        return self

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stats(self) -> SippStats | None:
        try:
            return parse_sipp_stats(self.stat_file.read_text())
        except (FileNotFoundError, ValueError, KeyError):
            return None

    def wait(self, timeout: float) -> int:
        """Its exit status; killed (and an error) if it is not done within ``timeout``."""
        assert self._process is not None
        try:
            return self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise RuntimeError(f"SIPp {self.name} still running after {timeout:.0f} s: killed") from None

    def finish(self, timeout: float) -> int | None:
        """Stop placing calls, let those in progress end (SIGUSR1: SIPp's soft exit), then the status;
        None when it had to be killed (its calls count as failed: the statistics stay in the file)."""
        if self.running():
            assert self._process is not None
            self._process.send_signal(signal.SIGUSR1)
        try:
            return self.wait(timeout)
        except RuntimeError:
            return None

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(10)
        self._output.close()

    def errors(self, limit: int = 2000) -> str:
        path = self.work_dir / f"{self.name}-errors.log"
        return path.read_text(errors="replace")[-limit:] if path.exists() else ""


class Service:
    """`callcenter serve` with the run's settings, its output in a file."""

    def __init__(self, env: dict[str, str], log_file: Path, cwd: Path) -> None:
        self._env = env
        self.log_file = log_file
        self._cwd = cwd
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        self._log = self.log_file.open("a")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "callcenter", "serve"],
            env=self._env,
            cwd=self._cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        start = self.log_file.stat().st_size
        deadline = time.monotonic() + timeout
        needed = ("AMI connected", "FastAGI listening")
        while True:
            with self.log_file.open(errors="replace") as log:
                log.seek(start)
                text = log.read()
            if all(line in text for line in needed):
                return
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"callcenter serve did not start ({needed}); its log:\n{text[-3000:]}")
            time.sleep(0.2)

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def stop(self, timeout: float = 30.0) -> int | None:
        if self._process is None:
            return None
        self._process.terminate()
        try:
            status = self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            status = self._process.wait(10)
        self._process = None
        self._log.close()
        return status


@dataclass(frozen=True)
class ProcSample:
    at: float  # monotonic seconds
    cpu_s: float  # user + system time of the process so far
    rss_bytes: int


def proc_sample(pid: int) -> ProcSample:
    """CPU time and resident memory of ``pid``, from /proc (threads included, children not)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    # after the command: state is field 3, utime 14 and stime 15 (1-based, man 5 proc)
    cpu = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    rss_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return ProcSample(time.monotonic(), cpu, rss_pages * _PAGE)


def scrape(url: str, timeout: float = 10.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        body: bytes = response.read()
    return body.decode()
