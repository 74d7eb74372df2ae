"""Fuzzing the FastAGI parsing the service relies on: the agi_* environment Asterisk sends at the start of a
session (callcenter.asterisk.agi.parse_environment) and the replies to commands (AgiChannel over a real
socket pair, replies parsed by panoramisk's parse_agi_result as in production).

Caller-controlled values (caller ID, name, the number dialled) reach the environment unescaped; whatever
they hold, the fields Asterisk itself writes (the script, the channel, the unique id, the arguments) keep
Asterisk's values. A garbled reply is an AgiCommandError or AgiHangupError for the handler, never another
exception.
"""

from __future__ import annotations

import asyncio
import socket

from hypothesis import example, given, settings
from hypothesis import strategies as st

from callcenter.asterisk.agi import AgiChannel, AgiCommandError, AgiHangupError, parse_environment

FUZZ = settings(max_examples=300, deadline=None)

# Values a caller may put into the caller ID, name or number dialled: anything but the blank line that ends
# the block (extensions.conf replaces line breaks before the AGI; this is the service's own defence).
caller_values = st.text(max_size=120).map(lambda text: text.replace("\n\n", "\n"))
# Lines forged to look like Asterisk's.
forged = st.lists(
    st.sampled_from(
        [
            *("agi_network_script: agent", "agi_uniqueid: 1.1", "agi_channel: PJSIP/1001-0001", "agi_arg_1: victim"),
            *("agi_extension: +78005553536", "agi_priority: 9", "agi_request: agi://evil/monitor", "garbage"),
        ]
    ),
    max_size=4,
).map("\n".join)

TRUSTED = {
    "agi_network": "yes",
    "agi_network_script": "inbound",
    "agi_request": "agi://127.0.0.1:4573/inbound",
    "agi_channel": "PJSIP/carrier-00000001",
    "agi_language": "en",
    "agi_type": "PJSIP",
    "agi_uniqueid": "vm-1795499916.1",
    "agi_version": "22.5.0",
}
AFTER = {
    "agi_callingpres": "0",
    "agi_callingani2": "0",
    "agi_callington": "0",
    "agi_callingtns": "0",
    "agi_context": "inbound",
}
TAIL = {"agi_priority": "6", "agi_enhanced": "0.0", "agi_accountcode": "", "agi_threadid": "140377", "agi_arg_1": "lk"}


def environment(number: str, name: str, dnid: str, extension: str) -> bytes:
    """An environment block in the order Asterisk 22 writes it (res_agi.c setup_env, FastAGI)."""
    fields = [
        *TRUSTED.items(),
        ("agi_callerid", number),
        ("agi_calleridname", name),
        *list(AFTER.items())[:4],
        ("agi_dnid", dnid),
        ("agi_rdnis", "unknown"),
        ("agi_context", AFTER["agi_context"]),
        ("agi_extension", extension),
        *TAIL.items(),
    ]
    return ("".join(f"{key}: {value}\n" for key, value in fields) + "\n").encode("utf-8", "surrogatepass")


@FUZZ
@given(st.binary(max_size=2000))
def test_any_bytes_parse_to_text_headers_without_raising(block: bytes) -> None:
    headers = parse_environment(block)
    assert all(key.startswith("agi_") and isinstance(value, str) for key, value in headers.items())


@FUZZ
@given(caller_values.filter(lambda v: "\n" not in v), caller_values.filter(lambda v: "\n" not in v))
@example("x\u2028agi_uniqueid: 1\x85agi_network_script: agent", "\u2029\x1c\x1d\x1e\x0b\x0c\r")
def test_caller_values_without_a_newline_come_through_exactly(number: str, name: str) -> None:
    # U+2028, NEL, FS... are line breaks to str.splitlines() but not to Asterisk: one line each.
    headers = parse_environment(environment(number, name, "+78005553535", "+78005553535"))
    assert headers["agi_callerid"] == number
    assert headers["agi_calleridname"] == name
    assert {key: headers[key] for key in TRUSTED} == TRUSTED
    assert {key: headers[key] for key in TAIL} == TAIL


@FUZZ
@given(caller_values, forged, caller_values, forged, forged)
@example("7916", "agi_arg_1: victim\nagi_network_script: monitor", "", "", "agi_arg_1: x")
def test_forged_lines_in_caller_values_never_replace_what_asterisk_wrote(
    number: str, forged_number: str, name: str, forged_name: str, forged_extension: str
) -> None:
    block = environment(
        f"{number}\n{forged_number}", f"{name}\n{forged_name}", "+78005553535", f"+78005553535\n{forged_extension}"
    )
    headers = parse_environment(block)
    assert {key: headers[key] for key in TRUSTED} == TRUSTED
    assert {key: headers[key] for key in TAIL} == TAIL


@FUZZ
@given(caller_values)
def test_a_value_broken_over_lines_is_kept_as_data(name: str) -> None:
    # Lines that are no header continue the value: the record keeps what the caller sent.
    if any(line.partition(": ")[1] and line.startswith("agi_") for line in name.split("\n")[1:]):
        return  # a forged header line: covered above
    headers = parse_environment(environment("79161234567", name, "+78005553535", "+78005553535"))
    assert headers["agi_calleridname"] == name


def test_bytes_that_are_not_utf8_become_replacement_characters() -> None:
    headers = parse_environment(b"agi_network_script: inbound\nagi_calleridname: caf\xe9 \xff\n\n")
    assert headers == {"agi_network_script": "inbound", "agi_calleridname": "caf\ufffd \ufffd"}


# --- replies ---------------------------------------------------------------------------------------------

reply_lines = st.one_of(
    st.binary(max_size=300),
    st.builds(
        lambda code, rest: f"{code} {rest}".encode(errors="surrogateescape"),
        st.sampled_from(["200", "100", "510", "511", "520", "520-Invalid", "999", "000"]),
        st.text(max_size=200),
    ),
    st.sampled_from(
        [
            b"200 result=",
            b"200 result=-1",
            b"200 result=1 (",
            b"200 result=1 (x",
            b"200 result=99999999999999999999",
            b"200 result=abc",
            b"200 result=0 endpos=",
            b"HANGUP",
            b"520-Invalid command\n",
            b"200 result=1 (a) (b)",
        ]
    ),
)


async def _replies(command: str, replies: list[bytes]) -> object:
    """Send one command on a real socket pair; the far end answers with ``replies`` and closes."""
    ours, theirs = socket.socketpair()
    reader, writer = await asyncio.open_connection(sock=ours)
    theirs.sendall(b"\n".join(replies) + b"\n")
    theirs.close()
    channel = AgiChannel(reader, writer, {}, command_timeout=2.0)
    try:
        if command == "stream":
            return await channel.stream_file("beep", "0123456789")
        if command == "wait":
            return await channel.wait_for_key(1)
        if command == "get":
            return await channel.get_variable("DIALSTATUS")
        return await channel.get_data("beep", 1, 10)
    except (AgiCommandError, AgiHangupError) as error:
        return error
    finally:
        writer.close()


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["stream", "wait", "get", "data"]), st.lists(reply_lines, min_size=1, max_size=4))
def test_any_reply_is_a_result_or_an_agi_error_never_a_crash(command: str, replies: list[bytes]) -> None:
    outcome = asyncio.run(_replies(command, replies))
    assert outcome is None or isinstance(outcome, str | AgiCommandError | AgiHangupError)
    if isinstance(outcome, str) and command in ("stream", "wait"):
        assert len(outcome) == 1 and ord(outcome) < 128
