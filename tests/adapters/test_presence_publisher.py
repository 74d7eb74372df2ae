"""callcenter.calls.presence: agents' states reach Asterisk as custom device states, whatever the AMI link does.

A scripted AMI peer on loopback plays Asterisk: it accepts the login, answers ModuleCheck (func_devstate
loaded or not yet), keeps what Setvar DEVICE_STATE(Custom:...) sets, and can drop its sessions and
forget the states, like an Asterisk that restarted and lost its astdb. The client is the real AmiClient
on panoramisk.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest

from callcenter.acd.events import AgentState, AgentStateChanged
from callcenter.asterisk.ami import AmiClient
from callcenter.calls.presence import PresencePublisher

STEP = 5.0  # the most any expected change may take on loopback (the first retry comes after 0.5 s)


class FakeAsterisk:
    def __init__(self) -> None:
        self.device_states: dict[str, str] = {}
        self.setvars: list[tuple[str, str]] = []
        self.module_checks = 0
        self.devstate_loaded = True
        self.port = 0
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.StreamWriter] = set()
        self._changed = asyncio.Condition()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._session, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Asterisk goes away: no listener, every session closed."""
        assert self._server is not None
        self._server.close()
        await self.drop_sessions()
        await self._server.wait_closed()

    async def drop_sessions(self) -> None:
        for writer in list(self._sessions):
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        self._sessions.clear()

    async def restart(self) -> None:
        """A restart that lost the astdb: sessions dropped, custom states gone; listening again at once."""
        await self.drop_sessions()
        self.device_states.clear()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        async with asyncio.timeout(STEP):
            async with self._changed:
                await self._changed.wait_for(predicate)

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._sessions.add(writer)
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        try:
            while True:
                block = await reader.readuntil(b"\r\n\r\n")
                fields = dict(line.split(": ", 1) for line in block.decode().split("\r\n") if ": " in line)
                writer.write(self._answer(fields).encode())
                async with self._changed:
                    self._changed.notify_all()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._sessions.discard(writer)
            writer.close()

    def _answer(self, fields: dict[str, str]) -> str:
        action = fields.get("Action", "").lower()
        head = f"Response: Success\r\nActionID: {fields.get('ActionID', '')}\r\n"
        error = f"Response: Error\r\nActionID: {fields.get('ActionID', '')}\r\n"
        if action == "login":
            return head + "Message: Authentication accepted\r\n\r\nEvent: FullyBooted\r\nStatus: Fully Booted\r\n\r\n"
        if action == "modulecheck":
            self.module_checks += 1
            if not self.devstate_loaded:
                return (
                    f"Response: Error\r\nActionID: {fields.get('ActionID', '')}\r\nMessage: Module not loaded\r\n\r\n"
                )
            return head + "Version: 22.0.0\r\n\r\n"
        if action == "setvar":
            variable, value = fields["Variable"], fields["Value"]
            assert variable.startswith("DEVICE_STATE(Custom:") and variable.endswith(")")
            device = variable.removeprefix("DEVICE_STATE(").removesuffix(")")
            self.device_states[device] = value
            self.setvars.append((device, value))
            return head + "Message: Variable Set\r\n\r\n"
        if action == "ping":
            return head + "Ping: Pong\r\n\r\n"
        return error + "Message: Invalid/unknown command\r\n\r\n"


def change(agent: str, state: AgentState) -> AgentStateChanged:
    return AgentStateChanged(0.0, agent, state)


@pytest.fixture
async def asterisk() -> AsyncIterator[FakeAsterisk]:
    fake = FakeAsterisk()
    await fake.start()
    yield fake
    with contextlib.suppress(Exception):
        await fake.stop()


@contextlib.asynccontextmanager
async def publishing(asterisk: FakeAsterisk, agents: list[str]) -> AsyncIterator[PresencePublisher]:
    ami = AmiClient("127.0.0.1", asterisk.port, "cc", "secret", lambda event: None)
    publisher = PresencePublisher(ami, agents, retry_max=1.0)
    ami.start()
    task = asyncio.create_task(publisher.run())
    try:
        yield publisher
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        ami.close()


