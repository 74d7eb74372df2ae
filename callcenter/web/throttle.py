"""Failed log-ins slow down guessing: after ``limit`` failures within ``window`` seconds for one key (a user
name, a client address), that key is refused for ``lockout`` seconds, correct password or not.

A success clears the key. A caller that counts each attempt as failed before checking it (so that attempts
made in parallel are counted before any finishes) takes a right one back with ``forgive``. The table is
bounded (the oldest keys go first), so a flood of made-up names cannot grow it without end. Pure: no I/O, no
clock (the caller gives the time, in seconds).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field

__all__ = ["LoginThrottle"]


@dataclass
class LoginThrottle:
    limit: int = 5
    window: float = 900.0
    lockout: float = 300.0
    max_keys: int = 10_000
    _failures: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict)
    _locked_until: dict[str, float] = field(default_factory=dict)

    def retry_after(self, key: str, now: float) -> float:
        """0 when ``key`` may try now; else the seconds it must wait."""
        until = self._locked_until.get(key)
        if until is None:
            return 0.0
        if now >= until:
            del self._locked_until[key]
            self._failures.pop(key, None)
            return 0.0
        return until - now

    def failed(self, key: str, now: float) -> None:
        times = self._failures.pop(key, None) or deque()
        times.append(now)
        while times and times[0] <= now - self.window:
            times.popleft()
        self._failures[key] = times  # most recent last
        if len(times) >= self.limit:
            self._locked_until[key] = now + self.lockout
        while len(self._failures) > self.max_keys:
            oldest, _ = self._failures.popitem(last=False)
            self._locked_until.pop(oldest, None)

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)
        self._locked_until.pop(key, None)

    def forgive(self, key: str) -> None:
        """Take back the latest failure of ``key``: an attempt counted as failed before it was checked
        (so that attempts made in parallel count at once) turned out right."""
        times = self._failures.get(key)
        if times:
            times.pop()
            if len(times) < self.limit:
                self._locked_until.pop(key, None)
