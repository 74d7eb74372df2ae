"""The SIP guard: Asterisk's security events in, blocks enforced in Asterisk itself, kept across restarts.

``event`` takes every AMI event (the single consumer's order); the failures of SIP senders go to the pure
``Blocker``. ``run`` is the one task that acts: it writes the blocked addresses as a PJSIP ACL
(``pjsip_blocked.conf`` in the generated directory, #tryincluded by pjsip.conf; res_pjsip_acl answers
every request from them with 403 before any endpoint lookup) and reloads res_pjsip over AMI, ends blocks
when they are over, and saves the blocks (``sip-blocks.json`` in the run directory, wall-clock times) so
that a restarted service keeps them. A burst of blocks costs one reload. No host firewall is touched.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from callcenter.asterisk.ami import AmiActionError
from callcenter.asterisk.confgen import render_blocked
from callcenter.security.blocking import Blocker, BlockRules, parse_security_event

__all__ = ["SipGuard", "load_blocks"]

log = logging.getLogger(__name__)

_RETRY = 1.0  # seconds between tries of a reload Asterisk refused (or AMI down)


def load_blocks(path: Path) -> dict[str, float]:
    """The saved blocks (address -> until, wall-clock seconds); none when the file is missing or unreadable."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        log.warning("SIP blocks not restored from %s: %s", path, error)
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


class SipGuard:
    def __init__(
        self,
        rules: BlockRules,
        acl_file: Path,
        state_file: Path,
        reload: Callable[[], Awaitable[Any]],
        connected: asyncio.Event,
        *,
        counted: Callable[[str], None] = lambda kind: None,
        blocked_now: Callable[[int], None] = lambda count: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._blocker = Blocker(rules)
        self._acl_file = acl_file
        self._state_file = state_file
        self._reload = reload
        self._connected = connected
        self._counted = counted
        self._blocked_now = blocked_now
        self._clock = clock
        self._changed = asyncio.Event()
        now = clock()
        for block in self._blocker.restore(load_blocks(state_file), now):
            log.warning(
                "SIP address %s still blocked until %s (saved before a restart)", block.address, _when(block.until)
            )
        # Always written and reloaded once: the file may list blocks that ended while the service was down.
        self._changed.set()

    @property
    def blocks(self) -> dict[str, float]:
        return self._blocker.blocks

    def event(self, event: Mapping[str, str]) -> None:
        """An AMI event: a failed SIP request counts against its sender's address."""
        failure = parse_security_event(event, self._clock())
        if failure is None:
            return
        self._counted(failure.kind)
        log.debug("SIP %s from %s", failure.kind, failure.address)
        for block in self._blocker.failed(failure):
            log.warning(
                "SIP address %s blocked until %s: %d failures within %.0f s (%s)",
                block.address,
                _when(block.until),
                block.failures,
                self._blocker.rules.window,
                ", ".join(block.kinds),
            )
            self._changed.set()

    async def run(self) -> None:
        while True:
            deadline = self._blocker.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - self._clock())
            try:
                async with asyncio.timeout(timeout):
                    await self._changed.wait()
            except TimeoutError:
                pass
            for ended in self._blocker.expire(self._clock()):
                log.warning("SIP address %s unblocked: its block is over", ended.address)
                self._changed.set()
            if not self._changed.is_set():
                continue
            self._changed.clear()
            await self._enforce()

    async def _enforce(self) -> None:
        """Write the ACL and the saved state, then have Asterisk read the ACL (retried until it does)."""
        blocks = self._blocker.blocks
        self._blocked_now(len(blocks))
        _replace(self._acl_file, render_blocked(blocks))
        _replace(self._state_file, json.dumps(blocks, indent=1, sort_keys=True) + "\n")
        while True:
            await self._connected.wait()
            try:
                await self._reload()
            except AmiActionError as error:
                log.warning("Asterisk did not reload res_pjsip for the SIP blocks (%s); trying again", error)
                await asyncio.sleep(_RETRY)
                continue
            log.info("SIP blocks in force in Asterisk: %d address(es)", len(blocks))
            return


def _replace(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    temporary.replace(path)
