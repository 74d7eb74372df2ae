"""AMI client on panoramisk: reconnects with backoff, bounds and times out actions.

panoramisk's Manager reconnects after a fixed delay; ``_BackoffManager``
doubles the delay on every failed attempt (capped) and resets it on a
successful login, and says in the log when the link goes and comes back.
Events are not handled in panoramisk's callbacks (which would run as
fire-and-forget tasks): they are put on one queue, and a single consumer hands
them on in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from panoramisk import Manager
from panoramisk.message import Message

from callcenter.errors import PeerError

__all__ = ["AmiActionError", "AmiClient", "event_field"]

log = logging.getLogger(__name__)

_BACKOFF_FIRST = 0.5
_BACKOFF_MAX = 10.0


def event_field(event: Mapping[str, Any], key: str) -> str:
    """A field of an AMI event as text: '' when absent. panoramisk makes a repeated key a list (Asterisk
    repeats some, garbage may repeat any): its last value then, so no handler meets a list where it reads text."""
    value = event.get(key)
    if isinstance(value, list):
        value = value[-1] if value else ""
    return "" if value is None else str(value)


# Fields Asterisk itself repeats in an event (channel variables); any other repeated field is not Asterisk's.
_REPEATABLE = frozenset({"Variable", "ChanVariable", "DestChanVariable"})


class AmiActionError(PeerError):
    """An AMI action failed, timed out, or the link is down."""


class _BackoffManager(Manager):  # type: ignore[misc]
    def __init__(self, client: AmiClient, **config: Any) -> None:
        super().__init__(**config)
        self._client = client
        self._next_delay = _BACKOFF_FIRST
        self.stopped = False

    def connect(self, *args: Any, **kwargs: Any) -> Any:
        if self.stopped:
            return None
        # panoramisk schedules the next attempt with self.reconnect_timeout if this one fails.
        self.reconnect_timeout = self._next_delay
        self._next_delay = min(self._next_delay * 2, _BACKOFF_MAX)
        return super().connect(*args, **kwargs)

    def login(self, future: asyncio.Future[Any]) -> bool:
        authenticated: bool = super().login(future)
        if authenticated:
            self._next_delay = _BACKOFF_FIRST
            self._client._logged_in()
        else:
            log.error("AMI login refused for user %r: check the AMI secret", self.config.get("username"))
        return authenticated

    def connection_lost(self, exc: Exception | None) -> None:
        self._client._lost()
        if not self.stopped:
            super().connection_lost(exc)


class AmiClient:
    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        on_event: Callable[[Message], None],
        max_in_flight: int = 64,
        action_timeout: float = 5.0,
    ) -> None:
        self._host = host
        self._port = port
        self._on_event = on_event
        self._action_timeout = action_timeout
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self._unanswered: set[asyncio.Future[Any]] = set()  # sent, each holding a place in _in_flight
        self._events: asyncio.Queue[Message] = asyncio.Queue()
        self.connected = asyncio.Event()
        self.reconnects = 0
        self._ever_connected = False
        self._login_listeners: list[Callable[[], None]] = []
        self._manager = _BackoffManager(
            self,
            host=host,
            port=port,
            username=username,
            secret=secret,
            ping_delay=5,
            ping_interval=5,
            # Never replay these after a reconnect: an Originate sent twice rings twice.
            forgetable_actions=("ping", "login", "originate"),
            log=logging.getLogger("callcenter.asterisk.panoramisk"),
        )
        self._manager.register_event("*", self._queue_event)

    def on_login(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every successful login, the first and each one after a reconnect.

        Whoever keeps state in Asterisk that a restarted Asterisk has lost (device states) puts it back
        from here. The listener runs in the client's callback: it must only note the fact and return.
        """
        self._login_listeners.append(listener)

    def start(self) -> None:
        self._manager.loop = asyncio.get_running_loop()
        log.info("AMI connecting to %s:%d", self._host, self._port)
        self._manager.connect()

    def close(self) -> None:
        self._manager.stopped = True
        self._manager.close()
        self.connected.clear()

    async def dispatch_events(self) -> None:
        """The single consumer: hands events to ``on_event`` in the order Asterisk sent them."""
        while True:
            event = await self._events.get()
            try:
                self._on_event(event)
            except Exception:
                log.exception("AMI event handler failed on %s", event.get("Event"))

    async def action(self, action: dict[str, str], timeout: float | None = None) -> Message:
        """Send an action and wait for its response; at most ``max_in_flight`` at once."""
        if not self.connected.is_set():
            raise AmiActionError(f"AMI is not connected; {action.get('Action')} not sent")
        response = await self._send(dict(action), timeout or self._action_timeout, "no response in time")
        if isinstance(response, list):
            return response[0]
        if not response.success:
            raise AmiActionError(f"AMI {action.get('Action')} failed: {response.get('Message')}")
        message: Message = response
        return message

    async def action_list(self, action: dict[str, str], timeout: float | None = None) -> list[Message]:
        """An action answered by a list of events (Status, CoreShowChannels...): the events, without the
        response and the closing ...Complete event."""
        if not self.connected.is_set():
            raise AmiActionError(f"AMI is not connected; {action.get('Action')} not sent")
        responses = await self._send(dict(action), timeout or self._action_timeout, "no response in time")
        messages: list[Message] = responses if isinstance(responses, list) else [responses]
        if messages and messages[0].get("Response") == "Error":
            raise AmiActionError(f"AMI {action.get('Action')} failed: {messages[0].get('Message')}")
        return [m for m in messages if "Event" in m and not str(m.get("Event", "")).endswith("Complete")]

    async def originate(self, action: dict[str, str], timeout: float) -> Message:
        """An asynchronous Originate, waited for until its OriginateResponse: the answer, or AmiActionError.

        Asynchronous so the AMI session keeps delivering events while the phone rings (a synchronous
        Originate holds Asterisk's session thread for the whole ring).
        """
        if not self.connected.is_set():
            raise AmiActionError("AMI is not connected; Originate not sent")
        responses = await self._send(
            {**action, "Action": "Originate", "Async": "true"}, timeout, "no OriginateResponse in time"
        )
        last: Message = responses[-1] if isinstance(responses, list) else responses
        if last.get("Response") != "Success":
            reason = last.get("Reason") or last.get("Message") or "failed"
            raise AmiActionError(f"Originate to {action.get('Channel')} not answered (reason {reason})")
        return last

    async def _send(self, action: dict[str, str], timeout: float, late: str) -> Any:
        """Send within the in-flight bound; wait ``timeout`` for the answer, else AmiActionError(``late``).

        An action that timed out keeps its place until Asterisk answers it or the link drops: Asterisk is
        still working on it, and actions sent in its place would pile up there (a flood against a slow
        Asterisk put four times the bound on the wire: tests/e2e/test_ami_flood.py).
        """
        await self._in_flight.acquire()
        if not self.connected.is_set():  # lost while this waited for a place: it would never be answered
            self._in_flight.release()
            raise AmiActionError(f"AMI is not connected; {action.get('Action')} not sent")
        answer: asyncio.Future[Any] = self._manager.send_action(action)
        self._unanswered.add(answer)
        answer.add_done_callback(self._answered)
        try:
            # Not wait_for: on 3.11 it returns the answer and drops a cancel that comes as the answer does
            # (the task then never ends: a stop hung when it came just after the AMI login, actions in flight).
            async with asyncio.timeout(timeout):
                return await asyncio.shield(answer)
        except TimeoutError:
            raise AmiActionError(f"AMI {action.get('Action')}: {late}") from None

    def _answered(self, answer: asyncio.Future[Any]) -> None:
        self._unanswered.discard(answer)
        self._in_flight.release()

    def _queue_event(self, manager: Manager, event: Message) -> None:
        repeated = sorted(key for key, value in event.items() if isinstance(value, list) and key not in _REPEATABLE)
        if repeated:
            # Asterisk writes a caller ID number unescaped: a line break in it (SIP's %0D%0A) adds lines to
            # the event, and which of two Channel or Uniqueid lines is Asterisk's cannot be told. Not acted on.
            log.warning(
                "AMI %s event with repeated fields %s dropped (forged by caller data?)",
                event_field(event, "Event"),
                repeated,
            )
            return
        self._events.put_nowait(event)

    def _logged_in(self) -> None:
        if self._ever_connected:
            self.reconnects += 1
            log.warning("AMI reconnected to %s:%d", self._host, self._port)
        else:
            log.info("AMI connected to %s:%d", self._host, self._port)
        self._ever_connected = True
        self.connected.set()
        for listener in self._login_listeners:
            try:
                listener()
            except Exception:
                log.exception("AMI login listener failed")

    def _lost(self) -> None:
        if self.connected.is_set():
            log.warning("AMI connection to %s:%d lost; reconnecting with backoff", self._host, self._port)
        self.connected.clear()
        for answer in list(self._unanswered):  # no answer will come on this link: their places are free
            if not answer.done():
                answer.set_exception(AmiActionError("AMI link lost before the answer"))
                answer.exception()  # retrieved: a timed-out action has nobody waiting for it
