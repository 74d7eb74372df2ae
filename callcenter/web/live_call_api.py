"""Actions on calls going on: an agent's recording (what *8 and *9 do on the phone) and supervisors' monitoring.

    GET  /api/agents/{extension}/recording          the agent's queue call as recording goes (404: not on one)
    POST /api/agents/{extension}/recording/start    on demand, where the queue's policy allows it
    POST /api/agents/{extension}/recording/stop     an on-demand recording
    POST /api/agents/{extension}/recording/pause    silence in the file from now (the caller reads card data)
    POST /api/agents/{extension}/recording/resume
    GET  /api/monitor                               the monitoring sessions going on
    POST /api/monitor   {"supervisor": "1901", "agent": "1001", "mode": "listen|whisper|barge"}
                        rings the supervisor's phone into the session (202); 403 for an agent outside the
                        supervisor's queues (audited)

Roles: the recording state of an agent's call is for whoever may see the agent; recording control for the
agent (or an admin); monitoring for supervisors (from their own phone, on agents of their queues; they see
their own sessions) and admins (any supervisor, every session). The actor audited is the user's name.

The handlers are thin: parse, call the desk (calls/recordings.py, calls/monitoring.py), render JSON.
A refusal says why: 409 with ``reason`` (not_on_call, not_allowed, already_recording, ...).
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from callcenter.calls.monitoring import MODES, MonitorDesk, MonitorError
from callcenter.calls.recordings import RecordingActionError, RecordingDesk
from callcenter.dialplan.model import Dialplan
from callcenter.web.auth import PRINCIPAL, require_role
from callcenter.web.json_io import ApiError, read_object
from callcenter.web.users import Role, may_act_for_agent, may_see_agent

__all__ = ["add_live_call_routes"]

RECORDINGS = web.AppKey("recording_desk", RecordingDesk)
MONITORING = web.AppKey("monitor_desk", MonitorDesk)
LIVE_DIALPLAN: web.AppKey[Callable[[], Dialplan]] = web.AppKey("live_call_dialplan")

_STATUS = {"asterisk": 502, "not_on_call": 409}


def _refused(error: RecordingActionError) -> ApiError:
    return ApiError(_STATUS.get(error.reason, 409), f"{error} ({error.reason})")


async def _recording_state(request: web.Request) -> web.Response:
    if not may_see_agent(request[PRINCIPAL], request.app[LIVE_DIALPLAN](), request.match_info["extension"]):
        raise ApiError(403, f"agent {request.match_info['extension']} is not yours to see")
    state = request.app[RECORDINGS].state(request.match_info["extension"])
    if state is None:
        raise ApiError(404, f"agent {request.match_info['extension']} is not on a queue call")
    return web.json_response(state)


async def _recording_action(request: web.Request) -> web.Response:
    if not may_act_for_agent(request[PRINCIPAL], request.match_info["extension"]):
        raise ApiError(403, f"only agent {request.match_info['extension']} (or an admin) may do this")
    await read_object(request, ())
    desk, agent, action = request.app[RECORDINGS], request.match_info["extension"], request.match_info["action"]
    actions = {"start": desk.start, "stop": desk.stop, "pause": desk.pause, "resume": desk.resume}
    try:
        recording = await actions[action](agent)
    except RecordingActionError as error:
        raise _refused(error) from None
    return web.json_response({"agent": agent, "recording": recording, "done": action})


async def _sessions(request: web.Request) -> web.Response:
    principal = require_role(request, Role.SUPERVISOR, Role.ADMIN)
    sessions = request.app[MONITORING].sessions()
    if principal.role is Role.SUPERVISOR:
        sessions = [session for session in sessions if session["supervisor"] == principal.extension]
    return web.json_response({"sessions": sessions})


async def _start_monitoring(request: web.Request) -> web.Response:
    principal = require_role(request, Role.SUPERVISOR, Role.ADMIN)
    body = await read_object(request, ("supervisor", "agent", "mode"))
    values: dict[str, str] = {}
    for name in ("supervisor", "agent"):
        value = body.get(name)
        if not isinstance(value, str) or not value.isdigit() or len(value) > 6:
            raise ApiError(400, f'{name}: expected an extension, like "1001"')
        values[name] = value
    mode = body.get("mode", "listen")
    if mode not in MODES:
        raise ApiError(400, f"mode: expected one of {', '.join(MODES)}")
    # The queue rule is the desk's (it audits a refusal); the phone rung must be the supervisor's own.
    if principal.role is Role.SUPERVISOR and values["supervisor"] != principal.extension:
        raise ApiError(403, f"supervisor {principal.extension}: you may monitor only from your own phone")
    peer = request.remote or "?"
    try:
        actor = f"{principal.actor}@{peer}"
        session = request.app[MONITORING].start_from_api(values["supervisor"], values["agent"], mode, actor)
    except MonitorError as error:
        raise ApiError(error.status, str(error)) from None
    return web.json_response({"session_id": session, "status": "ringing the supervisor's phone"}, status=202)


def add_live_call_routes(
    app: web.Application, recordings: RecordingDesk, monitoring: MonitorDesk, dialplan: Callable[[], Dialplan]
) -> None:
    app[LIVE_DIALPLAN] = dialplan
    app[RECORDINGS] = recordings
    app[MONITORING] = monitoring
    app.router.add_get("/api/agents/{extension}/recording", _recording_state)
    app.router.add_post("/api/agents/{extension}/recording/{action:start|stop|pause|resume}", _recording_action)
    app.router.add_get("/api/monitor", _sessions)
    app.router.add_post("/api/monitor", _start_monitoring)
