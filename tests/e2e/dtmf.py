"""RFC 4733 DTMF as a pcap that SIPp plays into a call.

SIPp ships one pcap per key, all with the same RTP sequence numbers and
timestamp: played one after another in a call, Asterisk takes the second for a
retransmission of the first and drops it. So a call's whole key sequence is
written as one pcap here, each event with its own timestamp and the sequence
numbers running on.
"""

from __future__ import annotations

import struct
from pathlib import Path

__all__ = ["write_dtmf_pcap"]

_EVENTS = {**{str(digit): digit for digit in range(10)}, "*": 10, "#": 11}
_PAYLOAD_TYPE = 101  # telephone-event, as offered in tests/sipp/*.xml
_SSRC = 0x5EED1E55
_PACKET_MS = 20
_EVENT_MS = 160  # how long each key is held
_VOLUME = 10


def _frame(payload: bytes) -> bytes:
    """Ethernet + IPv4 + UDP around an RTP packet; SIPp uses only the payload and the timing."""
    udp = struct.pack("!HHHH", 40000, 40000, 8 + len(payload), 0) + payload
    ip = (
        struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes([127, 0, 0, 2]), bytes([127, 0, 0, 1])
        )
        + udp
    )
    return b"\x00" * 12 + b"\x08\x00" + ip


def write_dtmf_pcap(path: Path, keys: list[tuple[int, str]]) -> int:
    """Write ``keys`` ((ms after the previous key's end, key), first at 0) to ``path``; return its length in ms."""
    packets: list[tuple[int, bytes]] = []  # (ms from start, frame)
    sequence, clock_ms = 1000, 0
    for index, (pause_ms, key) in enumerate(keys):
        if index:
            clock_ms += pause_ms
        event = _EVENTS[key]
        timestamp = 8 * clock_ms  # 8 kHz RTP clock, the event's start
        steps = _EVENT_MS // _PACKET_MS
        for step in range(1, steps + 1):
            end = step == steps
            duration = 8 * _PACKET_MS * step
            flags = (0x80 if end else 0) | _VOLUME
            body = struct.pack("!BBH", event, flags, duration)
            # The end packet is sent three times (RFC 4733 2.5.1.4) with the same sequence number.
            for _ in range(3 if end else 1):
                header = struct.pack(
                    "!BBHII", 0x80, (0x80 if step == 1 else 0) | _PAYLOAD_TYPE, sequence & 0xFFFF, timestamp, _SSRC
                )
                packets.append((clock_ms + _PACKET_MS * (step - 1), _frame(header + body)))
            sequence += 1
        clock_ms += _EVENT_MS
    with path.open("wb") as handle:
        handle.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for at_ms, frame in packets:
            seconds, micros = divmod(at_ms * 1000, 1_000_000)
            handle.write(struct.pack("<IIII", 1_700_000_000 + seconds, micros, len(frame), len(frame)) + frame)
    return clock_ms
