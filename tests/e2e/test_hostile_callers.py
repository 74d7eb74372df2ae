"""Hostile callers on the carrier trunk: SQL, shell, HTML and dialplan-expression payloads, AGI separators,
line breaks, over-long and non-UTF-8 values in the caller ID, its name and extra SIP headers; a dialled
number with line breaks; a DTMF flood of 1000 keys. Calls go through the IVR as any other, the records hold
the values as data (Asterisk's normalizations, tested exactly), nothing is executed, and no AGI command the
service sends carries the caller's text.
"""

from __future__ import annotations

import re
import socket
import struct
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from panoramisk.ami_protocol import AMIProtocol
from sqlalchemy import create_engine, func, select

from callcenter.asterisk.ami import event_field
from callcenter.config import Settings
from callcenter.records import IN_PROGRESS
from callcenter.stack import Stack
from callcenter.store.tables import calls
from tests.e2e.conftest import ServiceProcess
from tests.e2e.media import CLOCK_HZ, PACKET_MS, TELEPHONE_EVENT
from tests.e2e.sipp import SCENARIOS, CallScript, SippResult, run_sipp

pytestmark = pytest.mark.e2e

ROOT_TMP = Path("/var/cache/callcenter/asterisk-root/tmp")
CID_MAX = 79  # Asterisk keeps 79 bytes of a caller ID number or name (AST_MAX_EXTENSION - 1)


def _ami_command(settings: Settings, secret: str, command: str) -> None:
    """One CLI command over AMI (the service's user may run them), on loopback."""
    with socket.create_connection((settings.ami_host, settings.ami_port), timeout=5) as link:
        reader = link.makefile("rb")
        reader.readline()  # the banner
        for action in (
            f"Action: Login\r\nUsername: {settings.ami_username}\r\nSecret: {secret}\r\nEvents: off\r\n\r\n",
            f"Action: Command\r\nCommand: {command}\r\nActionID: cc-hostile\r\n\r\n",
            "Action: Logoff\r\n\r\n",
        ):
            link.sendall(action.encode())
            block = b""
            while not block.endswith(b"\r\n\r\n"):
                line = reader.readline()
                if not line:
                    break
                block += line
            assert b"Response: Error" not in block, block


def _call(
    target: tuple[str, int], work: Path, token: str, display: str, user: str, headers: list[str], keys: str = "2"
) -> SippResult:
    """One carrier call with this From (``display`` escaped for a SIP quoted-string by the caller) and headers."""
    work.mkdir()
    return run_sipp(
        "carrier_call_hostile.xml",
        target,
        "+78005553535",
        token,
        work,
        CallScript(keys=((1500, keys),), hang_up_after_ms=3000),
        extra=("-key", "display", display, "-key", "user", user, "-key", "headers", "\r\n".join(headers)),
    )


def _records(url: str, since: float) -> list[dict[str, Any]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(calls).where(
                    func.extract("epoch", calls.c.started_at) >= since, calls.c.outcome_reason != IN_PROGRESS
                )
            )
            return [dict(row._mapping) for row in rows]
    finally:
        engine.dispose()


