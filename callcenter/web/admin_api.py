"""Admins' dialplan actions over HTTP: what is live, check the files, reload them, with every problem shown.

    GET  /api/dialplan           the live version and what it holds
    POST /api/dialplan/check     validate the files on disk without applying them: {"ok", "problems": [...]}
    POST /api/dialplan/reload    as `callcenter reload`: {"ok", "changed", "version", "problems": [...]};
                                 an invalid set of files changes nothing (the old version stays live)

Problems are ``file:line:column: message`` texts. Loading reads files, so it runs in a thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aiohttp import web

from callcenter.dialplan.loader import Problem
from callcenter.dialplan.model import Dialplan
from callcenter.live_dialplan import ReloadResult
from callcenter.web.auth import require_role
from callcenter.web.json_io import read_object
from callcenter.web.users import Role

__all__ = ["DIALPLAN_ADMIN", "DialplanAdmin", "add_admin_routes"]


@dataclass(frozen=True)
class DialplanAdmin:
    current: Callable[[], Dialplan]
    version: Callable[[], int]
    check: Callable[[], Sequence[Problem]]  # the problems of the files on disk, none if they are valid
    reload: Callable[[], ReloadResult]


DIALPLAN_ADMIN = web.AppKey("dialplan_admin", DialplanAdmin)


async def _info(request: web.Request) -> web.Response:
    require_role(request, Role.ADMIN)
    admin = request.app[DIALPLAN_ADMIN]
    dialplan = admin.current()
    return web.json_response(
        {
            "version": admin.version(),
            "numbers": len(dialplan.numbers),
            "menus": len(dialplan.menus),
            "queues": len(dialplan.queues),
            "agents": len(dialplan.agents),
            "supervisors": len(dialplan.supervisors),
        }
    )


async def _check(request: web.Request) -> web.Response:
    require_role(request, Role.ADMIN)
    await read_object(request, ())
    problems = await asyncio.to_thread(request.app[DIALPLAN_ADMIN].check)
    return web.json_response({"ok": not problems, "problems": [str(problem) for problem in problems]})


async def _reload(request: web.Request) -> web.Response:
    require_role(request, Role.ADMIN)
    await read_object(request, ())
    # On the loop, not in a thread: the swap and the ACD's reconfiguration happen where everything else runs.
    result = request.app[DIALPLAN_ADMIN].reload()
    return web.json_response(
        {
            "ok": result.ok,
            "changed": result.changed,
            "version": result.version,
            "problems": [str(problem) for problem in result.problems],
        }
    )


def add_admin_routes(app: web.Application, admin: DialplanAdmin) -> None:
    app[DIALPLAN_ADMIN] = admin
    app.router.add_get("/api/dialplan", _info)
    app.router.add_post("/api/dialplan/check", _check)
    app.router.add_post("/api/dialplan/reload", _reload)
