"""The real stack for end-to-end tests: PostgreSQL, Asterisk 22 and `callcenter serve`.

It runs on ports of its own and in .run/test, so a `make run` on the default
ports can stay up meanwhile. Nothing here is mocked: SIPp plays the carrier,
Asterisk runs the config in asterisk/, the service is the real CLI process.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from callcenter.config import Settings
from callcenter.records import IN_PROGRESS
from callcenter.stack import Stack

REPO = Path(__file__).resolve().parents[2]
CALLCENTER = [sys.executable, "-m", "callcenter"]

# CC_TEST_SLOT=N gives a run its own ports and directory, so two test runs (two developers' checkouts
# on one machine, or two test files being written at once) can each have a stack of their own.
SLOT = int(os.environ.get("CC_TEST_SLOT", "0"))
RUN_DIR = REPO / ".run" / ("test" if SLOT == 0 else f"test-{SLOT}")
TEST_ENV = {
    "CALLCENTER_RUN_DIR": str(RUN_DIR),
    "CALLCENTER_DIALPLAN_DIR": str(RUN_DIR / "dialplans"),
    "CALLCENTER_SIP_PORT": str(15060 + 100 * SLOT),
    "CALLCENTER_AMI_PORT": str(15038 + 100 * SLOT),
    "CALLCENTER_AGI_PORT": str(14573 + 100 * SLOT),
    "CALLCENTER_HTTP_PORT": str(18080 + 100 * SLOT),
    "CALLCENTER_METRICS_PORT": str(19464 + 100 * SLOT),
    "CALLCENTER_PG_PORT": str(15433 + 100 * SLOT),
    "CALLCENTER_LOG_LEVEL": "DEBUG",
}


# The sample dialplan keeps Moscow office hours; tests must not depend on when they run. They use
# a copy whose schedules are always open, and change it (then reload) to test being closed.
ALWAYS_OPEN_HOURS = """\
hours:
  support:
    weekly: {daily: "00:00-24:00"}
  sales:
    weekly: {daily: "00:00-24:00"}
