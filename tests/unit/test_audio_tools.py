"""The audio test tools (tests/e2e/media.py, audio.py): G.711, the media pcap SIPp plays, the sox tone
measurement and the loopback RTP capture, checked without Asterisk."""

from __future__ import annotations

import math
import os
import socket
import struct
import sys
import time
from itertools import pairwise
from pathlib import Path

import pytest

# tests/ is not part of the installed package: import the tools from the checkout.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.e2e.audio import TONE_THRESHOLD, RtpCapture, has_tone, sent_media_port, tone_level  # noqa: E402
from tests.e2e.dtmf import key_times, write_dtmf_pcap  # noqa: E402
from tests.e2e.media import EVENT_MS, alaw_decode, alaw_encode, ulaw_decode, write_media_pcap  # noqa: E402
from tests.e2e.sipp import CallScript  # noqa: E402

pytestmark = pytest.mark.timeout(60)


def _samples(pcm: bytes) -> list[int]:
    return list(struct.unpack(f"<{len(pcm) // 2}h", pcm))


def _sine(hz: float, seconds: float, amplitude: float, phase_samples: int = 0) -> list[int]:
    count = round(8000 * seconds)
    return [round(amplitude * 32767 * math.sin(2 * math.pi * hz * (n + phase_samples) / 8000)) for n in range(count)]


def _pcm(samples: list[int]) -> bytes:
    return struct.pack(f"<{len(samples)}h", *samples)


# --- G.711 -----------------------------------------------------------------------------------------------


def test_alaw_has_the_g711_code_points() -> None:
    assert alaw_encode([0, -1, 32767, -32768]) == bytes([0xD5, 0x55, 0xAA, 0x2A])
    assert _samples(alaw_decode(bytes([0xD5, 0x55, 0xAA, 0x2A]))) == [8, -8, 32256, -32256]


def test_every_alaw_byte_survives_decoding_and_encoding_again() -> None:
    every = bytes(range(256))
    assert alaw_encode(_samples(alaw_decode(every))) == every


