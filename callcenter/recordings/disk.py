"""The recordings disk alarm: free space and failed writes, one alarm per episode. Pure: no I/O, no clock.

Two conditions raise the alarm: free space under the threshold (the shell reads it with statvfs), and
the last pass of the recording finisher failing to write a recording Asterisk has closed (a full disk,
or a directory gone read-only). Calls go on either way: a recording that cannot be written stays where
Asterisk left it and is finished once it can be. The alarm clears when neither condition holds.

The watch returns what to say (``Notice``) instead of logging, so an episode is said once when it
starts, once more if a cause is added, and once when it ends (with its length), however often the
shell looks. Low space clears a tenth above the threshold, so free space hovering at it does not flap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["DiskWatch", "Notice"]

_MB = 1024 * 1024


@dataclass(frozen=True)
class Notice:
    """What the shell logs: ``raised`` as an error, ``cleared`` as a recovery line."""

    kind: Literal["raised", "cleared"]
    message: str


class DiskWatch:
    def __init__(self, directory: str, min_free_bytes: int) -> None:
        self._directory = directory
        self._min_free = min_free_bytes
        self.free_bytes: int | None = None  # None until the first reading
        self.low = False
        self.failing: tuple[str, ...] = ()  # what the finisher's last pass could not write
        self._since: float | None = None  # when the episode began
        self._said: tuple[bool, bool] = (False, False)  # (low, failing) as last told

    @property
    def alarm(self) -> bool:
        return self.low or bool(self.failing)

    def free_space(self, now: float, free_bytes: int) -> Notice | None:
        """A reading of the free space (bytes available to the service)."""
        self.free_bytes = free_bytes
        self.low = free_bytes < (self._min_free * 1.1 if self.low else self._min_free)
        return self._changed(now)

    def finish_pass(self, now: float, failures: list[str]) -> Notice | None:
        """The finisher looked at every closed recording; ``failures`` are the ones it could not write."""
        self.failing = tuple(failures)
        return self._changed(now)

    def _changed(self, now: float) -> Notice | None:
        state = (self.low, bool(self.failing))
        if state == self._said:
            return None
        said, self._said = self._said, state
        was_alarm = any(said)
        if not any(state):
            began, self._since = self._since, None
            lasted = now - began if began is not None else 0.0
            return Notice("cleared", f"recordings disk OK again after {lasted:.0f} s: {self._describe_free()}")
        if not was_alarm:
            self._since = now
        elif not any(cause and not before for cause, before in zip(state, said, strict=True)):
            return None  # one cause of the episode went, another stays: nothing new to say
        causes = []
        if state[0]:
            causes.append(f"low on space, {self._describe_free()} (alarm below {self._min_free / _MB:.1f} MB)")
        if state[1]:
            first = self.failing[0]
            more = f" and {len(self.failing) - 1} more" if len(self.failing) > 1 else ""
            causes.append(
                f"recordings cannot be written ({first}{more}); they are kept as Asterisk left them until they can"
            )
        return Notice("raised", "recordings disk alarm: " + "; ".join(causes))

    def _describe_free(self) -> str:
        if self.free_bytes is None:
            return f"free space of {self._directory} not read yet"
        return f"{self.free_bytes / _MB:.1f} MB free in {self._directory}"
