"""Agents' actions over HTTP: what the desk-phone feature codes do (*50 log in, *51 log out, *52 pause, *53 unpause).

``AgentActions`` posts the very events the feature codes post (``AgentLoggedIn``,
``AgentLoggedOut``, ``AgentPaused``, ``AgentUnpaused``) to the ACD service, then
answers with the state the ACD published for the agent (``AcdService.agent_states``)
once the change is in effect. The ACD's single consumer task handles events in
order within microseconds, so that is a short poll, bounded by ``settle``
seconds. A change the ACD defers is answered at once with ``pending``: a pause or
log-out asked for during a call (or its wrap-up) takes effect after it, as from
the phone. If the ACD has not confirmed within ``settle`` the answer is
``pending`` too: the event is queued and will be handled in order.

The handlers are thin: parse the request, call ``AgentActions``, render JSON.

Roles (``callcenter.web.users``): an agent sees and acts for their own extension only; a supervisor sees the
agents of their queues (read only); an admin (or the bearer token) everything.

    GET  /api/agents                      every agent of the dialplan the caller may see, with ACD state and reason
    GET  /api/agents/{extension}          one (404 for an extension that is not an agent's)
    POST /api/agents/{extension}/login    {"pin": "1234"} when the dialplan gives the agent a PIN (403 if wrong)
    POST /api/agents/{extension}/logout
    POST /api/agents/{extension}/pause    {"reason": "lunch"}, default "break"
    POST /api/agents/{extension}/unpause
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from callcenter.acd.events import AgentLoggedIn, AgentLoggedOut, AgentPaused, AgentState, AgentUnpaused, Event
from callcenter.calls.acd_service import AcdService
from callcenter.dialplan.model import Agent, Dialplan
from callcenter.web.auth import PRINCIPAL
from callcenter.web.json_io import ApiError, read_object
from callcenter.web.users import may_act_for_agent, may_see_agent

__all__ = [
    "AGENT_ACTIONS",
    "DEFAULT_REASON",
    "REASON_MAX",
    "AgentActions",
    "AgentView",
    "Outcome",
    "add_agent_routes",
    "parse_reason",
]

log = logging.getLogger(__name__)

DEFAULT_REASON = "break"  # as *52 with no code
REASON_MAX = 32
_DEFERRED_WHILE = (AgentState.ON_CALL, AgentState.WRAP_UP)  # the ACD holds a pause or log-out until after these


@dataclass(frozen=True, slots=True)
class AgentView:
    extension: str
    name: str
    queues: tuple[str, ...]
    pin_required: bool
    state: AgentState
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "extension": self.extension,
            "name": self.name,
            "queues": list(self.queues),
            "pin_required": self.pin_required,
            "state": str(self.state),
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Outcome:
    agent: AgentView
    pending: bool  # asked for, not in effect yet (after the current call and wrap-up, or the ACD is behind)


class AgentActions:
    """The agents of the live dialplan, their ACD states, and their actions."""

    def __init__(
        self, acd: AcdService, dialplan: Callable[[], Dialplan], *, settle: float = 2.0, poll: float = 0.01
    ) -> None:
        self._acd = acd
        self._dialplan = dialplan
        self._settle = settle
        self._poll = poll

    def dialplan(self) -> Dialplan:
        return self._dialplan()

    def agents(self) -> list[AgentView]:
        return [self._view(agent) for agent in self._dialplan().agents]

    def agent(self, extension: str) -> AgentView:
        return self._view(self._find(extension))

    async def log_in(self, extension: str, pin: str | None) -> Outcome:
        agent = self._find(extension)
        if agent.pin is not None:
            if pin is None:
                raise ApiError(403, f'agent {extension} needs a PIN to log in: send {{"pin": "..."}}')
            # On bytes: a JSON string may hold any character, and compare_digest takes only ASCII str.
            if not hmac.compare_digest(pin.encode("utf-8", "surrogatepass"), agent.pin.encode()):
                log.warning("agent %s: wrong PIN at log-in over HTTP", extension)
                raise ApiError(403, f"wrong PIN for agent {extension}")
        # Also when logged in already: it takes back a log-out asked for during a call, as *50 does.
        return await self._change(agent, AgentLoggedIn(self._acd.now(), extension), _logged_in)

    async def log_out(self, extension: str) -> Outcome:
        agent = self._find(extension)
        return await self._change(agent, AgentLoggedOut(self._acd.now(), extension), _logged_out)

    async def pause(self, extension: str, reason: str) -> Outcome:
        agent = self._find(extension)
        self._refuse_if_logged_out(agent, "pause")

        def paused(state: AgentState, current: str) -> bool:
            return state is AgentState.PAUSED and current == reason

        return await self._change(agent, AgentPaused(self._acd.now(), extension, reason), paused)

    async def unpause(self, extension: str) -> Outcome:
        agent = self._find(extension)
        self._refuse_if_logged_out(agent, "unpause")
        # Also when not paused: it takes back a pause asked for during a call, as *53 does.
        return await self._change(agent, AgentUnpaused(self._acd.now(), extension), _not_paused)

    # --- inside -------------------------------------------------------------------------------------------

    def _find(self, extension: str) -> Agent:
        agent = next((a for a in self._dialplan().agents if a.extension == extension), None)
        if agent is None:
            raise ApiError(404, f"no agent with extension {extension!r}")
        return agent

    def _state(self, extension: str) -> tuple[AgentState, str]:
        return self._acd.agent_states.get(extension, (AgentState.LOGGED_OUT, ""))

    def _view(self, agent: Agent) -> AgentView:
        state, reason = self._state(agent.extension)
        return AgentView(agent.extension, agent.name, agent.queues, agent.pin is not None, state, reason)

    def _refuse_if_logged_out(self, agent: Agent, action: str) -> None:
        if self._state(agent.extension)[0] is AgentState.LOGGED_OUT:
            raise ApiError(409, f"agent {agent.extension} is logged out: log in before asking to {action}")

    async def _change(self, agent: Agent, event: Event, done: Callable[[AgentState, str], bool]) -> Outcome:
        """Post ``event``; answer once the agent's published state satisfies ``done``, or is deferred, or time is up."""
        self._acd.post(event)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._settle
        while True:
            state, reason = self._state(agent.extension)
            if done(state, reason):
                return Outcome(self._view(agent), pending=False)
            if state in _DEFERRED_WHILE or loop.time() >= deadline:
                return Outcome(self._view(agent), pending=True)
            await asyncio.sleep(self._poll)


