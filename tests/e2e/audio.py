"""What the phones actually heard: RTP sniffed on loopback, decoded, and a tone measured in it with sox.

Asterisk runs with direct_media=no, so every RTP packet a SIPp phone gets comes from Asterisk over lo:
sniffing lo (an AF_PACKET socket, as root) sees what each leg received without the phones recording
anything. A tone is then measured with sox: the RMS level left after a narrow band-pass around it.
"""

from __future__ import annotations

import ctypes
import re
import socket
import struct
import subprocess
import threading
import time
import wave
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from tests.e2e.media import ALAW, CLOCK_HZ, ULAW, alaw_decode, ulaw_decode

__all__ = ["TONE_THRESHOLD", "RtpCapture", "RtpPacket", "has_tone", "pcm_seconds", "sent_media_port", "tone_level"]

_ETH_P_IP = 0x0800
_PACKET_OUTGOING = 4  # sll_pkttype of a packet's copy on the way out; lo shows each packet out and in
_SO_ATTACH_FILTER = 26
_SO_TIMESTAMP = 29
_SO_RCVBUFFORCE = 33
_DECODERS = {ALAW: alaw_decode, ULAW: ulaw_decode}

# The RMS level (of full scale) at and above which a tone counts as present. Measured through Asterisk 22
# by tests/e2e/test_audio_path.py (A-law both ways, 0.25 full-scale sines, a 3.5 s window of each leg):
#   present: 0.1766-0.1768, the sine's own RMS (0.25 / sqrt(2)): Asterisk passes the audio on unchanged;
#   absent:  0.0003 (500 Hz in the caller's leg, which carries 1000 Hz) and 0.0010 (1000 Hz in the agent's
#            leg: the 2nd harmonic of A-law's quantisation error on the 500 Hz sine, there before Asterisk).
# 0.02 is 26 dB above the highest absent level and 19 dB below the present one.
TONE_THRESHOLD = 0.02


@dataclass(frozen=True)
class RtpPacket:
    at: float  # arrival, time.time() scale (the kernel's receive timestamp)
    source: tuple[str, int]
    destination: tuple[str, int]
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes


def _bpf(addresses: Iterable[str]) -> bytes:
    """A classic BPF program for the kernel: IPv4 UDP to one of ``addresses``, arriving (not the outgoing
    copy). It spares the capture thread the rest of lo's traffic (PostgreSQL, AMI, other test runs)."""
    targets = [struct.unpack("!I", socket.inet_aton(address))[0] for address in addresses]
    drop = 5 + len(targets)  # the index of "drop" below; a jump counts from the instruction after it
    program = [
        (0x20, 0, 0, 0xFFFFF000 + 4),  # ld pkttype (SKF_AD_OFF + SKF_AD_PKTTYPE)
        (0x15, drop - 2, 0, _PACKET_OUTGOING),  # jeq outgoing -> drop
        (0x30, 0, 0, 9),  # ldb [9]: IPv4 protocol (a SOCK_DGRAM packet socket starts at the IP header)
        (0x15, 0, drop - 4, socket.IPPROTO_UDP),  # jne udp -> drop
        (0x20, 0, 0, 16),  # ld [16]: destination address
    ]
    for index, target in enumerate(targets):
        program.append((0x15, len(targets) - index, 0, target))  # jeq -> accept
    program += [(0x06, 0, 0, 0), (0x06, 0, 0, 0xFFFF)]  # drop; accept (up to 64 KiB)
    return b"".join(struct.pack("HBBI", *instruction) for instruction in program)


def _parse(datagram: bytes, at: float) -> RtpPacket | None:
    """An RTP audio packet (version 2, PCMU or PCMA) from an IPv4 datagram; None for anything else
    (RTCP, telephone-event, SIP, fragments)."""
    if len(datagram) < 20 or datagram[0] >> 4 != 4 or datagram[9] != socket.IPPROTO_UDP:
        return None
    if struct.unpack("!H", datagram[6:8])[0] & 0x3FFF:
        return None  # a fragment
    header_length = (datagram[0] & 0x0F) * 4
    udp = datagram[header_length:]
    if len(udp) < 8 + 12:
        return None
    source_port, destination_port, udp_length = struct.unpack("!HHH", udp[:6])
    rtp = udp[8:udp_length]
    first, second, sequence, timestamp, ssrc = struct.unpack("!BBHII", rtp[:12])
    if first >> 6 != 2 or (second & 0x7F) not in _DECODERS:
        return None
    start = 12 + 4 * (first & 0x0F)  # CSRCs
    if first & 0x10:  # a header extension
        if len(rtp) < start + 4:
            return None
        start += 4 + 4 * struct.unpack("!H", rtp[start + 2 : start + 4])[0]
    end = len(rtp) - (rtp[-1] if first & 0x20 else 0)  # padding
    if end < start:
        return None
    return RtpPacket(
        at,
        (socket.inet_ntoa(datagram[12:16]), source_port),
        (socket.inet_ntoa(datagram[16:20]), destination_port),
        second & 0x7F,
        sequence,
        timestamp,
        ssrc,
        rtp[start:end],
    )


