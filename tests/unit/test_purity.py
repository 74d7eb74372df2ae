"""GUIDE rule: the pure modules (numbers, dialplan model and loader, IVR interpreter, records) do no I/O
frameworks. Importing them must not pull in asyncio, the network or database libraries.

Checked in a fresh interpreter, because this test process has imported everything already.
pydantic (used by the dialplan model) does not import asyncio in the installed version, so every
forbidden module is asserted; if a pydantic upgrade starts importing asyncio, this test will say so.
"""

from __future__ import annotations

import json
import subprocess
import sys

PURE_MODULES = [
    "callcenter.dialplan.numbers",
    "callcenter.dialplan.model",
    "callcenter.dialplan.loader",
    "callcenter.dialplan.hours",
    "callcenter.dialplan.lists",
    "callcenter.dialplan.prompt_check",
    "callcenter.dialplan.schema",
    "callcenter.ivr.interpreter",
    "callcenter.ivr.simulator",
    "callcenter.records",
    "callcenter.recordings.policy",
    "callcenter.recordings.disk",
    "callcenter.kpi.erlang",
    "callcenter.kpi.contacts",
    "callcenter.kpi.measures",
    "callcenter.kpi.agent_time",
    "callcenter.kpi.wrapup",
    "callcenter.kpi.outcomes",
    "callcenter.kpi.sums",
    "callcenter.kpi.report",
    "callcenter.kpi.render",
    "callcenter.secret_rules",
    "callcenter.web.users",
    "callcenter.web.passwords",
    "callcenter.web.wallboard",
    "callcenter.web.throttle",
    "callcenter.web.charts",
    "callcenter.security.blocking",
]
FORBIDDEN = ["asyncio", "aiohttp", "panoramisk", "sqlalchemy", "psycopg"]

_PROBE = """
import importlib, json, sys
for name in sys.argv[1].split(","):
    importlib.import_module(name)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in sys.argv[2].split(","))))
"""


def imported_after(modules: list[str]) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, ",".join(modules), ",".join(FORBIDDEN)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    loaded: list[str] = json.loads(result.stdout)
    return loaded


def test_pure_modules_import_no_async_network_or_database_library() -> None:
    assert imported_after(PURE_MODULES) == []


def test_each_pure_module_alone_imports_no_forbidden_library() -> None:
    for module in PURE_MODULES:
        assert imported_after([module]) == [], module


def test_probe_does_detect_a_forbidden_import() -> None:
    # Guards the test itself: a module that does import asyncio must be caught.
    assert "asyncio" in imported_after(["asyncio"])