def test_alaw_keeps_a_sample_within_its_segments_step() -> None:
    ramp = list(range(-32768, 32768, 7))
    decoded = _samples(alaw_decode(alaw_encode(ramp)))
    # A-law's step doubles with each segment: 16 near zero, 1024 at the top (and a clip above 32256 + 512).
    assert all(abs(out - sample) <= max(16, abs(sample) // 32) for sample, out in zip(ramp, decoded, strict=True))


def test_ulaw_decodes_the_g711_code_points() -> None:
    assert _samples(ulaw_decode(bytes([0xFF, 0x7F, 0x80, 0x00, 0xEF]))) == [0, 0, 32124, -32124, 132]


# --- the media pcap ---------------------------------------------------------------------------------------


def _read_pcap(path: Path) -> list[tuple[int, int, bool, int, int, int, bytes]]:
    """(µs from the first packet, payload type, marker, sequence, timestamp, ssrc, payload) per packet."""
    data = path.read_bytes()
    assert struct.unpack("<IHHiIII", data[:24]) == (0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)  # Ethernet link type
    packets = []
    offset, first = 24, None
    while offset < len(data):
        seconds, micros, length, original = struct.unpack("<IIII", data[offset : offset + 16])
        frame = data[offset + 16 : offset + 16 + length]
        offset += 16 + length
        assert length == original
        at = seconds * 1_000_000 + micros
        first = at if first is None else first
        rtp = frame[14 + 20 + 8 :]  # Ethernet, IPv4, UDP
        version, second, sequence, timestamp, ssrc = struct.unpack("!BBHII", rtp[:12])
        assert version == 0x80
        packets.append((at - first, second & 0x7F, bool(second & 0x80), sequence, timestamp, ssrc, rtp[12:]))
    return packets


def test_a_media_pcap_is_one_stream_of_tone_with_the_keys_in_place_of_the_tone(tmp_path: Path) -> None:
    path = tmp_path / "media.pcap"
    assert write_media_pcap(path, tone_hz=1000, seconds=1, keys=[(300, "5"), (600, "#")]) == 1000
    packets = _read_pcap(path)
    assert {packet[5] for packet in packets} == {0x5EED1E55}  # one SSRC
    audio = [packet for packet in packets if packet[1] == 8]
    events = [packet for packet in packets if packet[1] == 101]
    assert len(packets) == len(audio) + len(events)
    # Audio every 20 ms but while a key is held, its timestamp the 8 kHz clock of its time.
    held = set(range(300, 460, 20)) | set(range(600, 760, 20))
    assert [packet[0] // 1000 for packet in audio] == [ms for ms in range(0, 1000, 20) if ms not in held]
    assert all(packet[4] == 8 * packet[0] // 1000 and len(packet[6]) == 160 for packet in audio)
    # A marker at the start and where the tone comes back after each key.
    assert [packet[0] // 1000 for packet in audio if packet[2]] == [0, 460, 760]
    # Each key: 8 packets with its start as timestamp and the duration growing, the end one three times.
    for start, event in ((300, 5), (600, 11)):
        own = [packet for packet in events if packet[4] == 8 * start]
        bodies = [struct.unpack("!BBH", packet[6]) for packet in own]
        assert [body[0] for body in bodies] == [event] * 10
        assert [body[2] for body in bodies] == [160 * step for step in range(1, 8)] + [1280] * 3
        assert [bool(body[1] & 0x80) for body in bodies] == [False] * 7 + [True] * 3
        assert [packet[0] // 1000 for packet in own] == [start + 20 * step for step in range(8)] + [start + 140] * 2
        assert [packet[2] for packet in own] == [True] + [False] * 9
    # Sequence numbers run on in sending order; only a repeated end packet keeps its number.
    assert [packet[0] for packet in packets] == sorted(packet[0] for packet in packets)
    steps = [after[3] - before[3] for before, after in pairwise(packets)]
    repeats = [index for index, step in enumerate(steps) if step == 0]
    assert set(steps) == {0, 1} and len(repeats) == 4
    assert all(packets[index][6] == packets[index + 1][6] for index in repeats)
    # The tone is one sine throughout, its phase running on across the keys.
    pcm = b"".join(alaw_decode(packet[6]) for packet in audio[-10:])
    expected = _sine(1000, 0.2, 0.25, phase_samples=8 * 800)
    assert all(abs(got - want) <= max(16, abs(want) // 32) for got, want in zip(_samples(pcm), expected, strict=True))


def test_a_media_pcap_without_a_tone_is_the_keys_alone(tmp_path: Path) -> None:
    path = tmp_path / "keys.pcap"
    assert write_media_pcap(path, tone_hz=None, seconds=5, keys=[(100, "1")]) == 260
    packets = _read_pcap(path)
    assert {packet[1] for packet in packets} == {101} and len(packets) == 10


def test_keys_that_overlap_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="starts before"):
        write_media_pcap(tmp_path / "bad.pcap", tone_hz=500, seconds=1, keys=[(0, "1"), (100, "2")])


def test_the_dtmf_pcap_counts_each_pause_from_the_previous_keys_end(tmp_path: Path) -> None:
    assert key_times([(1500, "1"), (250, "2"), (0, "3")]) == [(0, "1"), (410, "2"), (570, "3")]
    path = tmp_path / "dtmf.pcap"
    assert write_dtmf_pcap(path, [(1500, "1"), (250, "2"), (0, "3")]) == 570 + EVENT_MS
    packets = _read_pcap(path)
    assert [packet[3] for packet in packets[:3]] == [1000, 1001, 1002]  # as SIPp played them before
    assert sorted({packet[4] for packet in packets}) == [0, 8 * 410, 8 * 570]


def test_a_call_script_with_a_tone_plays_one_media_pcap_from_the_answer(tmp_path: Path) -> None:
    template = "<x>\n  <!-- KEYS -->\n  <!-- END -->\n</x>\n"
    plain = CallScript(keys=((1500, "2"),), hang_up_after_ms=1000).render(template, tmp_path, "plain")
    assert '<pause milliseconds="1500"/>' in plain and "plain-dtmf.pcap" in plain
    assert '<pause milliseconds="1360"/>' in plain  # after the key's end (160 ms) and 200 ms
    spoken = CallScript(keys=((1500, "2"),), hang_up_after_ms=1000, tone_hz=500, tone_seconds=5).render(
        template, tmp_path, "spoken"
    )
    assert "spoken-media.pcap" in spoken and '<pause milliseconds="1500"/>' not in spoken
    assert '<pause milliseconds="2860"/>' in spoken  # the same moment, counted from the answer
    packets = _read_pcap(tmp_path / "spoken-media.pcap")
    assert {packet[4] for packet in packets if packet[1] == 101} == {8 * 1500}


# --- measuring -------------------------------------------------------------------------------------------


def test_tone_level_finds_each_tone_of_a_mix_and_not_one_that_is_absent(tmp_path: Path) -> None:
    mix = [a + b for a, b in zip(_sine(500, 2, 0.2), _sine(1000, 2, 0.2), strict=True)]
    pcm = alaw_decode(alaw_encode(mix))
    assert tone_level(pcm, 500, tmp_path) == pytest.approx(0.2 / math.sqrt(2), rel=0.03)
    assert tone_level(pcm, 1000, tmp_path) == pytest.approx(0.2 / math.sqrt(2), rel=0.03)
    assert has_tone(pcm, 500, tmp_path) and has_tone(pcm, 1000, tmp_path)
    assert tone_level(pcm, 1700, tmp_path) < TONE_THRESHOLD / 10
    assert not has_tone(pcm, 1700, tmp_path)
    assert not has_tone(pcm, 950, tmp_path)  # 50 Hz off: outside the band
    assert not has_tone(_pcm([0] * 8000), 1000, tmp_path)
    assert list(tmp_path.glob("*.wav")) == []


def test_tone_level_refuses_too_little_audio(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="too little"):
        tone_level(_pcm([0] * 800), 1000, tmp_path)


def test_the_media_port_a_sipp_run_offered_is_read_from_its_messages() -> None:
    messages = (
        "----------------------------------------------- 2026-01-01 10:00:00.000000\n"
        "UDP message received [500] bytes :\n\nINVITE sip:x SIP/2.0\n\nv=0\nm=audio 10000 RTP/AVP 8\n\n"
        "----------------------------------------------- 2026-01-01 10:00:01.000000\n"
        "UDP message sent (300 bytes):\n\nSIP/2.0 180 Ringing\n\n"
        "----------------------------------------------- 2026-01-01 10:00:02.000000\n"
        "UDP message sent (500 bytes):\n\nSIP/2.0 200 OK\n\nv=0\nm=audio 6004 RTP/AVP 8 101\n\n"
    )
    assert sent_media_port(messages) == 6004
    with pytest.raises(ValueError):
        sent_media_port(messages.split("UDP message sent")[0])


@pytest.mark.skipif(os.geteuid() != 0, reason="sniffing lo takes root (an AF_PACKET socket)")
def test_rtp_capture_keeps_the_audio_sent_to_an_address_once_each_and_nothing_else() -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender,
    ):
        receiver.bind(("127.0.0.3", 0))
        sender.bind(("127.0.0.2", 0))
        to, source = receiver.getsockname(), sender.getsockname()
        alaw, ulaw = alaw_encode(_sine(1000, 0.02, 0.5)), bytes(range(160))
        with RtpCapture({"127.0.0.3"}, max_seconds=10) as capture:
            started = time.time()
            for sequence, (payload_type, payload) in enumerate([(8, alaw), (0, ulaw), (101, b"\x02\x0a\x00\xa0")]):
                sender.sendto(struct.pack("!BBHII", 0x80, payload_type, sequence, 160 * sequence, 7) + payload, to)
            sender.sendto(struct.pack("!BBHI", 0x81, 200, 6, 7) + bytes(20), to)  # RTCP (a sender report)
            sender.sendto(bytes(40), to)  # not RTP
            # A header extension and padding around a PCMA payload.
            extended = struct.pack("!BBHIIHH", 0xB0, 8, 9, 0, 7, 0xBEDE, 1) + bytes(4) + alaw + bytes([0, 0, 3])
            sender.sendto(extended, to)
            sent = time.time()
            deadline = time.monotonic() + 5
            while len(capture.packets("127.0.0.3", port=to[1])) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.2)  # anything more (a duplicate: lo shows each packet going out and coming in) by now
    # Other test runs may send RTP to 127.0.0.3 meanwhile: only this sender's packets are looked at.
    packets = [packet for packet in capture.packets("127.0.0.3") if packet.source == source]
    assert [(packet.payload_type, packet.sequence) for packet in packets] == [(8, 0), (0, 1), (8, 9)]
    assert all(packet.destination == to and packet.ssrc == 7 for packet in packets)
    assert started - 0.01 <= packets[0].at <= packets[-1].at <= sent + 0.01
    assert capture.pcm("127.0.0.3", port=to[1]) == alaw_decode(alaw) + ulaw_decode(ulaw) + alaw_decode(alaw)
    assert capture.pcm("127.0.0.3", start=packets[1].at, end=packets[1].at, port=to[1]) == ulaw_decode(ulaw)
    assert capture.packets("127.0.0.3", port=to[1] + 2) == []
