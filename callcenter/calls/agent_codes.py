"""Agents at their desk phones: feature codes to log in and out, pause with a reason, unpause.

*50 log in (with the agent's PIN when the dialplan gives one), *51 log out,
*52 pause (*52 followed by digits: a reason code), *53 unpause. The phone is
identified by its authenticated PJSIP endpoint, never by the caller ID it sends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from callcenter.acd.events import AgentLoggedIn, AgentLoggedOut, AgentPaused, AgentUnpaused
from callcenter.asterisk.agi import AgiChannel
from callcenter.calls.acd_service import AcdService
from callcenter.dialplan.model import Dialplan

__all__ = ["AgentCodes"]

log = logging.getLogger(__name__)


class AgentCodes:
    """The FastAGI handler for ``agent``: the dialled feature code is the first argument."""

    def __init__(self, dialplan: Callable[[], Dialplan], acd: AcdService) -> None:
        self._dialplan = dialplan
        self._acd = acd

    async def __call__(self, channel: AgiChannel) -> None:
        code = channel.header("arg_1")
        extension = await channel.get_variable("CHANNEL(endpoint)")
        agent = next((a for a in self._dialplan().agents if a.extension == extension), None)
        await channel.answer()
        if agent is None:
            log.warning("feature code %s from %r, which is not an agent's phone", code, extension)
            await self._end(channel, "agent-incorrect")
            return
        now = self._acd.now()
        if code == "*50":
            if agent.pin is not None:
                typed = await channel.get_data("agent-pass", 8.0, len(agent.pin))
                if typed != agent.pin:
                    log.warning("agent %s: wrong PIN at log-in", extension)
                    await self._end(channel, "agent-incorrect")
                    return
            self._acd.post(AgentLoggedIn(now, extension))
            await self._end(channel, "agent-loginok")
        elif code == "*51":
            self._acd.post(AgentLoggedOut(now, extension))
            await self._end(channel, "agent-loggedoff")
        elif code.startswith("*52"):
            self._acd.post(AgentPaused(now, extension, code[3:] or "break"))
            await self._end(channel, "beep")
        elif code == "*53":
            self._acd.post(AgentUnpaused(now, extension))
            await self._end(channel, "beep")
        else:
            await self._end(channel, "invalid")

    async def _end(self, channel: AgiChannel, prompt: str) -> None:
        await channel.stream_file(prompt)
        await channel.set_variable("CC_DONE", "1")
        await channel.hangup()