def _wait_for(url: str, since: float, match: Any, timeout: float = 15.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = [record for record in _records(url, since) if match(record)]
        if found:
            assert len(found) == 1, found
            return found[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no such call record within {timeout} s: {_records(url, since)}")
        time.sleep(0.3)


def _flood_pcap(path: Path, keys: str) -> int:
    """RFC 4733 keys as fast as the wire takes them: one 20 ms event each (its end packet sent three times)."""
    packets = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    sequence = 1000
    for index, key in enumerate(keys):
        at_ms = index * PACKET_MS
        body = struct.pack("!BBH", int(key), 0x80 | 10, CLOCK_HZ * PACKET_MS // 1000)
        header = struct.pack("!BBHII", 0x80, 0x80 | TELEPHONE_EVENT, sequence, at_ms * CLOCK_HZ // 1000, 0x5EED1E55)
        sequence += 1
        rtp = header + body
        udp = struct.pack("!HHHH", 40000, 40000, 8 + len(rtp), 0) + rtp
        ip = (
            struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes([127, 0, 0, 2]), bytes(4)) + udp
        )
        frame = b"\x00" * 12 + b"\x08\x00" + ip
        for repeat in range(3):
            whole, micros = divmod(at_ms * 1000 + repeat * 1000, 1_000_000)
            packets += struct.pack("<IIII", 1_700_000_000 + whole, micros, len(frame), len(frame)) + frame
    path.write_bytes(bytes(packets))
    return len(keys) * PACKET_MS


def test_hostile_caller_data_is_stored_as_data_and_never_reaches_dialplan_or_agi_commands(
    stack: Stack, service: ServiceProcess, settings: Settings, target: tuple[str, int], sipp_dir: Path
) -> None:
    url = settings.database_dsn(stack.secrets)
    token = uuid.uuid4().hex[:8]
    canary = f"cc-pwned-{token}"
    shell = f"$(touch /tmp/{canary}) `touch /tmp/{canary}`"
    dialplan = "${SHELL} ${CC_NEXT} $[1+1] ${CALLERID(num)}"
    html = "<script>alert(1)</script>"
    sql = "'; DROP TABLE calls; --"
    headers = [
        f"X-Hostile-Sql: {sql}",
        f"X-Hostile-Shell: {shell}",
        f"X-Hostile-Html: {html}",
        f"X-Hostile-Dialplan: {dialplan}",
        'X-Hostile-Separators: a"b,c|d\\e',
        "X-Hostile-Long: " + "h" * 2000,
    ]
    # (display as sent, user part as sent (URI-escaped), the name and number the record must hold)
    calls_made = {
        "sql": (f"{sql} {html} A{token}", "%27%20OR%20%271%27%3D%271", f"{sql} {html} A{token}",
                "' OR '1'='1"),  # a ';' would end the number there: Asterisk takes what follows for URI parameters
        "shell": (f"{shell} B{token}", "%24(touch%20/tmp/" + canary + ")%60id%60", f"{shell} B{token}"[:CID_MAX],
                  f"$(touch /tmp/{canary})`id`"),
        # A quoted-pair stays as sent (Asterisk does not unescape the display name); AGI's separators are
        # data; a line break (%0A in the user part) becomes a space before the AGI (extensions.conf).
        "separators": (f'a\\"b,c|d {dialplan} C{token}', "1%2C2%7C3%0A%0Aagi_arg_1%3A%20victim",
                       f'a\\"b,c|d {dialplan} C{token}'[:CID_MAX], "1,2|3  agi_arg_1: victim"),
        # Asterisk replaces bytes that are not UTF-8 with U+FFFD (3 bytes), then keeps 79 bytes of each.
        "long": (f"D{token} caf\udce9 \udcff" + "L" * 2000, "7" * 2000,
                 f"D{token} caf\ufffd \ufffd" + "L" * (CID_MAX - len(f"D{token} caf\ufffd \ufffd".encode())),
                 "7" * CID_MAX),
    }  # fmt: skip
    marks = {name: value[2][:9] for name, value in calls_made.items()}
    full_log = stack.asterisk.log_file.with_name("full")
    log_start = full_log.stat().st_size
    _ami_command(settings, stack.secrets.ami_secret, "agi set debug on")
    since = time.time() - 1
    try:
        with ThreadPoolExecutor(len(calls_made)) as pool:
            results = {
                name: pool.submit(_call, target, sipp_dir / name, f"{name}{token}", display, user, headers)
                for name, (display, user, _, _) in calls_made.items()
            }
            for name, result in results.items():
                assert result.result().ok, (name, result.result().output)
        records = {}
        for name, (_, _, caller_name, caller_number) in calls_made.items():
            records[name] = _wait_for(url, since, lambda r, mark=marks[name]: r["caller_name"].startswith(mark))
            record = records[name]
            assert (record["caller_name"], record["caller_number"]) == (caller_name, caller_number), name
            # Through the IVR as any caller: key 2, the support queue, nobody there: its voicemail.
            assert record["ivr_path"] == [{"menu": "support-main", "key": "2"}], name
            assert (record["queue"], record["outcome"], record["outcome_reason"]) == (
                "support",
                "voicemail",
                "overflow_no_agents",
            ), name
    finally:
        _ami_command(settings, stack.secrets.ami_secret, "agi set debug off")

    with full_log.open("rb") as log:
        log.seek(log_start)
        written = log.read().decode("utf-8", "replace")
    # What the service sent over AGI ("AGI Rx"): no caller text in any command.
    commands = re.findall(r"AGI Rx << (.*)", written)
    assert len(commands) >= 4 * len(calls_made), written[-3000:]
    for command in commands:
        for payload in (token, "DROP TABLE", "touch", "<script>", "${", "$[", "agi_arg_1"):
            assert payload not in command, command
    # Nothing ran: no file from the shell payloads (on the host or in Asterisk's root), the table is there.
    assert not (Path("/tmp") / canary).exists() and not (ROOT_TMP / canary).exists()
    assert len(_records(url, since)) >= len(calls_made)
    assert "AGI handler failed" not in service.output and "not an AGI reply" not in service.output


def test_a_dialled_number_with_line_breaks_is_refused_before_the_service(
    service: ServiceProcess, settings: Settings, stack: Stack, target: tuple[str, int], sipp_dir: Path
) -> None:
    # %0A%0A would end the AGI environment early and forge its lines: extensions.conf refuses the number (404).
    since = time.time() - 1
    mark = service.mark()
    result = run_sipp(
        "carrier_unknown_number.xml", target, "+78005553535%0A%0Aagi_arg_1:%20victim", "79160000404", sipp_dir
    )
    assert result.ok, result.output
    time.sleep(1.0)  # a record would be written at once; there must be none, and no AGI session
    assert [
        r for r in _records(settings.database_dsn(stack.secrets), since) if r["caller_number"] == "79160000404"
    ] == []
    assert "79160000404" not in "\n".join(service.output.splitlines()[mark:])


def test_a_flood_of_1000_keys_ends_the_call_cleanly_and_the_next_call_is_served(
    stack: Stack, service: ServiceProcess, settings: Settings, target: tuple[str, int], sipp_dir: Path
) -> None:
    url = settings.database_dsn(stack.secrets)
    token = uuid.uuid4().hex[:8]
    flood = "1" + "123456789" * 111  # option 1 (an order number, 6 to 10 digits), then 999 more keys
    pcap = sipp_dir / "flood.pcap"
    length_ms = _flood_pcap(pcap, flood)
    presses = f'  <pause milliseconds="1500"/>\n  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>\n'
    scenario = sipp_dir / "flood.xml"
    scenario.write_text((SCENARIOS / "carrier_call_hostile.xml").read_text().replace("  <!-- KEYS -->\n", presses))
    since = time.time() - 1
    started = time.monotonic()
    result = run_sipp(
        str(scenario),
        target,
        "+78005553535",
        f"flood{token}",
        sipp_dir,
        CallScript(hang_up_after_ms=1500 + length_ms),
        extra=("-key", "display", f"F{token}", "-key", "user", "79160001000", "-key", "headers", "X-Flood: 1"),
    )
    assert result.ok, result.output
    record = _wait_for(url, since, lambda r: r["caller_name"] == f"F{token}")
    assert record["outcome"] != "failed", record
    assert record["ivr_path"][0] == {"menu": "support-main", "key": "1"}
    order = record["inputs"]["order_number"]
    assert 6 <= len(order) <= 10 and set(order) <= set("123456789"), order
    assert time.monotonic() - started < 60
    assert "AGI handler failed" not in service.output

    after = uuid.uuid4().hex[:8]
    result = _call(target, sipp_dir / "next", f"next{after}", f"N{after}", "79160001001", ["X-Next: 1"])
    assert result.ok, result.output
    record = _wait_for(url, since, lambda r: r["caller_name"] == f"N{after}")
    assert (record["queue"], record["outcome"]) == ("support", "voicemail")


class _AmiRecorder:
    """A raw AMI session of the test's own, as the service's user (so with its event filters): every chunk
    of bytes Asterisk sends, as received."""

    def __init__(self, settings: Settings, secret: str) -> None:
        self._link = socket.create_connection((settings.ami_host, settings.ami_port), timeout=5)
        self._link.settimeout(0.3)
        self.chunks: list[bytes] = []
        self._stop = threading.Event()
        login = f"Action: Login\r\nUsername: {settings.ami_username}\r\nSecret: {secret}\r\nEvents: on\r\n\r\n"
        self._link.sendall(login.encode())
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._link.recv(65536)
            except TimeoutError:
                continue
            if not data:
                return
            self.chunks.append(data)

    def close(self) -> bytes:
        self._stop.set()
        self._reader.join(5)
        self._link.close()
        return b"".join(self.chunks)


def _parsed_like_the_service(chunks: list[bytes]) -> list[Any]:
    """The messages panoramisk's protocol (the service's AMI client) hands on as events, from these chunks."""
    dispatched: list[Any] = []

    class Factory:
        save_stream = None

        def dispatch(self, event: Any) -> None:
            dispatched.append(event)

    protocol = AMIProtocol()
    protocol.connection_made(None)
    protocol.factory = Factory()
    protocol.encoding = "utf8"  # as panoramisk's Manager sets it
    for chunk in chunks:
        protocol.data_received(chunk)
    return dispatched


# A forged message after a blank line, and a forged Event line inside the real message (one CR LF). ':' is
# escaped too: raw in a URI user part it makes the request malformed, and PJSIP drops it unanswered.
FORGED_MESSAGE = "%0D%0A%0D%0AEvent%3A%20DialEnd%0D%0ADialStatus%3A%20ANSWER%0D%0AUniqueid%3A%20forged-123%0D%0A"
FORGED_LINE = "%0D%0AEvent%3A%20DialEnd%0D%0ADialStatus%3A%20ANSWER%0D%0AUniqueid%3A%20forged-124"


def test_line_breaks_in_caller_data_forge_no_ami_event(
    stack: Stack, service: ServiceProcess, settings: Settings, target: tuple[str, int], sipp_dir: Path
) -> None:
    # PJSIP unescapes a URI user part, and Asterisk writes the caller ID number and the number dialled into AMI
    # unescaped, from Newchannel on, before any dialplan runs (names it escapes). Asterisk's event filter for
    # the service's AMI user (confgen) drops the events that hold such a line break; the dialplan then turns LF
    # into a space, and a bare CR left is no AMI line break.
    url = settings.database_dsn(stack.secrets)
    token = uuid.uuid4().hex[:8]
    calls_made = {  # display name as sent (a quoted-string: no raw line break), From user, extra headers
        "message": (f"M{token}", "1" + FORGED_MESSAGE, ["X-Forged: 1"]),
        "line": (f"L{token}", "2" + FORGED_LINE, ["X-Forged: 1"]),
        # The carrier is trusted for P-Asserted-Identity (trust_id_inbound): it is the caller ID then.
        "asserted": (f"A{token}", "79160000004", [f'P-Asserted-Identity: "A{token}" <sip:4{FORGED_MESSAGE}@x>']),
        "name": (f"N{token}\r%0D%0AEvent: DialEnd", "79160000005", ["X-Forged: 1"]),
    }
    recorder = _AmiRecorder(settings, stack.secrets.ami_secret)
    since = time.time() - 1
    try:
        with ThreadPoolExecutor(len(calls_made) + 1) as pool:
            results = {
                name: pool.submit(_call, target, sipp_dir / name, f"{name}{token}", display, user, headers)
                for name, (display, user, headers) in calls_made.items()
            }
            (sipp_dir / "dialled").mkdir()
            # The number dialled: its channel exists (Newchannel) before extensions.conf refuses it (404).
            refused = pool.submit(
                run_sipp, "carrier_unknown_number.xml", target, "+78005553535" + FORGED_MESSAGE, "79160000006",
                sipp_dir / "dialled",
            )  # fmt: skip
            for name, result in results.items():
                assert result.result().ok, (name, result.result().output)
            assert refused.result().ok, refused.result().output
        for display, _, _ in calls_made.values():
            _wait_for(url, since, lambda r, mark=display[:9]: r["caller_name"].startswith(mark))
        time.sleep(1.0)  # the last Hangup events
    finally:
        raw = recorder.close()

    # What Asterisk sent: no line break of the caller's ends a line; the numbers keep their CRs (no AMI line
    # break), their LFs are spaces (the dialplan's); a name's CR is C-escaped, its %0D%0A left as sent.
    assert b"\r\nUniqueid: forged" not in raw and b"\r\nEvent: DialEnd" not in raw, raw
    assert b"CallerIDNum: 1\r \r Event: DialEnd\r DialStatus: ANSWER\r Uniqueid: forged-123\r\n" in raw
    assert b"CallerIDNum: 2\r Event: DialEnd\r DialStatus: ANSWER\r Uniqueid: forged-124\r\n" in raw
    assert b"CallerIDNum: 4\r \r Event: DialEnd\r DialStatus: ANSWER\r Uniqueid: forged-123\r\n" in raw
    assert f"CallerIDName: N{token}\\r%0D%0AEvent: DialEnd\r\n".encode() in raw
    # What the service's parser makes of it: the callers' events, none forged, none with a second Event.
    events = _parsed_like_the_service(recorder.chunks)
    assert any(event_field(e, "CallerIDName") == f"M{token}" and e.get("Event") == "Hangup" for e in events)
    for event in events:
        assert isinstance(event.get("Event"), str) and event.get("Event") != "DialEnd", dict(event)
        assert "forged" not in event_field(event, "Uniqueid"), dict(event)
    assert "AMI event handler failed" not in service.output
