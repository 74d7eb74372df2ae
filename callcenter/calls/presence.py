"""Agents' ACD state as presence on desk phones (BLF keys), through Asterisk custom device states.

Every agent has a custom device, ``Custom:cc-agent-<extension>``, whose state the service sets over
AMI (``Setvar DEVICE_STATE(Custom:cc-agent-1001) = NOT_INUSE``). The generated hint ``*8<extension>``
(``callcenter.asterisk.confgen``) watches it, so a phone subscribed to ``*81001`` gets a NOTIFY on
every change of agent 1001's ACD state:

============  ============  ======================  ==============================
ACD state     device state  hint (ExtensionState)   dialog-info (BLF lamp); pidf note
============  ============  ======================  ==============================
logged_out    UNAVAILABLE   Unavailable (4)         terminated (off); "Unavailable"
available     NOT_INUSE     Idle (0)                terminated (off); "Ready"
ringing       RINGING       Ringing (8)             early (flashing); "Ringing"
on_call       INUSE         InUse (1)               confirmed (lit); "On the phone"
wrap_up       BUSY          Busy (2)                confirmed (lit); "On the phone"
paused        ONHOLD        Hold (16)               confirmed, +sip.rendering=no; "On hold"
============  ============  ======================  ==============================

A lamp is lit when the agent cannot take a call, flashes while one rings. Paused is ONHOLD: the agent
is there but holding off, which phones that render held dialogs show apart from a call; wrap-up is
BUSY, still working on the last call. dialog-info cannot tell logged out from available (both
"terminated", an Asterisk limit); pidf subscribers and AMI ``ExtensionState`` can.

How it stays right without ever holding up the ACD:

- The ACD reports changes synchronously (``AcdService.on_agent_state``): ``agent_state_changed`` only
  notes the latest state and wakes the publishing task; it does no I/O and cannot fail.
- One task publishes the latest state of each agent whose state Asterisk may not have. A burst of
  changes costs one action; while AMI is down the agents simply stay pending.
- After every AMI login (the first and each reconnect) every agent's state is published again: the
  custom states live in Asterisk's astdb, but a restarted Asterisk may have lost it, and changes made
  while the link was down never reached it. Before that, the publisher waits for func_devstate to be
  loaded (an AMI login can come while a restarting Asterisk still loads its modules).
- One action at a time keeps the order: panoramisk replays an action a lost link cut off only while
  it is still awaited, and this task awaits it before it sends anything newer for the agent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from contextlib import suppress
from types import MappingProxyType
from typing import Final

from callcenter.acd.events import AgentState, AgentStateChanged
from callcenter.asterisk.ami import AmiActionError, AmiClient
from callcenter.asterisk.confgen import presence_device

__all__ = ["DEVICE_STATES", "PresencePublisher", "device_state"]

log = logging.getLogger(__name__)

DEVICE_STATES: Final[Mapping[AgentState, str]] = MappingProxyType(
    {
        AgentState.LOGGED_OUT: "UNAVAILABLE",
        AgentState.AVAILABLE: "NOT_INUSE",
        AgentState.RINGING: "RINGING",
        AgentState.ON_CALL: "INUSE",
        AgentState.WRAP_UP: "BUSY",
        AgentState.PAUSED: "ONHOLD",
    }
)

_RETRY_FIRST = 0.5
_RETRY_MAX = 30.0


def device_state(state: AgentState) -> str:
    """The Asterisk device state that shows ``state``; one the ACD adds later shows as unavailable."""
    return DEVICE_STATES.get(state, "UNAVAILABLE")


class PresencePublisher:
    """Publishes agents' ACD states as custom device states; ``run`` is its one task."""

    def __init__(self, ami: AmiClient, agents: Iterable[str], retry_max: float = _RETRY_MAX) -> None:
        self._ami = ami
        self._retry_max = retry_max
        # Every known agent starts logged out, so a lamp never shows a stale "available" from astdb.
        self._states: dict[str, AgentState] = dict.fromkeys(agents, AgentState.LOGGED_OUT)
        self._pending: dict[str, None] = {}  # agents whose latest state Asterisk may not have (ordered)
        self._resync = True  # publish everyone (at the first login, and after every reconnect)
        self._wake = asyncio.Event()
        ami.on_login(self._logged_in)

    def agent_state_changed(self, change: AgentStateChanged) -> None:
        """The ACD's hook: note the latest state, wake the task. Never blocks, never raises."""
        self._states[change.agent] = change.state
        self._pending[change.agent] = None
        self._wake.set()

    def agents_changed(self, agents: Iterable[str]) -> None:
        """A reload added agents: their lamps start as logged out (a state never set would show idle)."""
        for agent in agents:
            if agent not in self._states:
                self._states[agent] = AgentState.LOGGED_OUT
                self._pending[agent] = None
                self._wake.set()

    def _logged_in(self) -> None:
        self._resync = True
        self._wake.set()

    async def run(self) -> None:
        delay = _RETRY_FIRST
        failing = False
        while True:
            if not self._pending and not self._resync:
                await self._wake.wait()
            self._wake.clear()
            await self._ami.connected.wait()
            try:
                if self._resync:
                    await self._wait_for_devstate()
                    self._resync = False
                    self._pending = dict.fromkeys(self._states)
                await self._publish_pending()
            except AmiActionError as error:
                if not failing:
                    log.warning("agents' presence not published (%s); retrying", error)
                failing = True
                # The link may be down (the next login wakes us) or Asterisk may refuse for now.
                with suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
                delay = min(delay * 2, self._retry_max)
                continue
            if failing:
                log.info("agents' presence published again")
            failing = False
            delay = _RETRY_FIRST

    async def _wait_for_devstate(self) -> None:
        response = await self._ami.action({"Action": "ModuleCheck", "Module": "func_devstate"})
        log.debug("func_devstate is loaded (%s)", response.get("Version", "?"))

    async def _publish_pending(self) -> None:
        while self._pending:
            agent = next(iter(self._pending))
            del self._pending[agent]
            state = self._states[agent]
            try:
                await self._ami.action(
                    {
                        "Action": "Setvar",
                        "Variable": f"DEVICE_STATE({presence_device(agent)})",
                        "Value": device_state(state),
                    }
                )
            except AmiActionError:
                self._pending.setdefault(agent, None)
                raise
            log.debug("presence of agent %s: %s (%s)", agent, device_state(state), state)
