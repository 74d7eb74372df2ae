"""callcenter.security.blocking: N failures within a window block an address for a period; exempt ones never."""

from __future__ import annotations

import random

import pytest

from callcenter.security.blocking import (
    AddressBlocked,
    AddressUnblocked,
    Blocker,
    BlockRules,
    SecurityFailure,
    exempt_addresses,
    parse_security_event,
)

RULES = BlockRules(failures=3, window=60, period=600, exempt=("127.0.0.1", "127.0.0.2", "10.1.0.0/16"))
T0 = 1_800_000_000.0  # a wall-clock time, like the adapter's time.time()


def fail(
    blocker: Blocker, at: float, address: str = "203.0.113.5", kind: str = "ChallengeResponseFailed"
) -> list[AddressBlocked]:
    return blocker.failed(SecurityFailure(T0 + at, address, kind))


def test_the_nth_failure_within_the_window_blocks_the_address_for_the_period() -> None:
    blocker = Blocker(RULES)
    assert fail(blocker, 0) == []
    assert fail(blocker, 10, kind="InvalidAccountID") == []
    assert fail(blocker, 20) == [
        AddressBlocked("203.0.113.5", T0 + 20 + 600, 3, ("ChallengeResponseFailed", "InvalidAccountID"))
    ]
    assert blocker.blocks == {"203.0.113.5": T0 + 620}
    assert blocker.next_deadline() == T0 + 620


def test_failures_spread_wider_than_the_window_never_block() -> None:
    blocker = Blocker(RULES)
    # one every 30 s: never three within 60 s (the oldest leaves the window as the third arrives)
    for at in range(0, 3000, 30):
        assert fail(blocker, at) == []
    assert blocker.blocks == {}


def test_a_failure_exactly_one_window_old_no_longer_counts() -> None:
    blocker = Blocker(RULES)
    fail(blocker, 0)
    fail(blocker, 30)
    assert fail(blocker, 60) == []  # the one at 0 is a full window old
    assert fail(blocker, 61) != []  # 30, 60, 61


def test_the_block_ends_after_the_period_and_counting_starts_afresh() -> None:
    blocker = Blocker(RULES)
    for at in (0, 1, 2):
        fail(blocker, at)
    assert blocker.expire(T0 + 601) == []
    assert blocker.expire(T0 + 602) == [AddressUnblocked("203.0.113.5", T0 + 602)]
    assert blocker.blocks == {} and blocker.next_deadline() is None
    assert fail(blocker, 603) == []  # one new failure is not a block
    assert fail(blocker, 604) == []


def test_failures_while_blocked_are_not_counted_and_do_not_prolong_the_block() -> None:
    blocker = Blocker(RULES)
    for at in (0, 1, 2):
        fail(blocker, at)
    for at in range(3, 100):
        assert fail(blocker, at) == []
    assert blocker.blocks == {"203.0.113.5": T0 + 602}
    blocker.expire(T0 + 602)
    assert fail(blocker, 603) == []  # nothing carried over from the blocked time


def test_exempt_addresses_and_networks_are_never_blocked() -> None:
    blocker = Blocker(RULES)
    for at in range(100):
        assert fail(blocker, at, "127.0.0.2") == []  # the carrier
        assert fail(blocker, at, "127.0.0.1") == []  # the service itself
        assert fail(blocker, at, "10.1.200.3") == []  # an office network the admin listed
    assert blocker.blocks == {}


def test_one_address_failing_does_not_affect_another() -> None:
    blocker = Blocker(RULES)
    fail(blocker, 0, "198.51.100.1")
    fail(blocker, 1, "198.51.100.2")
    fail(blocker, 2, "198.51.100.1")
    assert fail(blocker, 3, "198.51.100.2") == []
    assert [b.address for b in fail(blocker, 4, "198.51.100.1")] == ["198.51.100.1"]
    assert set(blocker.blocks) == {"198.51.100.1"}


def test_zero_failures_means_never_block() -> None:
    blocker = Blocker(BlockRules(failures=0))
    for at in range(1000):
        assert fail(blocker, at) == []


def test_at_most_max_blocked_addresses_are_blocked_at_once() -> None:
    blocker = Blocker(BlockRules(failures=1, max_blocked=5))
    for index in range(20):
        fail(blocker, index, f"198.51.100.{index}")
    assert len(blocker.blocks) == 5