async def test_every_agent_is_shown_logged_out_at_first_then_as_the_acd_reports(asterisk: FakeAsterisk) -> None:
    async with publishing(asterisk, ["1001", "1002"]) as publisher:
        await asterisk.wait_until(lambda: len(asterisk.device_states) == 2)
        assert asterisk.device_states == {"Custom:cc-agent-1001": "UNAVAILABLE", "Custom:cc-agent-1002": "UNAVAILABLE"}
        publisher.agent_state_changed(change("1001", AgentState.AVAILABLE))
        await asterisk.wait_until(lambda: asterisk.device_states["Custom:cc-agent-1001"] == "NOT_INUSE")
        publisher.agent_state_changed(change("1001", AgentState.PAUSED))
        await asterisk.wait_until(lambda: asterisk.device_states["Custom:cc-agent-1001"] == "ONHOLD")
        assert asterisk.device_states["Custom:cc-agent-1002"] == "UNAVAILABLE"


async def test_a_burst_of_changes_sends_only_the_latest_state(asterisk: FakeAsterisk) -> None:
    async with publishing(asterisk, ["1001"]) as publisher:
        await asterisk.wait_until(lambda: len(asterisk.setvars) == 1)
        for state in (AgentState.AVAILABLE, AgentState.RINGING, AgentState.ON_CALL, AgentState.WRAP_UP):
            publisher.agent_state_changed(change("1001", state))
        await asterisk.wait_until(lambda: asterisk.device_states["Custom:cc-agent-1001"] == "BUSY")
        assert asterisk.setvars == [("Custom:cc-agent-1001", "UNAVAILABLE"), ("Custom:cc-agent-1001", "BUSY")]


async def test_an_agent_the_publisher_was_not_told_of_is_published_too(asterisk: FakeAsterisk) -> None:
    async with publishing(asterisk, []) as publisher:
        publisher.agent_state_changed(change("1003", AgentState.ON_CALL))
        await asterisk.wait_until(lambda: asterisk.device_states.get("Custom:cc-agent-1003") == "INUSE")


async def test_an_agent_added_by_a_reload_is_shown_logged_out_and_known_ones_keep_their_state(
    asterisk: FakeAsterisk,
) -> None:
    async with publishing(asterisk, ["1001"]) as publisher:
        publisher.agent_state_changed(change("1001", AgentState.AVAILABLE))
        await asterisk.wait_until(lambda: asterisk.device_states.get("Custom:cc-agent-1001") == "NOT_INUSE")
        publisher.agents_changed(["1001", "1004"])
        await asterisk.wait_until(lambda: asterisk.device_states.get("Custom:cc-agent-1004") == "UNAVAILABLE")
        assert asterisk.device_states["Custom:cc-agent-1001"] == "NOT_INUSE"


async def test_after_asterisk_restarts_every_agent_is_published_again(asterisk: FakeAsterisk) -> None:
    async with publishing(asterisk, ["1001", "1002"]) as publisher:
        publisher.agent_state_changed(change("1001", AgentState.PAUSED))
        await asterisk.wait_until(lambda: asterisk.device_states.get("Custom:cc-agent-1001") == "ONHOLD")
        await asterisk.restart()
        assert asterisk.device_states == {}
        await asterisk.wait_until(lambda: len(asterisk.device_states) == 2)
        assert asterisk.device_states == {"Custom:cc-agent-1001": "ONHOLD", "Custom:cc-agent-1002": "UNAVAILABLE"}


async def test_changes_while_asterisk_is_down_are_kept_and_published_when_it_is_back(asterisk: FakeAsterisk) -> None:
    async with publishing(asterisk, ["1001"]) as publisher:
        await asterisk.wait_until(lambda: len(asterisk.setvars) == 1)
        await asterisk.stop()
        # The ACD's hook neither waits nor fails while AMI is down.
        publisher.agent_state_changed(change("1001", AgentState.AVAILABLE))
        publisher.agent_state_changed(change("1001", AgentState.ON_CALL))
        asterisk.device_states.clear()  # it comes back with an empty astdb
        await asterisk.start()
        await asterisk.wait_until(lambda: asterisk.device_states.get("Custom:cc-agent-1001") == "INUSE")


async def test_no_state_is_set_before_func_devstate_is_loaded(asterisk: FakeAsterisk) -> None:
    asterisk.devstate_loaded = False  # AMI answers while a restarting Asterisk still loads its modules
    async with publishing(asterisk, ["1001"]) as publisher:
        publisher.agent_state_changed(change("1001", AgentState.AVAILABLE))
        await asterisk.wait_until(lambda: asterisk.module_checks >= 2)  # refused, retried, refused again
        assert asterisk.setvars == []
        asterisk.devstate_loaded = True
        await asterisk.wait_until(lambda: asterisk.device_states.get("Custom:cc-agent-1001") == "NOT_INUSE")
        assert asterisk.setvars == [("Custom:cc-agent-1001", "NOT_INUSE")]
