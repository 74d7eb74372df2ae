"""When an address that keeps failing SIP authentication is blocked, and until when. No I/O.

Theory of operation. Asterisk reports every failed SIP request as a security event (AMI, class
``security``): a request from a source that matches no endpoint (``InvalidAccountID``), a wrong digest
(``ChallengeResponseFailed``), a malformed request, ... The adapter (``callcenter.security.guard``) turns
each into a ``SecurityFailure`` (address, kind, time) and hands it to ``Blocker.failed``:

- ``failures`` failures from one address within ``window`` seconds block the address until ``period``
  seconds after the last of them: ``failed`` returns ``AddressBlocked`` then, and nothing otherwise;
- an address that is exempt (the carrier, the service's own addresses, networks the admin lists) is
  never counted, so a carrier that misbehaves is a log line, not an outage;
- failures from an address already blocked are not counted again: they are requests that were in
  flight before the block took effect, and counting them would prolong the block by the block's own
  refusals;
- ``expire(now)`` ends the blocks that are over (``AddressUnblocked``); ``next_deadline`` says when the
  next one ends, so the adapter sleeps until then and no clock is read in here.

Times are wall-clock seconds (``time.time()``), since blocks are saved and outlive a restart of the
service (``blocks``/``restore``). Memory is bounded: failures older than the window are forgotten as
new ones arrive, at most ``max_blocked`` addresses are blocked at once (the ACL Asterisk checks every
request against stays small; beyond it, a flood from many addresses is a job for the network's edge).
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = [
    "FAILURE_EVENTS",
    "AddressBlocked",
    "AddressUnblocked",
    "BlockRules",
    "Blocker",
    "SecurityFailure",
    "exempt_addresses",
    "parse_security_event",
]

# Asterisk security events (AMI, class 'security') that are a failure of the sender. ChallengeSent and
# SuccessfulAuth are normal (every phone's first REGISTER is challenged); the load limits
# (SessionLimit, MemoryLimit, LoadAverageLimit) are not the sender's fault.
FAILURE_EVENTS = frozenset(
    {
        "InvalidAccountID",  # no endpoint matches the request (an unknown source, a guessed user name)
        "ChallengeResponseFailed",  # a wrong digest: a wrong password
        "InvalidPassword",
        "FailedACL",
        "RequestBadFormat",
        "RequestNotAllowed",
        "RequestNotSupported",
        "AuthMethodNotAllowed",
        "UnexpectedAddress",
        "InvalidTransport",
    }
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class SecurityFailure:
    """A SIP request from ``address`` failed at ``at`` (wall-clock seconds), as Asterisk reported it."""

    at: float
    address: str
    kind: str


@dataclass(frozen=True)
class AddressBlocked:
    address: str
    until: float
    failures: int  # how many failures within the window led to it
    kinds: tuple[str, ...]  # their kinds, each once, in the order first seen


@dataclass(frozen=True)
class AddressUnblocked:
    address: str
    since: float  # when the block ended


@dataclass(frozen=True)
class BlockRules:
    failures: int = 10  # 0: never block (failures are still counted by the adapter's metrics)
    window: float = 300.0
    period: float = 1800.0
    exempt: tuple[str, ...] = ()  # addresses or networks ("10.0.0.0/8") never blocked
    max_blocked: int = 4096
    _networks: tuple[Network, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.failures < 0 or self.window <= 0 or self.period <= 0 or self.max_blocked < 1:
            raise ValueError("failures must be 0 or more, window and period more than 0, max_blocked 1 or more")
        networks = tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in self.exempt if entry.strip())
        object.__setattr__(self, "_networks", networks)

    def is_exempt(self, address: str) -> bool:
        parsed = _address(address)
        return parsed is None or any(parsed in network for network in self._networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def parse_security_event(event: Mapping[str, str], at: float) -> SecurityFailure | None:
    """An AMI security event as a failure of the SIP sender, or None (not SIP, not a failure, no address).

    ``RemoteAddress`` reads ``IPV4/UDP/127.0.0.20/5060`` (``IPV6/UDP/[::1]/5060`` or ``...::1/5060``).
    """
    kind = event.get("Event", "")
    if kind not in FAILURE_EVENTS or event.get("Service", "") != "PJSIP":
        return None
    parts = event.get("RemoteAddress", "").split("/", 2)
    if len(parts) != 3:
        return None
    host = parts[2].rsplit("/", 1)[0] if "/" in parts[2] else parts[2]
    parsed = _address(host)
    if parsed is None:
        return None
    return SecurityFailure(at, str(parsed), kind)


class Blocker:
    """Counts failures per address and decides blocks; ``blocks`` is the current set (address -> until)."""

    def __init__(self, rules: BlockRules) -> None:
        self.rules = rules
        # address -> recent failures (time, kind), ordered by the latest failure: the oldest go first.
        self._recent: OrderedDict[str, deque[tuple[float, str]]] = OrderedDict()
        self._blocked: dict[str, float] = {}

    @property
    def blocks(self) -> dict[str, float]:
        return dict(self._blocked)

    def restore(self, blocks: Mapping[str, float], now: float) -> list[AddressBlocked]:
        """Blocks saved before a restart, still running at ``now`` (exempt addresses dropped: the rules may
        have changed since)."""
        restored = []
        for address, until in sorted(blocks.items()):
            parsed = _address(address)
            if parsed is None or until <= now or self.rules.is_exempt(address):
                continue
            if len(self._blocked) >= self.rules.max_blocked:
                break
            self._blocked[str(parsed)] = until
            restored.append(AddressBlocked(str(parsed), until, 0, ()))
        return restored

    def failed(self, failure: SecurityFailure) -> list[AddressBlocked]:
        self._forget_before(failure.at - self.rules.window)
        address = failure.address
        if self.rules.failures == 0 or address in self._blocked or self.rules.is_exempt(address):
            return []
        recent = self._recent.pop(address, deque())
        recent.append((failure.at, failure.kind))
        while recent and recent[0][0] <= failure.at - self.rules.window:
            recent.popleft()
        if len(recent) < self.rules.failures or len(self._blocked) >= self.rules.max_blocked:
            self._recent[address] = recent  # to the end: the latest failure
            return []
        until = failure.at + self.rules.period
        self._blocked[address] = until
        kinds = tuple(dict.fromkeys(kind for _, kind in recent))
        return [AddressBlocked(address, until, len(recent), kinds)]

    def expire(self, now: float) -> list[AddressUnblocked]:
        """End the blocks that are over at ``now``."""
        over = sorted(address for address, until in self._blocked.items() if until <= now)
        for address in over:
            del self._blocked[address]
        return [AddressUnblocked(address, now) for address in over]

    def next_deadline(self) -> float | None:
        """When the next block ends (for the adapter's timer), or None when nothing is blocked."""
        return min(self._blocked.values(), default=None)

    def _forget_before(self, horizon: float) -> None:
        while self._recent:
            address, recent = next(iter(self._recent.items()))
            if recent and recent[-1][0] > horizon:
                return
            del self._recent[address]


def exempt_addresses(*groups: Iterable[str]) -> tuple[str, ...]:
    """The exempt entries of several sources (settings, the carrier, the service's own), each once."""
    return tuple(dict.fromkeys(entry.strip() for group in groups for entry in group if entry.strip()))
