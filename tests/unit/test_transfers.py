"""callcenter.calls.transfers: the AMI transfer events read, and transfer targets named as the records say."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from callcenter.calls.transfers import Transfer, describe_target, endpoint_of, parse_transfer, queue_for_code
from callcenter.dialplan.loader import load_dialplan
from callcenter.errors import ConfigError

SAMPLE = Path(__file__).resolve().parents[2] / "dialplans"

# As Asterisk 22 sends them (fields that do not matter here left out).
BLIND = {
    "Event": "BlindTransfer",
    "Result": "Success",
    "TransfererChannel": "PJSIP/1001-00000002",
    "TransfererLinkedid": "vm-1795473400.2",
    "TransfereeChannel": "PJSIP/carrier-00000001",
    "TransfereeLinkedid": "vm-1795473400.2",
    "IsExternal": "No",
    "Context": "cc-agent-transfer",
    "Extension": "*73",
}
ATTENDED = {
    "Event": "AttendedTransfer",
    "Result": "Success",
    "OrigTransfererChannel": "PJSIP/1001-00000009",
    "OrigTransfererLinkedid": "vm-1795473429.8",
    "SecondTransfererChannel": "PJSIP/1001-00000009",
    "SecondTransfererContext": "from-phones",
    "SecondTransfererExten": "88005553535",
    "TransfereeChannel": "PJSIP/carrier-00000008",
    "TransfereeLinkedid": "vm-1795473429.8",
    "TransferTargetChannel": "Local/1003@cc-agent-transfer-00000000;1",
    "DestType": "Link",
}


def test_a_blind_transfer_event_names_the_call_the_agent_and_what_they_dialled() -> None:
    assert parse_transfer(BLIND) == Transfer("blind", "vm-1795473400.2", "1001", "*73", "cc-agent-transfer", True)


def test_an_attended_transfer_event_takes_the_target_from_the_consultation_channel() -> None:
    transfer = parse_transfer(ATTENDED)
    assert transfer == Transfer("attended", "vm-1795473429.8", "1001", "1003", "cc-agent-transfer", True)


def test_an_attended_transfer_without_a_local_target_falls_back_to_the_second_transferer() -> None:
    event = {**ATTENDED, "TransferTargetChannel": "PJSIP/1003-0000000a", "SecondTransfererExten": "1003"}
    event["SecondTransfererContext"] = "cc-agent-transfer"
    transfer = parse_transfer(event)
    assert transfer is not None and (transfer.exten, transfer.context) == ("1003", "cc-agent-transfer")


def test_an_attended_transfer_whose_local_channel_was_optimized_away_names_the_target_phone() -> None:
    # As seen from Asterisk 22 when the target answered before the agent hung up: no Local channel left.
    event = {**ATTENDED, "TransferTargetChannel": "PJSIP/1003-0000000a", "SecondTransfererExten": ""}
    transfer = parse_transfer(event)
    assert transfer is not None and (transfer.exten, transfer.context) == ("1003", "cc-agent-transfer")
    other = {**event, "TransferTargetChannel": "PJSIP/carrier-0000000b"}  # not a desk phone: not guessed
    assert parse_transfer(other) == Transfer("attended", "vm-1795473429.8", "1001", "", "", True)


def test_an_attended_transfer_merging_two_bridges_names_whom_the_agent_was_connected_to() -> None:
    # DestType Bridge, as Asterisk 22 sends it when the Local channel is gone: no TransferTarget fields.
    event = {key: value for key, value in ATTENDED.items() if key != "TransferTargetChannel"}
    event.update(DestType="Bridge", SecondTransfererExten="", SecondTransfererConnectedLineNum="1003")
    transfer = parse_transfer(event)
    assert transfer == Transfer("attended", "vm-1795473429.8", "1001", "1003", "cc-agent-transfer", True)


def test_a_failed_transfer_is_marked_and_other_events_are_not_transfers() -> None:
    failed = parse_transfer({**BLIND, "Result": "Fail"})
    assert failed is not None and not failed.ok
    assert parse_transfer({"Event": "DialEnd", "DialStatus": "ANSWER"}) is None


def test_endpoints_are_read_from_pjsip_channel_names_only() -> None:
    assert endpoint_of("PJSIP/1001-0000002a") == "1001"
    assert endpoint_of("Local/1003@cc-agent-transfer-00000000;1") == ""


@pytest.mark.parametrize(
    ("exten", "target"),
    [
        ("1003", "agent:1003"),
        ("*71", "queue:support"),
        ("*73", "queue:sales"),
        ("*79", "exten:*79"),  # no queue has code 9
        ("84951234567", "number:+74951234567"),
        ("74951234567", "number:+74951234567"),
        ("12", "exten:12"),
    ],
)
def test_transfer_targets_are_named_like_the_records_destinations(exten: str, target: str) -> None:
    assert describe_target(exten, load_dialplan(SAMPLE)) == target


def test_a_queue_is_found_by_its_transfer_code() -> None:
    dialplan = load_dialplan(SAMPLE)
    assert (queue_for_code("2", dialplan), queue_for_code("7", dialplan)) == ("orders", None)


def test_two_queues_with_one_transfer_code_are_refused(tmp_path: Path) -> None:
    for source in SAMPLE.glob("*.yaml"):
        shutil.copy(source, tmp_path / source.name)
    queues = tmp_path / "queues.yaml"
    queues.write_text(queues.read_text().replace('transfer_code: "3"', 'transfer_code: "1"'))
    with pytest.raises(ConfigError, match=r"transfer_code 1 is also queue 'support'"):
        load_dialplan(tmp_path)
