"""Asterisk config that depends on settings, secrets and the dialplan, rendered as text.

asterisk/*.conf in the repository is the readable, fixed part; it #includes
these generated files from /srv/callcenter/run/generated, so addresses, ports,
phones and secrets come from one source and no secret is committed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from pathlib import Path

from callcenter.config import Secrets, Settings
from callcenter.dialplan.model import Dialplan, ToVoicemail

__all__ = [
    "BLOCKED_FILE",
    "PRESENCE_CONTEXT",
    "presence_device",
    "presence_hint",
    "render_blocked",
    "render_config",
    "write_config",
]

# Agents' ACD state as presence (BLF): the service sets a custom device state per agent, and a hint
# on *8<extension> in this context (which from-phones includes) lets phones subscribe to it.
PRESENCE_CONTEXT = "cc-presence"
_PRESENCE_PREFIX = "*8"
# Written by callcenter.security.guard (not by render_config: a dialplan reload must not lift the blocks).
BLOCKED_FILE = "pjsip_blocked.conf"


def presence_device(agent: str) -> str:
    """The custom device whose state is the agent's ACD state (set by callcenter.calls.presence)."""
    return f"Custom:cc-agent-{agent}"


def presence_hint(agent: str) -> str:
    """The extension a phone subscribes to (a BLF key) to watch the agent's ACD state."""
    return f"{_PRESENCE_PREFIX}{agent}"


def _quote(value: str) -> str:
    """Config values are one line; a newline or ';' would end or comment them, brackets open a section."""
    if any(char in value for char in "\r\n;[]\0"):
        raise ValueError(f"{value!r} cannot go into an Asterisk config file")
    return value


def render_config(settings: Settings, secrets: Secrets, dialplan: Dialplan) -> dict[str, str]:
    """File name -> content of every generated file."""
    phones = []
    for person in dialplan.phones():
        extension = person.extension
        password = person.password or secrets.phone_passwords[extension]
        phones.append(
            f"[{extension}](endpoint-common)\n"
            f"context = from-phones\n"
            # by the user it authenticates as, never by an address (phones move; an address is no proof)
            "identify_by = username\n"
            f"auth = {extension}\n"
            f"aors = {extension}\n"
            f'callerid = "{_quote(person.name)}" <{extension}>\n'
            f"\n[{extension}]\ntype = auth\nauth_type = userpass\n"
            f"username = {extension}\npassword = {_quote(password)}\n"
            f"\n[{extension}]\ntype = aor\nmax_contacts = 1\nremove_existing = yes\nqualify_frequency = 0\n"
        )
    return {
        "asterisk_options.conf": f"systemname = {_quote(settings.node)}\n",
        "pjsip_transport.conf": (
            "[transport-udp]\ntype = transport\nprotocol = udp\n"
            f"bind = {_quote(settings.sip_host)}:{settings.sip_port}\n"
        ),
        "pjsip_carrier_match.conf": f"match = {_quote(settings.carrier_address)}\n",
        "pjsip_carrier_aor.conf": (
            "[carrier]\ntype = aor\n"
            f"contact = sip:{_quote(settings.carrier_address)}:{settings.carrier_port}\nqualify_frequency = 0\n"
        ),
        "voicemail_boxes.conf": "[callcenter]\n"
        + "".join(f"{mailbox} => ,{mailbox}\n" for mailbox in _mailboxes(dialplan)),
        "pjsip_phones.conf": "\n".join(phones),
        "manager_general.conf": f"port = {settings.ami_port}\nbindaddr = {_quote(settings.ami_host)}\n",
        "manager_users.conf": (
            f"[{_quote(settings.ami_username)}]\n"
            f"secret = {_quote(secrets.ami_secret)}\n"
            "deny = 0.0.0.0/0.0.0.0\npermit = 127.0.0.0/255.0.0.0\n"
            # security: failed SIP authentications and unknown sources (callcenter/security/ blocks on them)
            "read = system,call,agent,user,config,dtmf,reporting,security\n"
            "write = system,call,agent,user,config,command,reporting,originate\n"
            # Not the dialplan or cdr classes (Newexten, VarSet, Cdr: ~80 events a call the service never
            # reads), nor test and RTCP reports: Asterisk formats and the service parses every event sent.
            + "".join(f"eventfilter(action(exclude),name({name})) =\n" for name in _UNREAD_EVENTS)
            # Asterisk writes a caller ID number and the number dialled into AMI unescaped (SIP's %0D%0A),
            # before any dialplan runs: an event holding a blank line or a second Event line would reach
            # the service as forged events. Only Asterisk still knows where its event ends: it drops them.
            + "".join(f"eventfilter(action(exclude),method(regex)) = {regex}\n" for regex in _FORGED_EVENT_REGEXES)
        ),
        "extensions_globals.conf": f"CC_AGI_URL = agi://{_quote(settings.agi_host)}:{settings.agi_port}\n",
        "extensions_presence.conf": _presence_hints(dialplan),
        "extensions_transfer_numbers.conf": _transfer_numbers(dialplan),
    }


