"""Supervisors listening to agents: listen (nobody hears them), whisper (only the agent does), barge (both do).

A session starts from the supervisor's desk phone (*9 and the agent's extension, then the supervisor's
PIN when the dialplan gives one) or from the HTTP API (an AMI Originate rings the supervisor's phone
into extensions.conf [cc-supervise]). Both end in the FastAGI flow ``monitor`` here, which checks that
the supervisor may monitor the agent (only agents of the queues the dialplan assigns them), audits the
decision either way, and runs ChanSpy on the agent's calls: ``PJSIP/<agent>-`` as the prefix, so the
supervisor stays with the agent from call to call until they hang up; ``d``: DTMF 4, 5 and 6 switch to
listen, whisper and barge during the session.

ChanSpy tells nobody about the switches, so the desk follows them from AMI: a DTMFEnd of 4, 5 or 6 on the
supervisor's channel while ChanSpy is spying (between ChanSpyStart and ChanSpyStop) is a change of mode.
Every session is written as a MonitorSession at its start, at each change and at its end. Where the queue
of the call asks for it (``monitoring_notice``), the agent hears a beep when the supervisor starts
listening to it: a Local channel whispers extensions.conf [cc-monitor-notice]'s beep to the agent alone.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from panoramisk.message import Message

from callcenter.asterisk.agi import AgiChannel, AgiHangupError
from callcenter.asterisk.ami import AmiActionError, event_field
from callcenter.dialplan.model import Dialplan
from callcenter.errors import CallcenterError
from callcenter.records import AuditEntry, MonitorSession

__all__ = ["MODES", "MonitorDesk", "MonitorError"]

log = logging.getLogger(__name__)

MODES = {"listen": "", "whisper": "w", "barge": "B"}  # ChanSpy's option for each mode
_DTMF_MODES = {"4": "listen", "5": "whisper", "6": "barge"}  # ChanSpy's d option
_SPY_MAX = 8 * 3600.0  # a session lasts as long as the supervisor stays on the line
_RING_SUPERVISOR = 30  # seconds the supervisor's phone rings for a session asked over the API


class MonitorError(CallcenterError):
    """A monitoring request refused or failed; ``status`` is the HTTP status that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class _Live:
    session: MonitorSession
    channel: str  # the supervisor's channel
    spying: set[str] = field(default_factory=set)  # the agent's channels ChanSpy is on now


@dataclass(frozen=True)
class _Pending:
    supervisor: str
    agent: str
    mode: str
    actor: str