def test_restore_keeps_running_blocks_and_drops_ended_exempt_and_garbage_ones() -> None:
    blocker = Blocker(RULES)
    restored = blocker.restore(
        {
            "203.0.113.9": T0 + 100,
            "203.0.113.10": T0 - 1,  # over while the service was down
            "127.0.0.2": T0 + 100,  # exempt now
            "not-an-address": T0 + 100,
        },
        T0,
    )
    assert [(b.address, b.until) for b in restored] == [("203.0.113.9", T0 + 100)]
    assert blocker.blocks == {"203.0.113.9": T0 + 100}
    assert blocker.expire(T0 + 100) == [AddressUnblocked("203.0.113.9", T0 + 100)]


def test_old_failures_are_forgotten_so_memory_stays_bounded() -> None:
    blocker = Blocker(RULES)
    for index in range(5000):  # a scan from many addresses, one failure each
        fail(blocker, index * 0.01, f"10.2.{index // 250}.{index % 250}")
    fail(blocker, 10_000, "198.51.100.1")  # long after: everything older than the window goes
    assert len(blocker._recent) == 1


def test_a_random_stream_blocks_exactly_when_a_brute_force_count_in_the_window_says_so() -> None:
    rng = random.Random(7)
    rules = BlockRules(failures=4, window=20, period=50)
    blocker = Blocker(rules)
    history: dict[str, list[float]] = {}
    blocked_until: dict[str, float] = {}
    now = 0.0
    for _ in range(3000):
        now += rng.uniform(0, 3)
        for ended in blocker.expire(T0 + now):
            assert blocked_until.pop(ended.address) <= T0 + now
        address = f"198.51.100.{rng.randrange(4)}"
        decisions = blocker.failed(SecurityFailure(T0 + now, address, "InvalidAccountID"))
        # the reference: every failure since the last block (or ever), within the window
        if address in blocked_until:
            assert decisions == []
            continue
        times = [t for t in history.get(address, []) if t > now - rules.window] + [now]
        history[address] = times
        if len(times) >= rules.failures:
            assert [d.address for d in decisions] == [address]
            blocked_until[address] = T0 + now + rules.period
            history[address] = []
        else:
            assert decisions == []
        assert blocker.blocks == blocked_until


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (
            {"Event": "InvalidAccountID", "Service": "PJSIP", "RemoteAddress": "IPV4/UDP/127.0.0.20/43051"},
            SecurityFailure(T0, "127.0.0.20", "InvalidAccountID"),
        ),
        (
            {"Event": "ChallengeResponseFailed", "Service": "PJSIP", "RemoteAddress": "IPV6/UDP/[2001:db8::7]/5060"},
            SecurityFailure(T0, "2001:db8::7", "ChallengeResponseFailed"),
        ),
        (
            {"Event": "ChallengeResponseFailed", "Service": "PJSIP", "RemoteAddress": "IPV6/UDP/2001:db8::7/5060"},
            SecurityFailure(T0, "2001:db8::7", "ChallengeResponseFailed"),
        ),
        # every first REGISTER is challenged, and a good one succeeds: neither is a failure
        ({"Event": "ChallengeSent", "Service": "PJSIP", "RemoteAddress": "IPV4/UDP/127.0.0.20/5060"}, None),
        ({"Event": "SuccessfulAuth", "Service": "PJSIP", "RemoteAddress": "IPV4/UDP/127.0.0.20/5060"}, None),
        # AMI is loopback only and not what a SIP block protects
        ({"Event": "InvalidPassword", "Service": "AMI", "RemoteAddress": "IPV4/TCP/127.0.0.1/40000"}, None),
        ({"Event": "InvalidAccountID", "Service": "PJSIP", "RemoteAddress": "garbage"}, None),
        ({"Event": "InvalidAccountID", "Service": "PJSIP", "RemoteAddress": "IPV4/UDP/host.example/5060"}, None),
        ({"Event": "InvalidAccountID", "Service": "PJSIP"}, None),
        ({"Event": "Newchannel"}, None),
    ],
)
def test_security_events_are_read_as_failures_of_the_sip_sender(
    event: dict[str, str], expected: SecurityFailure | None
) -> None:
    assert parse_security_event(event, T0) == expected


def test_rules_refuse_nonsense_and_exempt_entries_are_merged_once() -> None:
    with pytest.raises(ValueError, match="window"):
        BlockRules(window=0)
    with pytest.raises(ValueError):
        BlockRules(exempt=("not a network",))
    assert exempt_addresses(("127.0.0.2", "127.0.0.1"), ["", " 10.0.0.0/8", "127.0.0.1"]) == (
        "127.0.0.2",
        "127.0.0.1",
        "10.0.0.0/8",
    )