"""


# Short ACD timers, so routing tests (test_acd_routing.py) wait seconds, not minutes: on the sales queue
# (other tests only send callers there to an agent who answers at once, or with nobody logged in) and for
# agent 1002, whom no other test logs in. The ACD takes queues and agents at start: they are set here.
SALES_QUEUE_TIMERS = {"ring_timeout": 6, "max_wait": 15, "wrap_up": 3}
NO_ANSWER_LIMIT_1002 = 1
SUPERVISOR_PIN = "2468"


def _short_routing_timers(directory: Path) -> None:
    queues = directory / "queues.yaml"
    text = queues.read_text()
    sales = re.search(r"^  sales:\n(?:    .*\n)+", text, re.MULTILINE)
    assert sales is not None, f"no sales queue in {queues}"
    block = re.sub(r"^    (?:ring_timeout|max_wait|wrap_up):.*\n", "", sales.group(), flags=re.MULTILINE)
    block += "".join(f"    {key}: {value}\n" for key, value in SALES_QUEUE_TIMERS.items())
    queues.write_text(text[: sales.start()] + block + text[sales.end() :])
    agents = directory / "agents.yaml"
    anchor = '  - extension: "1002"\n'
    assert anchor in agents.read_text(), f"no agent 1002 in {agents}"
    agents.write_text(agents.read_text().replace(anchor, f"{anchor}    no_answer_limit: {NO_ANSWER_LIMIT_1002}\n"))
    # Supervisor 1901 monitors from the phone with a PIN (test_monitoring.py).
    boss = '  - extension: "1901"\n'
    assert boss in agents.read_text(), f"no supervisor 1901 in {agents}"
    agents.write_text(agents.read_text().replace(boss, f'{boss}    pin: "{SUPERVISOR_PIN}"\n'))


def prepare_dialplans(directory: Path) -> Path:
    """A copy of dialplans/ in ``directory`` with schedules that are always open (and short routing timers)."""
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.yaml"):
        old.unlink()
    for source in (REPO / "dialplans").glob("*.yaml"):
        shutil.copy(source, directory / source.name)
    (directory / "hours.yaml").write_text(ALWAYS_OPEN_HOURS)
    _short_routing_timers(directory)
    return directory


def service_env(overrides: dict[str, str] | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CALLCENTER_")}
    env.update(TEST_ENV)
    env.update(overrides or {})
    return env


class ServiceProcess:
    """`callcenter <command>` in the background, its output collected line by line."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self._command = command
        self._env = env
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            self._command,
            env=self._env,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, args=(self._process,), daemon=True)
        self._reader.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        with process.stdout:
            for line in process.stdout:
                with self._changed:
                    self._lines.append(line.rstrip("\n"))
                    self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self._lines)

    def wait_for(self, pattern: str, timeout: float = 30.0, start: int = 0) -> str:
        """Wait for a line matching ``pattern`` (after line ``start``); return it."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self._lines[start:]:
                    if regex.search(line):
                        return line
                remaining = deadline - time.monotonic()
                exited = self._process is not None and self._process.poll() is not None
                if remaining <= 0 or exited:
                    raise AssertionError(
                        f"no line matching {pattern!r} in {timeout} s "
                        f"(exited={exited}); output:\n" + "\n".join(self._lines[-60:])
                    )
                self._changed.wait(min(remaining, 0.5))

    def mark(self) -> int:
        """The current end of the output, for wait_for(start=...)."""
        with self._changed:
            return len(self._lines)

    def signal_stop(self, sig: int, timeout: float = 30.0) -> int:
        assert self._process is not None
        self._process.send_signal(sig)
        try:
            status = self._process.wait(timeout)
            self._reader.join(5)
            return status
        except subprocess.TimeoutExpired:
            self._process.kill()  # a hung one must not keep the slot's ports for the next test
            self._process.wait(5)
            raise
        finally:
            self._process = None

    def stop(self) -> int | None:
        if self._process is None:
            return None
        self._process.terminate()
        try:
            status = self._process.wait(20)
            self._reader.join(5)
            return status
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(5)
            raise
        finally:
            self._process = None


@pytest.fixture(scope="session")
def settings() -> Settings:
    prepare_dialplans(Path(TEST_ENV["CALLCENTER_DIALPLAN_DIR"]))
    return Settings.from_env(TEST_ENV)


@pytest.fixture(scope="session")
def stack(settings: Settings) -> Iterator[Stack]:
    stack = Stack(settings)
    try:
        stack.start_database()
        stack.start_asterisk()
        yield stack
    finally:
        stack.stop()


def _forget_open_callbacks(stack: Stack) -> None:
    """Callbacks an earlier (failed) run left open would ring the test agents' phones: close them."""
    engine = create_engine(stack.settings.database_dsn(stack.secrets))
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE callbacks SET status = 'failed' WHERE status IN ('pending', 'dialling')"))
    finally:
        engine.dispose()
    for segment in (stack.settings.spool_dir).glob("segment-*.jsonl"):
        segment.unlink()


@pytest.fixture(scope="session")
def service(stack: Stack) -> Iterator[ServiceProcess]:
    _forget_open_callbacks(stack)
    process = ServiceProcess([*CALLCENTER, "serve"], service_env())
    process.start()
    process.wait_for(r"AMI connected", timeout=30)
    process.wait_for(r"FastAGI listening")
    yield process
    status = process.stop()
    # The whole log of the run, for a failure the last lines of an assertion do not explain.
    (RUN_DIR / "service-output.log").write_text(process.output + "\n")
    assert status == 0, process.output[-3000:]


@pytest.fixture
def sipp_dir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture(scope="session")
def target(settings: Settings) -> tuple[str, int]:
    return (settings.sip_host, settings.sip_port)


def call_records(env: dict[str, str], last: int = 50) -> list[dict[str, Any]]:
    """What `callcenter calls --last N --json` prints."""
    completed = subprocess.run(
        [*CALLCENTER, "calls", "--last", str(last), "--json"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    records: list[dict[str, Any]] = json.loads(completed.stdout)
    return records


def wait_for_record(
    caller: str, env: dict[str, str] | None = None, timeout: float = 10.0, since: str = ""
) -> dict[str, Any]:
    """The record of the call from ``caller`` (started at ``since`` or later, an ISO time, for a caller ID
    that earlier runs used too); the service writes it moments after the call ends (the row written while
    the call went on, ``in_progress``, is not it)."""
    deadline = time.monotonic() + timeout
    while True:
        for record in call_records(env or service_env()):
            if (
                record["caller_number"] == caller
                and record["outcome_reason"] != IN_PROGRESS
                and (not since or datetime.fromisoformat(record["started_at"]) >= datetime.fromisoformat(since))
            ):
                return record
        if time.monotonic() > deadline:
            raise AssertionError(f"no call record from {caller} within {timeout} s")
        time.sleep(0.2)
