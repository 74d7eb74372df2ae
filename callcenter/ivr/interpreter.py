"""Walk a caller through dialplan menus, one input at a time, with no I/O.

The interpreter is fed what the caller did (a key, digits typed for an input,
or nothing before the timeout) and answers with a Turn: prompts to play, then
either more input to collect, the end of the IVR (hang up, or hand the call to
a queue, another number or a mailbox), or a refusal before answer. The FastAGI
shell turns a Turn into AGI commands; the simulator prints it. Both drive this
same code, so what the simulator shows is what callers get.

Order of checks when a call starts: the blacklist (unless whitelisted), a
whitelist-only line, the line's hours (whitelisted callers are let through
when closed), then the line's first menu (and that menu's own hours).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from callcenter.dialplan.model import (
    Action,
    Back,
    CollectDigits,
    Dialplan,
    GotoMenu,
    Hangup,
    Menu,
    Number,
    PlayMessage,
    Repeat,
    ToNumber,
    ToQueue,
    ToVoicemail,
)
from callcenter.errors import CallcenterError
from callcenter.records import IvrStep, Outcome

__all__ = [
    "CAUSE_REJECTED",
    "CallContext",
    "Collect",
    "Finish",
    "IvrSession",
    "IvrStateError",
    "Refuse",
    "Turn",
    "key_prompts",
]

CAUSE_REJECTED = 21  # Q.850 "call rejected": PJSIP answers 403 Forbidden
_KEY_SOUNDS = {"*": "digits/star", "#": "digits/pound"}
_ALL_KEYS = "0123456789*#"


@dataclass(frozen=True)
class CallContext:
    """What the interpreter may know of a call: who calls (normalized, if known) and when."""

    caller: str | None
    at: datetime


@dataclass(frozen=True)
class Collect:
    """Play ``prompts`` (a key interrupts them) and wait ``timeout`` seconds for input.

    One key for a menu; up to ``max_digits`` for an input, ended early by ``terminator``.
    """

    menu: str
    prompts: tuple[str, ...]
    timeout: float
    keys: str  # the keys that mean something here
    max_digits: int = 1
    terminator: str | None = None
    input: str | None = None  # the name the digits are stored under, for an input


@dataclass(frozen=True)
class Finish:
    """The IVR is over: hang up, or hand the call to ``target``."""

    outcome: Outcome
    target: ToQueue | ToNumber | ToVoicemail | None = None
    reason: str = ""


@dataclass(frozen=True)
class Refuse:
    """Do not answer: reject the call with this Q.850 cause."""

    cause: int
    reason: str


@dataclass(frozen=True)
class Turn:
    play: tuple[str, ...]  # played in full before ``then`` (a key may cut them short before a Collect)
    then: Collect | Finish | Refuse
    language: str  # of the prompts: the line's, or the last menu's that set one


class IvrStateError(CallcenterError):
    """The interpreter was fed input it cannot take now (our bug, not the caller's)."""


def key_prompts(key: str) -> tuple[str, ...]:
    """The core sounds that say a DTMF key."""
    return (_KEY_SOUNDS.get(key, f"digits/{key}"),)


_OUTCOMES: dict[type, Outcome] = {
    PlayMessage: Outcome.COMPLETED,
    Hangup: Outcome.COMPLETED,
    ToQueue: Outcome.QUEUED,
    ToNumber: Outcome.TRANSFERRED,
    ToVoicemail: Outcome.VOICEMAIL,
}


@dataclass
class _Waiting:
    """What the session is waiting for: a key in a menu, or the digits of an input."""

    step: Collect
    input: CollectDigits | None = None
    attempt: int = 1


def _valid_digits(digits: str, action: CollectDigits) -> bool:
    # ASCII only: str.isdigit() takes any script's digits, which no order number is written in.
    return digits.isascii() and digits.isdigit() and action.min_digits <= len(digits) <= action.max_digits


class IvrSession:
    """One caller's walk through the menus of one dialplan version."""

    def __init__(self, dialplan: Dialplan, line: Number, context: CallContext) -> None:
        self._dialplan = dialplan
        self._line = line
        self._context = context
        self._menu_name = line.menu
        self._came_from: list[tuple[str, str]] = []  # (menu, its language) for `back`
        self._waiting: _Waiting | None = None
        self._started = False
        self._finished: Finish | Refuse | None = None
        self._closed = False
        self._closed_menus: set[str] = set()  # closed menus passed through on the way to the current step
        self._in_menu = False  # False until the caller reaches a menu (a closed line may send them elsewhere)
        self.language: str = line.language
        self.path: list[IvrStep] = []
        self.inputs: dict[str, str] = {}

    @property
    def outcome(self) -> Outcome | None:
        if isinstance(self._finished, Finish):
            return self._finished.outcome
        if isinstance(self._finished, Refuse):
            return Outcome.REFUSED
        return None

    @property
    def menu(self) -> str:
        return self._menu_name

    @property
    def priority(self) -> int:
        """Queue priority of this caller: the VIP list's, or 0."""
        return self._dialplan.lists.vip.priority if self._dialplan.vip(self._context.caller) else 0

    def start(self) -> Turn:
        if self._started:
            raise IvrStateError("start() called twice")
        self._started = True
        dialplan, line, caller = self._dialplan, self._line, self._context.caller
        trusted = dialplan.whitelisted(caller)
        if dialplan.blacklisted(caller) and not trusted:
            blacklist = dialplan.lists.blacklist
            if blacklist.prompts:
                return self._finish(blacklist.prompts, Finish(Outcome.REFUSED, reason="blacklisted"))
            return self._refuse("blacklisted")
        if line.whitelist_only and not trusted:
            return self._refuse("not_whitelisted")
        if line.hours is not None and line.closed is not None and not trusted:
            if not dialplan.hours[line.hours].is_open(self._context.at):
                return self._closed_turn(line.closed, ())
        # The line's "this call may be recorded" notice, before its first menu.
        return self._enter(line.menu, line.recording_notice)

    def press(self, keys: str | None) -> Turn:
        """The caller pressed ``keys`` (one key in a menu, digits for an input), or nothing (None)."""
        waiting = self._waiting
        if waiting is None:
            raise IvrStateError("no input was being collected")
        self._waiting = None
        self._closed_menus.clear()
        self.path.append(IvrStep(self._menu_name, keys))
        if waiting.input is not None:
            return self._typed(waiting, keys)
        menu = self._menu
        option = menu.options.get(keys) if keys is not None else None
        if option is None:
            return self._retry(waiting, () if keys is None else menu.invalid, menu.retries)
        said = ("you-entered", *key_prompts(keys)) if menu.announce_key and keys else ()
        return self._act(option, said)

    # --- internals ---------------------------------------------------------------------------------------

    @property
    def _menu(self) -> Menu:
        return self._dialplan.menus[self._menu_name]

    def _act(self, action: Action, said: tuple[str, ...]) -> Turn:
        if isinstance(action, GotoMenu):
            if self._in_menu:  # a closed line's after-hours menu has nowhere to go back to
                self._came_from.append((self._menu_name, self.language))
            return self._enter(action.menu, said)
        if isinstance(action, Repeat):
            return self._enter(self._menu_name, said)
        if isinstance(action, Back):
            if not self._came_from:
                return self._enter(self._menu_name, said)
            # Back where the caller was, in the language heard there (an English branch returns to Russian).
            menu, self.language = self._came_from.pop()
            return self._enter(menu, said)
        if isinstance(action, CollectDigits):
            return self._ask(action, said, attempt=1)
        if isinstance(action, PlayMessage | Hangup):
            return self._finish(said + action.prompts, Finish(_OUTCOMES[type(action)], reason=self._reason()))
        return self._finish(said + action.prompts, Finish(_OUTCOMES[type(action)], action, self._reason()))

    def _reason(self) -> str:
        return "closed" if self._closed else ""

    def _closed_turn(self, action: Action, said: tuple[str, ...]) -> Turn:
        self._closed = True
        turn = self._act(action, said)  # may enter another closed menu, but never one already passed
        if isinstance(turn.then, Finish) and turn.then.outcome is Outcome.COMPLETED:
            # A message out of hours is not self-service: the caller could not be served.
            return self._finish(turn.play, Finish(Outcome.CLOSED, reason="closed"))
        return turn

    def _enter(self, name: str, said: tuple[str, ...]) -> Turn:
        self._menu_name = name
        self._in_menu = True
        menu = self._menu
        self.language = menu.language or self.language
        if menu.hours is not None and menu.closed is not None and not self._dialplan.whitelisted(self._context.caller):
            if not self._dialplan.hours[menu.hours].is_open(self._context.at):
                if name in self._closed_menus:
                    # Closed menus sending callers round to each other: end it rather than loop.
                    return self._finish(said, Finish(Outcome.CLOSED, reason="closed"))
                self._closed_menus.add(name)
                return self._closed_turn(menu.closed, said)
        return self._wait(said, _Waiting(Collect(name, menu.greeting, menu.timeout, "".join(menu.options))))

    def _ask(self, action: CollectDigits, said: tuple[str, ...], attempt: int) -> Turn:
        step = Collect(
            self._menu_name,
            action.prompts,
            action.timeout,
            _ALL_KEYS,
            max_digits=action.max_digits,
            terminator=action.terminator,
            input=action.name,
        )
        return self._wait(said, _Waiting(step, action, attempt))

    def _typed(self, waiting: _Waiting, digits: str | None) -> Turn:
        action = waiting.input
        assert action is not None
        if digits is None or not _valid_digits(digits, action):
            invalid = action.invalid if digits else ()
            if waiting.attempt >= action.retries:
                return self._finish(invalid + self._menu.no_input, Finish(Outcome.NO_VALID_INPUT))
            return self._ask(action, invalid, waiting.attempt + 1)
        self.inputs[action.name] = digits
        return self._act(action.then, ())

    def _retry(self, waiting: _Waiting, play: tuple[str, ...], retries: int) -> Turn:
        if waiting.attempt >= retries:
            return self._finish(play + self._menu.no_input, Finish(Outcome.NO_VALID_INPUT))
        return self._wait(play, _Waiting(waiting.step, None, waiting.attempt + 1))

    def _wait(self, play: tuple[str, ...], waiting: _Waiting) -> Turn:
        self._waiting = waiting
        return Turn(play, waiting.step, self.language)

    def _finish(self, play: tuple[str, ...], end: Finish) -> Turn:
        self._finished = end
        return Turn(play, end, self.language)

    def _refuse(self, reason: str) -> Turn:
        end = Refuse(CAUSE_REJECTED, reason)
        self._finished = end
        return Turn((), end, self.language)
