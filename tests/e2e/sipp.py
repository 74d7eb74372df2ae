"""Run SIPp as the carrier trunk or a caller, with scenarios from tests/sipp/."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.dtmf import key_times, write_dtmf_pcap
from tests.e2e.media import EVENT_MS, write_media_pcap

__all__ = ["CallScript", "SippResult", "run_sipp"]

SCENARIOS = Path(__file__).resolve().parent.parent / "sipp"

_WAIT_FOR_BYE = """  <recv request="BYE" timeout="60000"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
"""

_HANG_UP = """  <pause milliseconds="{after_ms}"/>
  <send retrans="500">
    <![CDATA[
      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Caller" <sip:[caller]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200"/>
"""


@dataclass(frozen=True)
class CallScript:
    """What the caller does after the call is answered."""

    # (pause in ms before the key: after the answer for the first, after the previous key's end for the others)
    keys: tuple[tuple[int, str], ...] = ()
    hang_up_after_ms: int | None = None  # after the last key's end; None: wait for the call center to hang up
    # The caller's voice: a sine of tone_hz (A-law) from the answer on, for tone_seconds, the keys within it.
    tone_hz: float | None = None
    tone_seconds: float = 0.0

    def render(self, template: str, work_dir: Path, name: str) -> str:
        presses = ""
        length_ms = 0
        if self.tone_hz is not None:
            pcap = work_dir / f"{name}-media.pcap"
            first_pause = self.keys[0][0] if self.keys else 0
            times = [(first_pause + at_ms, key) for at_ms, key in key_times(list(self.keys))]
            write_media_pcap(pcap, tone_hz=self.tone_hz, seconds=self.tone_seconds, keys=times)
            # One pcap from the answer on (no pause before it): the last key's end counted from the answer, so
            # the hang-up comes at the same moment as with keys alone below.
            length_ms = times[-1][0] + EVENT_MS if times else 0
            presses = f'  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>\n'
        elif self.keys:
            pcap = work_dir / f"{name}-dtmf.pcap"
            first_pause, _ = self.keys[0]
            length_ms = write_dtmf_pcap(pcap, list(self.keys))
            presses = (
                f'  <pause milliseconds="{first_pause}"/>\n'
                # The pcap plays on its own thread while the scenario goes on.
                f'  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>\n'
            )
        if self.hang_up_after_ms is None:
            # Waiting for the BYE from the first key on: the call center may end the call before the last key.
            end = _WAIT_FOR_BYE
        else:
            end = _HANG_UP.format(after_ms=length_ms + 200 + self.hang_up_after_ms)
        return template.replace("  <!-- KEYS -->\n", presses).replace("  <!-- END -->\n", end)


@dataclass(frozen=True)
class SippResult:
    returncode: int
    output: str
    messages: str  # every SIP message sent and received (-trace_msg)

    @property
    def ok(self) -> bool:
        return self.returncode == 0


# Ports handed out lately, per address: a port probed free is free only until some SIPp binds it, and tests
# start SIPp processes from several threads at once (a CI run lost a caller to "Unable to bind main socket":
# one SIPp's SIP port picked inside another's media ports before either had bound them).
_HELD_S = 60.0
_handed_out: dict[tuple[str, int], float] = {}
_handing_out = threading.Lock()


def _free_port(host: str) -> int:
    return _hand_out(host, 1, even=False)


def _free_even_port(host: str) -> int:
    # SIPp binds four ports from its media port: audio RTP and RTCP, video RTP and RTCP (port + 3); all must be
    # free, or SIPp fails ("Unable to bind video RTP socket ... Address already in use": a CI run lost a phone so).
    return _hand_out(host, 4, even=True)


def _hand_out(host: str, count: int, even: bool) -> int:
    with _handing_out:
        now = time.monotonic()
        for key in [key for key, at in _handed_out.items() if now - at > _HELD_S]:
            del _handed_out[key]
        for _ in range(200):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                probe.bind((host, 0))
                port: int = probe.getsockname()[1]
            ports = range(port, port + count)
            if (
                (not even or port % 2 == 0)
                and ports[-1] <= 65535
                and not any((host, taken) in _handed_out for taken in ports)
                and _all_free(host, ports)
            ):
                _handed_out.update({(host, taken): now for taken in ports})
                return port
    raise RuntimeError(f"no {count} free UDP ports in a row on {host}")


def _all_free(host: str, ports: range) -> bool:
    probes = []
    try:
        for port in ports:
            probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            probes.append(probe)
            probe.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        for probe in probes:
            probe.close()


def run_sipp(
    scenario: str,
    target: tuple[str, int],
    service: str,
    caller: str,
    work_dir: Path,
    script: CallScript | None = None,
    local_ip: str = "127.0.0.2",
    timeout_s: int = 60,
    extra: tuple[str, ...] = (),
) -> SippResult:
    """Place one call; bounded by ``timeout_s`` (SIPp's global timeout, then a hard kill)."""
    template = (SCENARIOS / scenario).read_text()
    name = f"{Path(scenario).stem}-{caller}"
    if "<!-- END -->" in template:
        template = (script or CallScript()).render(template, work_dir, name)
    scenario_file = work_dir / f"{name}.xml"
    scenario_file.write_text(template)
    command = [
        "sipp",
        f"{target[0]}:{target[1]}",
        "-sf",
        str(scenario_file),
        "-i",
        local_ip,
        "-m",
        "1",
        "-l",
        "1",
        "-s",
        service,
        "-key",
        "caller",
        caller,
        "-mp",
        str(_free_even_port(local_ip)),
        "-nostdin",
        # SIPp takes port 5060 when free; a call must not hold the port the carrier's far side listens on.
        *(() if "-p" in extra else ("-p", str(_free_port(local_ip)))),
        "-timeout",
        f"{timeout_s}s",
        "-timeout_error",
        "-trace_err",
        "-trace_msg",
        *extra,
    ]
    completed = subprocess.run(
        command,
        cwd=work_dir,
        capture_output=True,
        text=True,
        timeout=timeout_s + 15,
        stdin=subprocess.DEVNULL,
        check=False,
    )

    def logs(kind: str) -> str:
        return "".join(path.read_text(errors="replace") for path in work_dir.glob(f"{scenario_file.stem}_*_{kind}.log"))

    return SippResult(
        completed.returncode, completed.stdout[-3000:] + completed.stderr[-2000:] + logs("errors"), logs("messages")
    )


def main() -> int:
    """Place one call as the carrier, e.g. `python -m tests.e2e.sipp +78005553535 --keys 1`."""
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("number", help="the number dialled, in any form")
    parser.add_argument("--keys", default="", help="keys to press, one every 1.5 s after the answer")
    parser.add_argument("--caller", default="79161234567")
    parser.add_argument("--target", default="127.0.0.1:5060", help="Asterisk's SIP address")
    args = parser.parse_args()
    host, _, port = args.target.rpartition(":")
    script = CallScript(keys=tuple((1500, key) for key in args.keys))
    with tempfile.TemporaryDirectory() as work_dir:
        result = run_sipp("carrier_call.xml", (host, int(port)), args.number, args.caller, Path(work_dir), script)
    print("call completed" if result.ok else result.output)
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
