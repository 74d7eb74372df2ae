"""Fuzzing the AMI event handlers with garbage: events as panoramisk parses them off the wire (Message.from_line,
as its protocol does: repeated keys become lists, missing ones are absent, values may be huge), fed to each
handler the service registers, and through AmiClient's single consumer. No handler raises; state stays sane."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st
from panoramisk.message import Message

from callcenter.acd.setup import acd_rules
from callcenter.asterisk.ami import AmiClient, event_field
from callcenter.calls.acd_service import AcdService
from callcenter.calls.holds import HoldWatch
from callcenter.calls.monitoring import MonitorDesk
from callcenter.calls.queue_wait import QueueWaiting
from callcenter.calls.transfers import TransferDesk
from callcenter.dialplan.loader import load_dialplan
from callcenter.ivr.prompts import PromptResolver
from callcenter.records import Record

SAMPLE = Path(__file__).resolve().parents[2] / "dialplans"
DIALPLAN = load_dialplan(SAMPLE)
FUZZ = settings(max_examples=200, deadline=None)

NAMES = ["Hold", "Unhold", "Hangup", "DialEnd", "BlindTransfer", "AttendedTransfer", "ChanSpyStart", "ChanSpyStop"]
NAMES += ["DTMFEnd", "UserEvent", "Newchannel"]
KEYS = ["Event", "Uniqueid", "Linkedid", "Channel", "DestChannel", "DialStatus", "Result", "Context", "Extension"]
KEYS += ["TransfererChannel", "TransfereeLinkedid", "TransferTargetChannel", "LocalOneChannel", "OrigTransfererChannel"]
KEYS += ["SecondTransfererContext", "SecondTransfererExten", "SecondTransfererConnectedLineNum", "SpyerChannel"]
KEYS += ["SpyeeChannel", "SpyeeLinkedid", "Digit", "Direction", "CallerIDName", "UserEvent", "Recording"]
values = st.one_of(
    st.sampled_from(["", "PJSIP/1001-00000001", "Local/*73@cc-agent-transfer-0001;1", "cc-agent-transfer", "Success"]),
    st.sampled_from(["ANSWER", "Received", "1", "*", "vm-1.1", "PJSIP/", "Local/@", "-", ";"]),
    st.text(max_size=30).map(lambda text: text.replace("\r", "").replace("\n", "")),
    st.just("x" * 10_000),
)
lines = st.tuples(st.sampled_from(KEYS), values).map(lambda kv: f"{kv[0]}: {kv[1]}")


@st.composite
def wire_events(draw: st.DrawFn) -> Message:
    """One event as text on the wire, parsed by panoramisk (keys may repeat: the value is then a list)."""
    body = draw(st.lists(lines, max_size=12))
    name = draw(st.sampled_from(NAMES))
    message = Message.from_line("\r\n".join([f"Event: {name}", *body]))
    assert message is not None
    return message


class Handlers:
    """The handlers the service feeds every AMI event to (callcenter/app.py on_ami_event), on the sample dialplan."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.acd = AcdService(*acd_rules(DIALPLAN), clock=lambda: 0.0)
        clock = lambda: datetime(2027, 1, 12, 9, 0, tzinfo=UTC)  # noqa: E731
        queues = QueueWaiting(self.acd, PromptResolver(SAMPLE, PurePosixPath("/sounds")), clock, self.records.append)
        self.holds = HoldWatch(self.records.append, "node1", clock)
        self.transfers = TransferDesk(lambda: DIALPLAN, queues, self.records.append, "node1", clock)
        self.monitoring = MonitorDesk(lambda: DIALPLAN, self._originate, self.records.append, "node1", clock=clock)

    @staticmethod
    async def _originate(action: dict[str, str], timeout: float) -> Message:
        raise AssertionError("no monitoring session was started: nothing may be originated")

    def __call__(self, event: Message) -> None:
        self.monitoring.event(event)
        self.holds.event(event)
        self.transfers.event(event)
        if event.get("Event") == "DialEnd":
            self.acd.answered(str(event.get("Uniqueid", "")), str(event.get("DestChannel", "")))


async def _feed(events: list[Message]) -> Handlers:
    handlers = Handlers()
    for event in events:
        handlers(event)  # raises out of the test if any handler does
    await asyncio.sleep(0)  # updates scheduled with call_later are not due; nothing else may be pending
    return handlers


@FUZZ
@given(st.lists(wire_events(), max_size=15))
@example([Message.from_line("Event: Hold\r\nUniqueid: a\r\nUniqueid: b\r\nChannel: PJSIP/1001-1")])
@example(
    [
        Message.from_line("Event: Hold\r\nUniqueid: 1\r\nChannel: x\r\nChannel: y"),
        Message.from_line("Event: Unhold\r\nUniqueid: 1"),
    ]
)
def test_garbage_events_never_raise_out_of_a_handler(events: list[Message]) -> None:
    handlers = asyncio.run(_feed(events))
    assert all(isinstance(key, str) for key in handlers.holds._held)


def test_the_single_consumer_outlives_a_handler_that_raises() -> None:
    async def run() -> list[Any]:
        seen: list[Any] = []

        def handler(event: Message) -> None:
            seen.append(event.get("Event"))
            if event.get("Event") == "Boom":
                raise ValueError("a handler's bug")

        client = AmiClient("127.0.0.1", 9, "user", "secret", handler)
        for name in ("Boom", "Hold", "Boom", "Hangup"):
            client._queue_event(None, Message({"Event": name}))
        consumer = asyncio.create_task(client.dispatch_events())
        for _ in range(100):
            if len(seen) == 4:
                break
            await asyncio.sleep(0)
        consumer.cancel()
        client.close()
        return seen

    assert asyncio.run(run()) == ["Boom", "Hold", "Boom", "Hangup"]


def test_an_event_with_a_repeated_field_is_dropped_before_any_handler() -> None:
    """A caller ID with a line break adds lines to Asterisk's event: two Uniqueid or Channel lines cannot be told
    apart, so such an event is not acted on; channel variables, which Asterisk repeats itself, are kept."""

    async def run() -> list[Any]:
        seen: list[Any] = []
        client = AmiClient("127.0.0.1", 9, "user", "secret", lambda event: seen.append(event_field(event, "Uniqueid")))
        client._queue_event(None, Message({"Event": "Hangup", "Uniqueid": ["real-1", "forged-123"]}))
        client._queue_event(None, Message({"Event": "Status", "Uniqueid": "u-2", "Variable": ["A=1", "B=2"]}))
        client._queue_event(None, Message({"Event": "Hangup", "Uniqueid": "u-3"}))
        consumer = asyncio.create_task(client.dispatch_events())
        for _ in range(100):
            if len(seen) == 2:
                break
            await asyncio.sleep(0)
        consumer.cancel()
        client.close()
        return seen

    assert asyncio.run(run()) == ["u-2", "u-3"]
