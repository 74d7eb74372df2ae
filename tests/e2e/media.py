"""A phone's outgoing media as a pcap that SIPp plays into a call: a tone in G.711 A-law with RFC 4733 keys.

SIPp's play_pcap_audio sends each packet's UDP payload from its media port to the far end's, paced by the
pcap's timestamps: the RTP headers written here (one SSRC, sequence numbers and timestamps running on) are
what Asterisk receives. G.711 is written here too (audioop is deprecated and gone in 3.13): Sun's public
domain reference algorithm, as two lookup tables.
"""

from __future__ import annotations

import math
import struct
import sys
from array import array
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import NamedTuple

__all__ = [
    "ALAW",
    "CLOCK_HZ",
    "EVENT_MS",
    "PACKET_MS",
    "TELEPHONE_EVENT",
    "ULAW",
    "alaw_decode",
    "alaw_encode",
    "ulaw_decode",
    "write_media_pcap",
]

CLOCK_HZ = 8000
PACKET_MS = 20
ALAW, ULAW, TELEPHONE_EVENT = 8, 0, 101  # payload types, as offered in tests/sipp/*.xml
_SAMPLES = CLOCK_HZ * PACKET_MS // 1000
_SSRC = 0x5EED1E55
_FIRST_SEQUENCE = 1000
_EVENTS = {**{str(digit): digit for digit in range(10)}, "*": 10, "#": 11}
EVENT_MS = 160  # how long each key is held
_VOLUME = 10


# --- G.711 -----------------------------------------------------------------------------------------------


_SEGMENT_ENDS = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)


def _alaw_from_13bit(value: int) -> int:
    """One A-law byte from a 13-bit signed sample (the 16-bit one >> 3), per G.711."""
    if value >= 0:
        mask = 0xD5
    else:
        mask, value = 0x55, -value - 1
    segment = next((index for index, end in enumerate(_SEGMENT_ENDS) if value <= end), 8)
    if segment == 8:
        return 0x7F ^ mask  # clipped
    code = (segment << 4) | ((value >> (1 if segment < 2 else segment)) & 0x0F)
    return code ^ mask


def _alaw_to_linear(byte: int) -> int:
    byte ^= 0x55
    value = (byte & 0x0F) << 4
    segment = (byte & 0x70) >> 4
    if segment == 0:
        value += 8
    elif segment == 1:
        value += 0x108
    else:
        value = (value + 0x108) << (segment - 1)
    return value if byte & 0x80 else -value


def _ulaw_to_linear(byte: int) -> int:
    byte = ~byte & 0xFF
    value = (((byte & 0x0F) << 3) + 0x84) << ((byte & 0x70) >> 4)
    return 0x84 - value if byte & 0x80 else value - 0x84


# A-law only looks at the top 13 bits: 8192 entries, indexed by the 16-bit sample >> 3 (as unsigned).
_ALAW_ENCODE = bytes(_alaw_from_13bit(index - 8192 if index >= 4096 else index) for index in range(8192))
_ALAW_DECODE = array("h", (_alaw_to_linear(byte) for byte in range(256)))
_ULAW_DECODE = array("h", (_ulaw_to_linear(byte) for byte in range(256)))


def alaw_encode(samples: Sequence[int]) -> bytes:
    """A-law bytes for 16-bit signed samples."""
    table = _ALAW_ENCODE
    return bytes(table[(sample >> 3) & 0x1FFF] for sample in samples)


def _decode(table: array[int], data: bytes) -> bytes:
    samples = array("h", (table[byte] for byte in data))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def alaw_decode(data: bytes) -> bytes:
    """16-bit signed little-endian PCM for A-law bytes."""
    return _decode(_ALAW_DECODE, data)


def ulaw_decode(data: bytes) -> bytes:
    """16-bit signed little-endian PCM for µ-law bytes."""
    return _decode(_ULAW_DECODE, data)


# --- the pcap ------------------------------------------------------------------------------------------


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


class _Packet(NamedTuple):
    at_ms: int
    payload_type: int
    marker: bool
    timestamp: int
    body: bytes
    repeat: bool = False  # the same packet again, with the same sequence number


def _event_packets(at_ms: int, key: str) -> list[_Packet]:
    """One key held EVENT_MS: one packet a PACKET_MS with the duration so far, all with the event's start
    as their timestamp; the end packet three times (RFC 4733 2.5.1.4)."""
    event = _EVENTS[key]
    steps = EVENT_MS // PACKET_MS
    stamp = at_ms * CLOCK_HZ // 1000
    packets = []
    for step in range(1, steps + 1):
        end = step == steps
        body = struct.pack("!BBH", event, (0x80 if end else 0) | _VOLUME, _SAMPLES * step)
        packet = _Packet(at_ms + PACKET_MS * (step - 1), TELEPHONE_EVENT, step == 1, stamp, body)
        packets.append(packet)
        if end:
            packets += [packet._replace(repeat=True)] * 2
    return packets


def write_media_pcap(
    path: Path,
    *,
    tone_hz: float | None,
    seconds: float,
    keys: Sequence[tuple[int, str]] = (),
    amplitude: float = 0.25,
) -> int:
    """Write a PCMA stream of a ``tone_hz`` sine (``amplitude`` of full scale) ``seconds`` long, with ``keys``
    ((ms from the start, key)) as RFC 4733 events, the tone left out while a key is held; ``tone_hz`` None:
    the keys alone. Return the pcap's length in ms (the end of the tone or of the last key, the later)."""
    if not 0 < amplitude <= 1:
        raise ValueError(f"amplitude {amplitude} is not in (0, 1]")
    keys = sorted(keys)
    for (before, _), (after, _) in pairwise(keys):
        if after < before + EVENT_MS:
            raise ValueError(f"the key at {after} ms starts before the one at {before} ms ends")
    # Events and audio in one list, sorted by time, then numbered.
    packets = [packet for at_ms, key in keys for packet in _event_packets(at_ms, key)]
    tone_ms = round(seconds * 1000) // PACKET_MS * PACKET_MS if tone_hz is not None else 0
    talkspurt = True
    for at_ms in range(0, tone_ms, PACKET_MS):
        if any(at_ms + PACKET_MS > start and at_ms < start + EVENT_MS for start, _ in keys):
            talkspurt = True  # the key replaces the tone; the tone after it starts a new talkspurt (marker)
            continue
        assert tone_hz is not None
        first = at_ms * CLOCK_HZ // 1000
        # The phase runs on from the stream's start, across the keys: one sine throughout.
        samples = [
            round(amplitude * 32767 * math.sin(2 * math.pi * tone_hz * n / CLOCK_HZ))
            for n in range(first, first + _SAMPLES)
        ]
        packets.append(_Packet(at_ms, ALAW, talkspurt, first, alaw_encode(samples)))
        talkspurt = False
    packets.sort(key=lambda packet: packet.at_ms)  # stable: a key's three end packets stay together
    length_ms = max([tone_ms, *(start + EVENT_MS for start, _ in keys)])
    with path.open("wb") as handle:
        handle.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        sequence = _FIRST_SEQUENCE - 1
        for packet in packets:
            sequence += 0 if packet.repeat else 1
            second = (0x80 if packet.marker else 0) | packet.payload_type
            header = struct.pack("!BBHII", 0x80, second, sequence & 0xFFFF, packet.timestamp, _SSRC)
            frame = _frame(header + packet.body)
            whole, micros = divmod(packet.at_ms * 1000, 1_000_000)
            handle.write(struct.pack("<IIII", 1_700_000_000 + whole, micros, len(frame), len(frame)) + frame)
    return length_ms