class MonitorDesk:
    def __init__(
        self,
        dialplan: Callable[[], Dialplan],
        originate: Callable[[dict[str, str], float], Awaitable[Message]],  # AmiClient.originate
        submit: Callable[[MonitorSession | AuditEntry], None],
        node: str,
        queue_of: Callable[[str], str | None] = lambda channel: None,  # an agent's channel -> its call's queue
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._dialplan = dialplan
        self._originate = originate
        self._submit = submit
        self._node = node
        self._queue_of = queue_of
        self._clock = clock
        self._live: dict[str, _Live] = {}  # by the supervisor's channel
        self._pending: dict[str, _Pending] = {}  # API sessions whose supervisor's phone rings, by session id
        self._tasks: set[asyncio.Task[None]] = set()

    # --- the HTTP API ------------------------------------------------------------------------------------

    def sessions(self) -> list[dict[str, Any]]:
        """The sessions going on now."""
        return [
            {
                "session_id": live.session.session_id,
                "supervisor": live.session.supervisor,
                "agent": live.session.agent,
                "via": live.session.via,
                "mode": live.session.modes[-1][0],
                "started_at": live.session.started_at.isoformat(),
                "calls": list(live.session.calls),
            }
            for live in self._live.values()
        ]

    def start_from_api(self, supervisor: str, agent: str, mode: str, actor: str) -> str:
        """Ring the supervisor's phone into a session on ``agent``; return the session's id.

        Raises MonitorError: 400 for an unknown mode, 404 for an unknown supervisor or agent, 403 when the
        supervisor may not monitor the agent (audited).
        """
        if mode not in MODES:
            raise MonitorError(400, f"mode must be one of {', '.join(MODES)}")
        dialplan = self._dialplan()
        if not any(person.extension == supervisor for person in dialplan.supervisors):
            raise MonitorError(404, f"{supervisor!r} is not a supervisor's extension")
        if not any(person.extension == agent for person in dialplan.agents):
            raise MonitorError(404, f"{agent!r} is not an agent's extension")
        if not dialplan.may_monitor(supervisor, agent):
            self._audit(actor, agent, False, f"supervisor {supervisor}: agent not in their queues")
            raise MonitorError(403, f"supervisor {supervisor} may not monitor agent {agent} (not in their queues)")
        session_id = self._new_id()
        self._pending[session_id] = _Pending(supervisor, agent, mode, actor)
        self._spawn(self._ring(session_id, supervisor, agent, mode), f"monitor-{session_id}")
        return session_id

    async def _ring(self, session_id: str, supervisor: str, agent: str, mode: str) -> None:
        variables = f"CC_SPY_AGENT={agent},CC_SPY_MODE={mode},CC_SPY_SESSION={session_id}"
        action = {
            "Action": "Originate",
            "Channel": f"PJSIP/{supervisor}",
            "Context": "cc-supervise",
            "Exten": "s",
            "Priority": "1",
            "Variable": variables,
            "CallerID": f'"Monitor {agent}" <{agent}>',
            "Timeout": str(_RING_SUPERVISOR * 1000),
        }
        try:
            await self._originate(action, _RING_SUPERVISOR + 10)
        except AmiActionError as error:
            # Not answered: the request is dropped (answered, the flow takes it from _pending itself).
            log.warning("monitoring session %s: supervisor %s's phone not reached (%s)", session_id, supervisor, error)
            self._pending.pop(session_id, None)

    # --- the FastAGI flow ----------------------------------------------------------------------------------

    async def __call__(self, channel: AgiChannel) -> None:
        supervisor = await channel.get_variable("CHANNEL(endpoint)")
        agent, session_id = channel.header("arg_1"), channel.header("arg_3")
        await channel.answer()
        if session_id:
            pending = self._pending.pop(session_id, None)
            if pending is None or pending.supervisor != supervisor or pending.agent != agent:
                log.warning("monitoring session %r reached the flow unasked (from %r)", session_id, supervisor)
                await self._end(channel, "beeperr")
                return
            mode, actor, via = pending.mode, pending.actor, "api"
        else:
            mode, actor, via = "listen", supervisor, "phone"
            session_id = self._new_id()
            if not await self._authenticated(channel, supervisor, agent):
                return
        if not self._dialplan().may_monitor(supervisor, agent):
            self._audit(actor, agent, False, f"supervisor {supervisor}: agent not in their queues ({via})")
            log.warning("supervisor %s refused monitoring agent %s: not in their queues", supervisor, agent)
            await self._end(channel, "beeperr")
            return
        self._audit(actor, agent, True, f"supervisor {supervisor}, {mode}, {via}")
        await self._spy(channel, session_id, supervisor, agent, mode, via)

    async def _authenticated(self, channel: AgiChannel, supervisor: str, agent: str) -> bool:
        """A phone's request: from a supervisor's phone, with their PIN when they have one."""
        boss = next((person for person in self._dialplan().supervisors if person.extension == supervisor), None)
        if boss is None:
            self._audit(f"phone:{supervisor}", agent, False, "not a supervisor's phone")
            log.warning("monitoring code from %r, which is not a supervisor's phone", supervisor)
            await self._end(channel, "beeperr")
            return False
        if boss.pin is not None:
            typed = await channel.get_data("agent-pass", 8.0, len(boss.pin))
            if typed != boss.pin:
                self._audit(supervisor, agent, False, "wrong PIN")
                log.warning("supervisor %s: wrong PIN for monitoring", supervisor)
                await self._end(channel, "auth-incorrect")
                return False
        return True

    async def _spy(
        self, channel: AgiChannel, session_id: str, supervisor: str, agent: str, mode: str, via: str
    ) -> None:
        now = self._clock()
        session = MonitorSession(self._node, session_id, supervisor, agent, via, now, now, modes=((mode, now),))
        live = _Live(session, channel.header("channel"))
        self._live[live.channel] = live
        self._submit(session)
        log.info("supervisor %s monitors agent %s (%s, session %s)", supervisor, agent, mode, session_id)
        try:
            # q: no beep or name to the supervisor; d: 4/5/6 switch modes; b: bridged calls only.
            await channel.exec("ChanSpy", f"PJSIP/{agent}-,qdb{MODES[mode]}", timeout=_SPY_MAX)
        except AgiHangupError:
            pass  # the supervisor hung up: the usual end
        finally:
            self._live.pop(live.channel, None)
            end = self._clock()
            self._submit(replace(live.session, ended_at=end, updated_at=end))
            log.info("supervisor %s stopped monitoring agent %s (session %s)", supervisor, agent, session_id)
        with suppress(AgiHangupError):  # ChanSpy ends when the supervisor hangs up: usually nobody is left
            await channel.set_variable("CC_DONE", "1")

    # --- AMI -------------------------------------------------------------------------------------------

    def event(self, event: Message) -> None:
        name = event_field(event, "Event")
        if name == "ChanSpyStart":
            live = self._live.get(event_field(event, "SpyerChannel"))
            if live is None:
                return  # a notice's whisper, or a spy we did not start
            spyee = event_field(event, "SpyeeChannel")
            live.spying.add(spyee)
            linkedid = event_field(event, "SpyeeLinkedid")
            if linkedid and linkedid not in live.session.calls:
                self._changed(live, calls=(*live.session.calls, linkedid))
            queue = self._queue_of(spyee)
            rules = self._dialplan().queues.get(queue) if queue else None
            if rules is not None and rules.monitoring_notice:
                self._notify(spyee)
        elif name == "ChanSpyStop":
            live = self._live.get(event_field(event, "SpyerChannel"))
            if live is not None:
                live.spying.discard(event_field(event, "SpyeeChannel"))
        elif name == "DTMFEnd" and event_field(event, "Direction") == "Received":
            live = self._live.get(event_field(event, "Channel"))
            mode = _DTMF_MODES.get(event_field(event, "Digit"))
            if live is None or mode is None or not live.spying or live.session.modes[-1][0] == mode:
                return
            log.info("supervisor %s switches to %s on agent %s", live.session.supervisor, mode, live.session.agent)
            self._changed(live, modes=(*live.session.modes, (mode, self._clock())))

    def _changed(self, live: _Live, **changes: Any) -> None:
        live.session = replace(live.session, **changes, updated_at=self._clock())
        self._submit(live.session)

    def _notify(self, agent_channel: str) -> None:
        """The agent hears a beep: a Local channel plays it, whispered into the agent's channel only."""
        action = {
            "Action": "Originate",
            "Channel": "Local/s@cc-monitor-notice",
            "Application": "ChanSpy",
            # u: exactly this channel; w: whisper; q: quiet; E: done when the beep's channel hangs up.
            "Data": f"{agent_channel},uwqE",
        }
        self._spawn(self._send_notice(action), "monitor-notice")

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run ``work`` on its own, keeping a reference to its task until it is done."""
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_notice(self, action: dict[str, str]) -> None:
        try:
            await self._originate(action, 10)
        except AmiActionError as error:
            log.warning("monitoring notice not played: %s", error)

    # --- helpers ---------------------------------------------------------------------------------------------

    def _audit(self, actor: str, agent: str, allowed: bool, detail: str) -> None:
        self._submit(AuditEntry(self._node, self._clock(), actor, "monitor.start", agent, allowed, detail))

    def _new_id(self) -> str:
        return f"{self._clock():%Y%m%d%H%M%S}-{secrets.token_hex(4)}"

    @staticmethod
    async def _end(channel: AgiChannel, prompt: str) -> None:
        await channel.stream_file(prompt)
        await channel.set_variable("CC_DONE", "1")
        await channel.hangup()
