"""The live wallboard over HTTP: a JSON snapshot and a Server-Sent Events stream pushed on every change.

    GET /api/wallboard          the board as the caller may see it (JSON)
    GET /api/wallboard/stream   text/event-stream: one ``board`` event at once, then one within ~0.1 s of every
                                agent-state change or call step, and at least every ``refresh`` seconds (waits grow)

``WallboardFeed`` is what ``callcenter serve`` feeds: ``agent_state`` from the ACD's state hook, ``step`` from
the journal of call steps. Each stream waits on its own event, so a slow browser never holds up the others;
the board is computed per stream and restricted to the user's queues and agents (an agent: their own panel).
EventSource reconnects by itself, so no tight polling is needed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, tzinfo

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.acd.events import AgentState, AgentStateChanged
from callcenter.dialplan.model import Dialplan
from callcenter.records import CallStep, StepKind
from callcenter.store.tables import call_steps
from callcenter.web.auth import COOKIE, PRINCIPAL, SESSION, WEB_AUTH
from callcenter.web.users import Principal, visible_agents, visible_queues
from callcenter.web.wallboard import Board, Wallboard

__all__ = ["WALLBOARD", "WallboardFeed", "add_wallboard_routes", "today_steps_async"]

log = logging.getLogger(__name__)

SETTLE = 0.05  # after a change, let the ACD's consumer handle what was posted with it, and coalesce bursts
SESSION_RECHECK = 30.0  # a stream opened with a session cookie checks that the session still lives this often


class WallboardFeed:
    def __init__(
        self,
        wallboard: Wallboard,
        dialplan: Callable[[], Dialplan],
        waits: Callable[[], Mapping[str, tuple[int, float]]],
        states: Callable[[], Mapping[str, tuple[AgentState, str]]],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        refresh: float = 2.0,
        current_call: Callable[[str], tuple[str, str] | None] = lambda agent: None,
    ) -> None:
        """``current_call(agent)``: the (linkedid, queue) of the queue call the agent is on, or None."""
        self._wallboard = wallboard
        self._dialplan = dialplan
        self._waits = waits
        self._states = states
        self._clock = clock
        self.refresh = refresh
        self.current_call = current_call
        self._listeners: set[asyncio.Event] = set()
        self.closing = False

    # --- fed by the service ------------------------------------------------------------------------------

    def agent_state(self, change: AgentStateChanged) -> None:
        self._wallboard.agent_state(change.agent, change.state, change.reason, self._clock())
        self._changed()

    def step(self, step: CallStep) -> None:
        self._wallboard.step(step)
        self._changed()

    def seed(self, steps: list[CallStep]) -> None:
        for step in steps:
            self._wallboard.step(step)

    def close(self) -> None:
        self.closing = True
        self._changed()

    # --- read by the pages -------------------------------------------------------------------------------

    def board(self, principal: Principal) -> Board:
        dialplan = self._dialplan()
        states = self._states()
        calls = {
            agent: call
            for agent, (state, _) in states.items()
            if state is AgentState.ON_CALL and (call := self.current_call(agent)) is not None
        }
        board = self._wallboard.board(self._clock(), dialplan, self._waits(), states, calls)
        return board.restricted(visible_queues(principal, dialplan), visible_agents(principal, dialplan))

    def listen(self) -> asyncio.Event:
        event = asyncio.Event()
        self._listeners.add(event)
        return event

    def forget(self, event: asyncio.Event) -> None:
        self._listeners.discard(event)

    def _changed(self) -> None:
        for event in self._listeners:
            event.set()


WALLBOARD = web.AppKey("wallboard", WallboardFeed)


async def _snapshot(request: web.Request) -> web.Response:
    return web.json_response(request.app[WALLBOARD].board(request[PRINCIPAL]).to_json())


async def _stream(request: web.Request) -> web.StreamResponse:
    feed, principal = request.app[WALLBOARD], request[PRINCIPAL]
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    changed = feed.listen()
    session_alive = _session_check(request)
    loop = asyncio.get_running_loop()
    checked = loop.time()
    try:
        while not feed.closing:
            if loop.time() - checked >= SESSION_RECHECK:
                # A stream outlives no log-out, new password, disabling or expiry: it ends, and the page's
                # EventSource, answered 401 when it reconnects, sends the browser to the log-in page.
                if not await session_alive():
                    break
                checked = loop.time()
            data = json.dumps(feed.board(principal).to_json(), separators=(",", ":"))
            await response.write(f"event: board\ndata: {data}\n\n".encode())
            changed.clear()
            try:
                async with asyncio.timeout(min(feed.refresh, SESSION_RECHECK)):
                    await changed.wait()
            except TimeoutError:
                continue
            await asyncio.sleep(SETTLE)
    except ConnectionResetError:
        pass  # the browser went away; EventSource comes back on its own if it was a glitch
    finally:
        feed.forget(changed)
    return response


def _session_check(request: web.Request) -> Callable[[], Awaitable[bool]]:
    """Whether the session the stream was opened with still lives (found again, which also keeps an open
    wallboard's session from going idle; never past its absolute expiry). Bearer-token streams: always."""
    auth, session, token = request.app.get(WEB_AUTH), request.get(SESSION), request.cookies.get(COOKIE, "")

    async def alive() -> bool:
        if auth is None or session is None:
            return True
        return await auth.sessions.find(token) is not None

    return alive


async def _close_streams(app: web.Application) -> None:
    app[WALLBOARD].close()


def add_wallboard_routes(app: web.Application, feed: WallboardFeed) -> None:
    app[WALLBOARD] = feed
    app.on_shutdown.append(_close_streams)
    app.router.add_get("/api/wallboard", _snapshot)
    app.router.add_get("/api/wallboard/stream", _stream)


async def today_steps_async(connection: AsyncConnection, node: str, zone: tzinfo, now: datetime) -> list[CallStep]:
    """The call steps of calls that entered a queue today (in ``zone``), to seed the board at start."""
    midnight = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    today = select(call_steps.c.linkedid).where(
        call_steps.c.node == node, call_steps.c.at >= midnight, call_steps.c.step == str(StepKind.QUEUED)
    )
    query = (
        select(call_steps)
        .where(call_steps.c.node == node, call_steps.c.linkedid.in_(today))
        .order_by(call_steps.c.at, call_steps.c.id)
    )
    steps = []
    for row in await connection.execute(query):
        data = row._mapping
        steps.append(
            CallStep(
                node=data["node"],
                linkedid=data["linkedid"],
                at=data["at"],
                kind=StepKind(data["step"]),
                queue=data["queue"],
                agent=data["agent"],
                position=data["position"],
                seconds=data["seconds"],
                result=data["result"],
                detail=data["detail"],
            )
        )
    return steps
