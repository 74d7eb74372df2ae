"""The SIPp scenarios of a load run: the carrier's callers, the agents' desk phones registering, and one
SIPp answering for every agent's phone. Pure: text in, text out.

One SIPp plays all the agents: each phone registers (digest, its own user and password from an injection
file) with the Contact of one address and port, and once the registrations are done a UAS SIPp listens on
that very address and port (a REGISTER scenario cannot receive the later INVITEs, which have Call-IDs of
their own). Asterisk rewrites a contact to where the REGISTER came from, so the address must be the same.
"""

from __future__ import annotations

from bench.load.plan import CallTimings

__all__ = ["DTMF_1_PCAP", "REGISTRATION_SECONDS", "agent_csv", "agent_scenario", "caller_scenario", "register_scenario"]

# SIPp's RFC 4733 event for key 1 (package sip-tester). One key per call, so the sequence numbers the
# pcaps share (tests/e2e/dtmf.py) do not matter here.
DTMF_1_PCAP = "/usr/share/sip-tester/dtmf_2833_1.pcap"

REGISTRATION_SECONDS = 7200  # PJSIP's maximum_expiration: longer than any run


def caller_scenario(caller_prefix: str, timings: CallTimings, bye_timeout_ms: int) -> str:
    """The carrier places a call to [service] from ``caller_prefix`` and the call's number, presses 1
    during the greeting and waits for the call center to hang up (after the agent has)."""
    return f"""<?xml version="1.0" encoding="UTF-8" ?>
<scenario name="load caller">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Load" <sip:{caller_prefix}[call_number]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:{caller_prefix}[call_number]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=carrier 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
      a=sendrecv
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Load" <sip:{caller_prefix}[call_number]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:{caller_prefix}[call_number]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <pause milliseconds="{timings.key_ms}"/>
  <nop><action><exec play_pcap_audio="{DTMF_1_PCAP}"/></action></nop>
  <recv request="BYE" timeout="{bye_timeout_ms}"/>
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
</scenario>
"""


def register_scenario() -> str:
    """One registration per call, the phone's user and password from the injection file (agent_csv)."""
    contact = "Contact: <sip:[field0]@[local_ip]:[local_port]>"
    return f"""<?xml version="1.0" encoding="UTF-8" ?>
<scenario name="load agents register">
  <send retrans="500">
    <![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[field0]@[remote_ip]:[remote_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[field0]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 REGISTER
      {contact}
      Expires: {REGISTRATION_SECONDS}
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="401" auth="true"/>
  <send retrans="500">
    <![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[field0]@[remote_ip]:[remote_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[field0]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 2 REGISTER
      {contact}
      Expires: {REGISTRATION_SECONDS}
      Max-Forwards: 70
      [field1]
      Content-Length: 0
    ]]>
  </send>
  <recv response="200"/>
</scenario>
"""


def agent_csv(passwords: dict[str, str]) -> str:
    """SIPp's injection file: one phone per line, in order."""
    for extension, password in passwords.items():
        if any(character in password + extension for character in ";] \n"):
            raise ValueError(f"phone {extension}: a password SIPp's CSV cannot carry")
    # SIPp does not expand [fieldN] inside a keyword: the whole [authentication ...] keyword is the field.
    return "SEQUENTIAL\n" + "".join(
        f"{extension};[authentication username={extension} password={password}]\n"
        for extension, password in passwords.items()
    )


def agent_scenario(timings: CallTimings) -> str:
    """Every agent's phone: rings for ring_ms, answers, talks for talk_ms, hangs up."""
    return f"""<?xml version="1.0" encoding="UTF-8" ?>
<scenario name="load agents answer">
  <recv request="INVITE">
    <action>
      <ereg regexp=".*" search_in="hdr" header="From:" assign_to="caller_from"/>
      <ereg regexp=".*" search_in="hdr" header="To:" assign_to="phone_to"/>
      <ereg regexp="sip:[^>;]*" search_in="hdr" header="Contact:" assign_to="caller_contact"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port]>
      Content-Length: 0
    ]]>
  </send>
  <pause milliseconds="{timings.ring_ms}"/>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=agent 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:101 telephone-event/8000
    ]]>
  </send>
  <recv request="ACK"/>
  <pause milliseconds="{timings.talk_ms}"/>
  <send retrans="500">
    <![CDATA[
      BYE [$caller_contact] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: [$phone_to];tag=[pid]SIPpTag01[call_number]
      To: [$caller_from]
      Call-ID: [call_id]
      CSeq: 101 BYE
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200"/>
</scenario>
"""
