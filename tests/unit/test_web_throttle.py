"""Failed log-ins lock a key for a while (callcenter/web/throttle.py)."""

from __future__ import annotations

from callcenter.web.throttle import LoginThrottle


def test_the_fifth_failure_in_the_window_locks_the_key_for_the_lockout() -> None:
    throttle = LoginThrottle(limit=5, window=900, lockout=300)
    for second in range(4):
        throttle.failed("anna", float(second))
        assert throttle.retry_after("anna", float(second)) == 0
    throttle.failed("anna", 4.0)
    assert throttle.retry_after("anna", 4.0) == 300
    assert throttle.retry_after("anna", 303.0) == 1
    assert throttle.retry_after("boris", 5.0) == 0  # keys are apart
    assert throttle.retry_after("anna", 304.0) == 0  # the lockout is over, and the count with it
    throttle.failed("anna", 305.0)
    assert throttle.retry_after("anna", 305.0) == 0


def test_failures_older_than_the_window_do_not_count() -> None:
    throttle = LoginThrottle(limit=3, window=60, lockout=30)
    throttle.failed("k", 0.0)
    throttle.failed("k", 30.0)
    throttle.failed("k", 65.0)  # the one at 0 has left the window: two count
    assert throttle.retry_after("k", 65.0) == 0
    throttle.failed("k", 66.0)  # 30, 65, 66
    assert throttle.retry_after("k", 66.0) == 30


def test_a_success_clears_the_key() -> None:
    throttle = LoginThrottle(limit=2)
    throttle.failed("k", 0.0)
    throttle.succeeded("k")
    throttle.failed("k", 1.0)
    assert throttle.retry_after("k", 1.0) == 0


def test_the_table_stays_bounded() -> None:
    throttle = LoginThrottle(limit=1, max_keys=100)
    for number in range(1000):
        throttle.failed(f"made-up-{number}", 0.0)
    assert throttle.retry_after("made-up-999", 0.0) > 0
    assert throttle.retry_after("made-up-0", 0.0) == 0  # forgotten, not kept for ever