class RtpCapture:
    """Sniffs lo, as root, from entering the ``with`` block to leaving it (at most ``max_seconds``), keeping
    the RTP audio packets sent to each of ``addresses``."""

    def __init__(self, addresses: Iterable[str], max_seconds: float = 120.0) -> None:
        self.addresses = frozenset(addresses)
        self.max_seconds = max_seconds
        self._packets: dict[str, list[RtpPacket]] = {address: [] for address in self.addresses}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> RtpCapture:
        sniffer = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)  # protocol 0: nothing until bound
        try:
            program = _bpf(sorted(self.addresses))
            buffer = ctypes.create_string_buffer(program)
            sniffer.setsockopt(
                socket.SOL_SOCKET, _SO_ATTACH_FILTER, struct.pack("HL", len(program) // 8, ctypes.addressof(buffer))
            )
            sniffer.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMP, 1)
            sniffer.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, 8 << 20)  # a stall must not drop packets
            sniffer.settimeout(0.2)  # the thread looks at the stop flag this often
            sniffer.bind(("lo", _ETH_P_IP))  # filtered from the first packet: bound after the filter is on
        except BaseException:
            sniffer.close()
            raise
        self._socket = sniffer
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="rtp-capture", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def _run(self) -> None:
        assert self._socket is not None
        sniffer = self._socket
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                data, ancillary, _, _ = sniffer.recvmsg(65535, socket.CMSG_SPACE(16))
            except TimeoutError:
                continue
            except OSError:
                return  # closed under us
            at = time.time()
            for level, kind, value in ancillary:
                if (level, kind) == (socket.SOL_SOCKET, _SO_TIMESTAMP) and len(value) >= 16:
                    seconds, micros = struct.unpack("qq", value[:16])
                    at = seconds + micros / 1e6
            packet = _parse(data, at)
            if packet is not None and packet.destination[0] in self.addresses:
                with self._lock:
                    self._packets[packet.destination[0]].append(packet)

    def packets(
        self, address: str, start: float | None = None, end: float | None = None, port: int | None = None
    ) -> list[RtpPacket]:
        """The audio packets sent to ``address`` (and ``port``), arrived within [start, end], in arrival order."""
        with self._lock:
            packets = list(self._packets[address])
        return [
            packet
            for packet in packets
            if (start is None or packet.at >= start)
            and (end is None or packet.at <= end)
            and (port is None or packet.destination[1] == port)
        ]

    def pcm(self, address: str, start: float | None = None, end: float | None = None, port: int | None = None) -> bytes:
        """What ``address`` (``port``: one phone there) received within [start, end], as 16-bit signed
        little-endian 8 kHz mono, packet after packet in arrival order (no jitter buffer, no gap filling)."""
        return b"".join(
            _DECODERS[packet.payload_type](packet.payload) for packet in self.packets(address, start, end, port)
        )


def pcm_seconds(pcm: bytes) -> float:
    return len(pcm) / 2 / CLOCK_HZ


def sent_media_port(messages: str) -> int:
    """The RTP port a SIPp run offered, from its -trace_msg log: the m= line of the first SDP it sent."""
    for message in re.split(r"^-{20,}.*$", messages, flags=re.MULTILINE):
        if re.search(r"message sent", message):
            offered = re.search(r"^\s*m=audio (\d+) ", message, re.MULTILINE)
            if offered:
                return int(offered.group(1))
    raise ValueError("no SDP sent in these messages")


def tone_level(pcm: bytes, hz: float, work_dir: Path, band_hz: float = 30.0) -> float:
    """The RMS level, of full scale, of ``pcm`` (16-bit LE 8 kHz mono) within ``hz`` ± ``band_hz``, by sox:
    a full-scale sine at ``hz`` gives ~0.707, silence or other tones ~0."""
    if pcm_seconds(pcm) < 0.25:
        raise ValueError(f"{pcm_seconds(pcm):.2f} s of audio is too little to measure a tone in")
    work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / f"measure-{threading.get_ident()}-{time.monotonic_ns()}.wav"
    try:
        with wave.open(str(path), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(CLOCK_HZ)
            wav.writeframes(pcm)
        completed = subprocess.run(
            # -t 20: a 20 Hz transition band; the default one is wider than the band and lets 950 Hz through
            # at -12 dB next to 1000 Hz, with 1000 Hz itself at -3 dB.
            ["sox", str(path), "-n", "sinc", "-t", "20", f"{hz - band_hz:g}-{hz + band_hz:g}", "stat"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    finally:
        path.unlink(missing_ok=True)
    found = re.search(r"^RMS\s+amplitude:\s+([0-9.eE+-]+)", completed.stderr, re.MULTILINE)  # `stat` reports on stderr
    if found is None:
        raise RuntimeError(f"no RMS amplitude in sox's output: {completed.stderr}")
    return float(found.group(1))


def has_tone(pcm: bytes, hz: float, work_dir: Path, threshold: float = TONE_THRESHOLD) -> bool:
    return tone_level(pcm, hz, work_dir) >= threshold
