"""RFC 4733 DTMF as a pcap that SIPp plays into a call.

SIPp ships one pcap per key, all with the same RTP sequence numbers and
timestamp: played one after another in a call, Asterisk takes the second for a
retransmission of the first and drops it. So a call's whole key sequence is
written as one pcap here, each event with its own timestamp and the sequence
numbers running on (tests/e2e/media.py, which also writes keys over a tone).
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.media import EVENT_MS, write_media_pcap

__all__ = ["key_times", "write_dtmf_pcap"]


def key_times(keys: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """``keys`` as (ms after the previous key's end, key), the first at 0, to (ms from the first key's start, key)."""
    times: list[tuple[int, str]] = []
    clock_ms = 0
    for index, (pause_ms, key) in enumerate(keys):
        if index:
            clock_ms += EVENT_MS + pause_ms
        times.append((clock_ms, key))
    return times


def write_dtmf_pcap(path: Path, keys: list[tuple[int, str]]) -> int:
    """Write ``keys`` ((ms after the previous key's end, key), first at 0) to ``path``; return its length in ms."""
    return write_media_pcap(path, tone_hz=None, seconds=0, keys=key_times(keys))