def _logged_in(state: AgentState, reason: str) -> bool:
    return state is not AgentState.LOGGED_OUT


def _logged_out(state: AgentState, reason: str) -> bool:
    return state is AgentState.LOGGED_OUT


def _not_paused(state: AgentState, reason: str) -> bool:
    return state is not AgentState.PAUSED


def parse_reason(value: object) -> str:
    """A pause reason as the records and the wallboard keep it: 1 to 32 printable characters."""
    if not isinstance(value, str):
        raise ApiError(400, 'reason: expected a string, like "lunch"')
    reason = value.strip()
    if not reason or len(reason) > REASON_MAX or not reason.isprintable():
        raise ApiError(400, f'reason: expected 1 to {REASON_MAX} printable characters, like "lunch"')
    return reason


# --- HTTP -------------------------------------------------------------------------------------------------

AGENT_ACTIONS = web.AppKey("agent_actions", AgentActions)


def _render(outcome: Outcome) -> web.Response:
    return web.json_response(
        {**outcome.agent.to_json(), "pending": outcome.pending}, status=202 if outcome.pending else 200
    )


def _seen(request: web.Request) -> str:
    """The agent of the route, if the caller may see them (403 otherwise, before anything else is said)."""
    extension = request.match_info["extension"]
    if not may_see_agent(request[PRINCIPAL], request.app[AGENT_ACTIONS].dialplan(), extension):
        raise ApiError(403, f"agent {extension} is not yours to see")
    return extension


def _acted_for(request: web.Request) -> str:
    extension = request.match_info["extension"]
    if not may_act_for_agent(request[PRINCIPAL], extension):
        raise ApiError(403, f"only agent {extension} (or an admin) may do this")
    return extension


async def _list_agents(request: web.Request) -> web.Response:
    actions, principal = request.app[AGENT_ACTIONS], request[PRINCIPAL]
    dialplan = actions.dialplan()
    views = [view for view in actions.agents() if may_see_agent(principal, dialplan, view.extension)]
    return web.json_response({"agents": [view.to_json() for view in views]})


async def _get_agent(request: web.Request) -> web.Response:
    return web.json_response(request.app[AGENT_ACTIONS].agent(_seen(request)).to_json())


async def _log_in(request: web.Request) -> web.Response:
    _acted_for(request)
    body = await read_object(request, ("pin",))
    pin = body.get("pin")
    if pin is not None and not isinstance(pin, str):
        raise ApiError(400, 'pin: expected a string of digits, like "1234"')
    return _render(await request.app[AGENT_ACTIONS].log_in(request.match_info["extension"], pin))


async def _log_out(request: web.Request) -> web.Response:
    _acted_for(request)
    await read_object(request, ())
    return _render(await request.app[AGENT_ACTIONS].log_out(request.match_info["extension"]))


async def _pause(request: web.Request) -> web.Response:
    _acted_for(request)
    body = await read_object(request, ("reason",))
    reason = parse_reason(body.get("reason", DEFAULT_REASON))
    return _render(await request.app[AGENT_ACTIONS].pause(request.match_info["extension"], reason))


async def _unpause(request: web.Request) -> web.Response:
    _acted_for(request)
    await read_object(request, ())
    return _render(await request.app[AGENT_ACTIONS].unpause(request.match_info["extension"]))


def add_agent_routes(app: web.Application, actions: AgentActions) -> None:
    app[AGENT_ACTIONS] = actions
    app.router.add_get("/api/agents", _list_agents)
    app.router.add_get("/api/agents/{extension}", _get_agent)
    app.router.add_post("/api/agents/{extension}/login", _log_in)
    app.router.add_post("/api/agents/{extension}/logout", _log_out)
    app.router.add_post("/api/agents/{extension}/pause", _pause)
    app.router.add_post("/api/agents/{extension}/unpause", _unpause)
