"""Walk a caller through dialplan menus, one key at a time, with no I/O.

The interpreter is fed what the caller did (a key, or nothing before the
timeout) and answers with a Turn: prompts to play, then either another key to
collect or the end of the IVR. The FastAGI shell turns a Turn into STREAM FILE /
GET DATA commands; the simulator prints it. Both drive this same code, so what
the simulator shows is what callers get.
"""

from __future__ import annotations

from dataclasses import dataclass

from callcenter.dialplan.model import Dialplan, GotoMenu, Menu, Number, PlayMessage
from callcenter.errors import CallcenterError
from callcenter.records import IvrStep, Outcome

__all__ = ["Collect", "Finish", "IvrSession", "IvrStateError", "Turn", "key_prompts"]

_KEY_SOUNDS = {"*": "digits/star", "#": "digits/pound"}


@dataclass(frozen=True)
class Collect:
    """Play ``prompts`` (a key interrupts them) and wait ``timeout`` seconds for one key."""

    menu: str
    prompts: tuple[str, ...]
    timeout: float
    keys: str  # the keys that are options here


@dataclass(frozen=True)
class Finish:
    """The IVR is over: hang up with this outcome."""

    outcome: Outcome


@dataclass(frozen=True)
class Turn:
    play: tuple[str, ...]  # played in full before ``then``
    then: Collect | Finish


class IvrStateError(CallcenterError):
    """The interpreter was fed input it cannot take now (our bug, not the caller's)."""


def key_prompts(key: str) -> tuple[str, ...]:
    """The core sounds that say a DTMF key."""
    return (_KEY_SOUNDS.get(key, f"digits/{key}"),)


class IvrSession:
    """One caller's walk through the menus of one dialplan version."""

    def __init__(self, dialplan: Dialplan, line: Number) -> None:
        self._dialplan = dialplan
        self._menu_name = line.menu
        self._attempt = 0
        self._waiting = False
        self._finished: Outcome | None = None
        self.path: list[IvrStep] = []

    @property
    def outcome(self) -> Outcome | None:
        return self._finished

    def start(self) -> Turn:
        if self._waiting or self._finished or self.path:
            raise IvrStateError("start() called twice")
        return Turn((), self._collect())

    def press(self, key: str | None) -> Turn:
        """The caller pressed ``key``, or nothing (None) before the timeout."""
        if not self._waiting:
            raise IvrStateError("no key was being collected")
        self._waiting = False
        menu = self._menu
        self.path.append(IvrStep(self._menu_name, key))
        option = menu.options.get(key) if key is not None else None
        if option is None:
            return self._retry(menu, () if key is None else menu.invalid)
        said = ("you-entered", *key_prompts(key)) if menu.announce_key and key else ()
        if isinstance(option, PlayMessage):
            return self._finish(said + option.prompts, Outcome.COMPLETED)
        if isinstance(option, GotoMenu):
            self._menu_name = option.menu
            self._attempt = 0
            return Turn(said, self._collect())
        raise AssertionError(f"unhandled option {option!r}")

    @property
    def _menu(self) -> Menu:
        return self._dialplan.menus[self._menu_name]

    def _collect(self) -> Collect:
        self._waiting = True
        self._attempt += 1
        menu = self._menu
        return Collect(self._menu_name, menu.greeting, menu.timeout, "".join(menu.options))

    def _retry(self, menu: Menu, play: tuple[str, ...]) -> Turn:
        if self._attempt >= menu.retries:
            return self._finish(play + menu.no_input, Outcome.NO_VALID_INPUT)
        return Turn(play, self._collect())

    def _finish(self, play: tuple[str, ...], outcome: Outcome) -> Turn:
        self._finished = outcome
        return Turn(play, Finish(outcome))
