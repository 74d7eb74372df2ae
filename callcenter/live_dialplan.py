"""The dialplan the service runs on, reloaded on file change or on request, swapped atomically.

A call reads ``current`` once when it starts and keeps that version to its end,
so a reload never changes a call in progress; new calls get the new version. An
invalid set of files changes nothing: the old version stays live, and the
problems are logged and returned to whoever asked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from callcenter.dialplan.loader import DialplanError, Problem, load_dialplan
from callcenter.dialplan.model import Dialplan

__all__ = ["LiveDialplan", "ReloadResult"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReloadResult:
    changed: bool
    version: int
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


class LiveDialplan:
    def __init__(
        self,
        directory: Path,
        shipped: Callable[[str, str], bool] | None = None,
        on_change: Callable[[Dialplan], None] | None = None,
    ) -> None:
        self._directory = directory
        self._shipped = shipped
        self.on_change = on_change  # told of each new version (to update Asterisk's side)
        self.current = load_dialplan(directory, shipped)
        self.version = 1
        self._stamp = self._files_stamp()

    def __call__(self) -> Dialplan:
        return self.current

    def reload(self) -> ReloadResult:
        self._stamp = self._files_stamp()
        try:
            candidate = load_dialplan(self._directory, self._shipped)
        except DialplanError as error:
            for problem in error.problems:
                log.error("dialplan not reloaded: %s", problem)
            return ReloadResult(False, self.version, tuple(error.problems))
        if candidate == self.current:
            return ReloadResult(False, self.version)
        self.current = candidate  # one assignment: calls see the old version or the new one, never a mix
        self.version += 1
        log.info(
            "dialplan version %d live: %d number(s), %d menu(s)",
            self.version,
            len(candidate.numbers),
            len(candidate.menus),
        )
        if self.on_change is not None:
            try:
                self.on_change(candidate)
            except Exception:
                log.exception("applying dialplan version %d to Asterisk failed", self.version)
        return ReloadResult(True, self.version)

    async def watch(self, interval: float = 1.0) -> None:
        """Reload when a file in the directory changes (polling: a handful of small files)."""
        while True:
            await asyncio.sleep(interval)
            if self._files_stamp() != self._stamp:
                self.reload()

    def _files_stamp(self) -> tuple[tuple[str, int, int], ...]:
        files = sorted([*self._directory.glob("*.yaml"), *self._directory.glob("*.yml")])
        stamp = []
        for path in files:
            try:
                info = path.stat()
            except FileNotFoundError:
                continue
            stamp.append((path.name, info.st_mtime_ns, info.st_size))
        return tuple(stamp)
