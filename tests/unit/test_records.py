"""callcenter.records: the call-detail record and its JSON form (the spool format)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from callcenter.records import (
    AgentEvent,
    Callback,
    CallbackStatus,
    CallRecord,
    CallStep,
    CallUpdate,
    IvrStep,
    Outcome,
    Record,
    StepKind,
    record_from_json,
)

MOSCOW = timezone(timedelta(hours=3))


def record(**changes: Any) -> CallRecord:
    values: dict[str, Any] = {
        "node": "pbx-1",
        "linkedid": "1700000000.1",
        "uniqueid": "1700000000.2",
        "dialled_raw": "88005553535",
        "dialled_number": "+78005553535",
        "caller_number": "+79161234567",
        "caller_name": "Иван Петров",
        "started_at": datetime(2024, 6, 1, 12, 0, 0, 123456, tzinfo=UTC),
        "ended_at": datetime(2024, 6, 1, 15, 1, 30, tzinfo=MOSCOW),
        "outcome": Outcome.COMPLETED,
        "outcome_reason": "message played",
        "answered_at": datetime(2024, 6, 1, 12, 0, 1, tzinfo=UTC),
        "language": "ru",
        "ivr_path": (IvrStep("main", None), IvrStep("main", "9"), IvrStep("main", "2"), IvrStep("sub", "5")),
    }
    values.update(changes)
    return CallRecord(**values)


def test_json_round_trip_gives_an_equal_record() -> None:
    original = record()
    assert CallRecord.from_json(original.to_json()) == original


def test_round_trip_through_json_text_gives_an_equal_record() -> None:
    original = record()
    text = json.dumps(original.to_json(), ensure_ascii=False)
    assert CallRecord.from_json(json.loads(text)) == original


def test_to_json_holds_only_json_types() -> None:
    data = record().to_json()
    assert json.loads(json.dumps(data)) == data


def test_datetimes_are_iso_8601_with_their_offset() -> None:
    data = record().to_json()
    assert data["started_at"] == "2024-06-01T12:00:00.123456+00:00"
    assert data["ended_at"] == "2024-06-01T15:01:30+03:00"


def test_round_trip_keeps_timezone_offsets_and_microseconds() -> None:
    restored = CallRecord.from_json(record().to_json())
    assert restored.started_at.utcoffset() == timedelta(0)
    assert restored.started_at.microsecond == 123456
    assert restored.ended_at.utcoffset() == timedelta(hours=3)
    assert restored.answered_at is not None
    assert restored.answered_at.tzinfo is not None


def test_outcome_is_stored_as_its_string_value_and_restored_as_the_enum() -> None:
    data = record(outcome=Outcome.NO_VALID_INPUT).to_json()
    assert data["outcome"] == "no_valid_input"
    assert type(data["outcome"]) is str
    restored = CallRecord.from_json(data)
    assert restored.outcome is Outcome.NO_VALID_INPUT


@pytest.mark.parametrize("outcome", list(Outcome))
def test_every_outcome_round_trips(outcome: Outcome) -> None:
    assert CallRecord.from_json(record(outcome=outcome).to_json()).outcome is outcome


def test_ivr_path_is_a_list_of_objects_in_json_and_a_tuple_of_steps_after() -> None:
    original = record()
    data = original.to_json()
    assert data["ivr_path"] == [
        {"menu": "main", "key": None},
        {"menu": "main", "key": "9"},
        {"menu": "main", "key": "2"},
        {"menu": "sub", "key": "5"},
    ]
    restored = CallRecord.from_json(data)
    assert isinstance(restored.ivr_path, tuple)
    assert all(isinstance(step, IvrStep) for step in restored.ivr_path)
    assert restored.ivr_path == original.ivr_path


def test_unanswered_call_keeps_answered_at_none() -> None:
    original = record(answered_at=None, outcome=Outcome.REFUSED, ivr_path=())
    data = original.to_json()
    assert data["answered_at"] is None
    assert CallRecord.from_json(data) == original


def test_invalid_dialled_number_is_kept_as_none() -> None:
    original = record(dialled_raw="anonymous", dialled_number=None)
    assert CallRecord.from_json(original.to_json()) == original


def test_from_json_without_ivr_path_gives_an_empty_path() -> None:
    data = record().to_json()
    del data["ivr_path"]
    assert CallRecord.from_json(data).ivr_path == ()


def test_from_json_fills_defaults_for_left_out_optional_fields() -> None:
    data = record().to_json()
    for key in ("outcome_reason", "answered_at", "language"):
        del data[key]
    restored = CallRecord.from_json(data)
    assert restored.outcome_reason == ""
    assert restored.answered_at is None
    assert restored.language == ""


def test_from_json_does_not_modify_its_argument() -> None:
    data = record().to_json()
    snapshot = json.loads(json.dumps(data))
    CallRecord.from_json(data)
    assert data == snapshot


def test_from_json_rejects_an_unknown_outcome() -> None:
    data = record().to_json()
    data["outcome"] = "teleported"
    with pytest.raises(ValueError):
        CallRecord.from_json(data)


def test_to_json_has_every_field() -> None:
    assert set(record().to_json()) == {item.name for item in dataclasses.fields(CallRecord)}


def test_digits_joins_the_keys_in_order_and_skips_timeouts() -> None:
    assert record().digits == "925"


def test_digits_is_empty_without_keys() -> None:
    assert record(ivr_path=()).digits == ""
    assert record(ivr_path=(IvrStep("main", None), IvrStep("main", None))).digits == ""


def test_digits_keeps_star_and_hash() -> None:
    assert record(ivr_path=(IvrStep("m", "*"), IvrStep("m", None), IvrStep("m", "#"))).digits == "*#"


def test_record_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        record().outcome = Outcome.FAILED  # type: ignore[misc]


# --- the other kinds a spool holds ------------------------------------------------------------------------

STEP = CallStep(
    "pbx-1",
    "1700000000.1",
    datetime(2024, 6, 1, 12, 0, 5, tzinfo=UTC),
    StepKind.OFFERED,
    "support",
    agent="1001",
    seconds=3.5,
    result="no_answer",
)
CALLBACK = Callback(
    node="pbx-1",
    callback_id="1700000000.1",
    number="+79161234567",
    queue="support",
    priority=10,
    waiting_since=datetime(2024, 6, 1, 12, 0, 0, tzinfo=MOSCOW),
    status=CallbackStatus.DIALLING,
    attempts=1,
    updated_at=datetime(2024, 6, 1, 12, 5, 0, tzinfo=UTC),
    agent="1002",
    line="+78005553535",
)
UPDATE = CallUpdate(
    "pbx-1", "1700000000.1", ended_at=datetime(2024, 6, 1, 12, 9, tzinfo=UTC), outcome=Outcome.ANSWERED, agent="1001"
)


@pytest.mark.parametrize("kept", [STEP, CALLBACK, UPDATE, AgentEvent("pbx-1", "1001", "paused", "07", STEP.at)])
def test_every_record_kind_comes_back_equal_from_its_spooled_json_line(kept: Record) -> None:
    assert record_from_json(json.loads(json.dumps(kept.to_json()))) == kept


def test_an_update_changes_only_the_fields_it_names() -> None:
    assert UPDATE.changes() == {"ended_at": UPDATE.ended_at, "outcome": "answered", "agent": "1001"}