_UNREAD_EVENTS = ("TestEvent", "RTCPSent", "RTCPReceived", "VarSet", "Newexten")
# Matched against a whole event (POSIX ERE): a line Asterisk wrote ends with exactly two control characters
# (CR LF), so four in a row with text after them are a blank line inside the event (three could be a
# caller's trailing tab, which forges nothing: the service's AMI client drops events with repeated fields).
_FORGED_EVENT_REGEXES = ("[[:cntrl:]]{4}[^[:cntrl:]]", "[[:cntrl:]]Event:")


def _transfer_numbers(dialplan: Dialplan) -> str:
    """The outside numbers agents may transfer to, as exact extensions of [cc-agent-transfer] (which
    #includes this file): in both forms an agent dials, 8 and 7 with ten digits. Nothing else goes out."""
    lines = ["; generated from lists.transfer_numbers in dialplans/: the only outside transfer targets"]
    for number in dialplan.lists.transfer_numbers.numbers:
        national = number.removeprefix("+7")
        for dialled in (f"8{national}", f"7{national}"):
            lines.append(f"exten => {dialled},1,Goto(cc-transfer,{number},1)")
    return "\n".join(lines) + "\n"


def render_blocked(blocked: Iterable[str]) -> str:
    """pjsip_blocked.conf: the SIP source addresses the service blocks (callcenter/security/), as a PJSIP ACL
    that refuses every request from them with 403; pjsip.conf #tryincludes it."""
    addresses = sorted(str(ipaddress.ip_address(address)) for address in blocked)
    if not addresses:
        return "; no SIP address is blocked\n"
    lines = ["[cc-blocked]", "type = acl"]
    lines += [f"deny = {address}" for address in addresses]
    return "\n".join(lines) + "\n"


def _presence_hints(dialplan: Dialplan) -> str:
    """One hint per agent. The key is a lamp: dialling it only hangs up (agents are called by extension)."""
    lines = [f"[{PRESENCE_CONTEXT}]"]
    for agent in dialplan.agents:
        hint = presence_hint(agent.extension)
        lines.append(f"exten => {hint},hint,{presence_device(agent.extension)}")
        lines.append(f"exten => {hint},1,Hangup()")
    return "\n".join(lines) + "\n"


def _mailboxes(dialplan: Dialplan) -> list[str]:
    return sorted({action.mailbox for _, action in dialplan.actions() if isinstance(action, ToVoicemail)})


def write_config(directory: Path, files: dict[str, str]) -> None:
    """Write the files, private to root (they hold secrets); replace each atomically."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        target = directory / name
        temporary = target.with_suffix(".tmp")
        temporary.touch(mode=0o600)
        temporary.write_text(text)
        temporary.replace(target)
