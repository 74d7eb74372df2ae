"""Report rows as flat records, a text table, CSV or JSON: for the CLI and the web pages alike.

``flat(row, shown)`` gives one row as an ordered mapping of plain values (numbers, strings, None): the
same columns in every format. ``shown`` names the service-level variant put in the ``sl`` column
(``sl_offered`` unless a queue's ``service_level.shown`` says otherwise); all three variants follow it.
Ratios are shares (0..1) in CSV and JSON, percentages in the table; seconds are seconds.

Pure: no I/O, no clock; stdlib only.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from typing import Literal

from callcenter.kpi.report import ReportRow

__all__ = ["Format", "Shown", "Value", "flat", "render", "render_csv", "render_json", "render_table"]

Value = int | float | str | None
Format = Literal["table", "csv", "json"]
Shown = Literal["sl_offered", "sl_answered", "sl_asterisk2"]


def flat(row: ReportRow, shown: Shown = "sl_offered") -> dict[str, Value]:
    c, k = row.contacts, row.kpis
    values: dict[str, Value] = {
        "group": row.key,
        "offered": c.offered,
        "answered": c.answered,
        "abandoned": c.abandoned,
        "short_abandoned": c.short_abandoned,
        "overflowed": c.overflowed,
        "callbacks": c.callbacks,
        "transferred": c.transferred,
        "ring_no_answer": c.ring_no_answer,
        "sl": getattr(k, shown),
        "sl_offered": k.sl_offered,
        "sl_answered": k.sl_answered,
        "sl_asterisk2": k.sl_asterisk2,
        "asa_seconds": k.asa_seconds,
        "max_wait_seconds": c.max_wait_seconds,
        "aht_seconds": k.aht_seconds,
        "talk_seconds": c.talk_seconds,
        "hold_seconds": c.hold_seconds,
        "wrapup_seconds": c.wrapup_seconds,
        "abandonment_rate": k.abandonment_rate,
        "fcr": k.fcr,
        "ivr_calls": row.calls.ivr_calls,
        "containment": row.containment,
        "occupancy": row.occupancy,
        "utilization": row.utilization,
        "logged_in_seconds": row.agent_time.logged_in,
        "paused_seconds": row.agent_time.paused,
        "paused_by_reason": ";".join(f"{r or '-'}={s:g}" for r, s in row.agent_time.paused_by_reason.items()),
        "staffed": row.staffed,
        "agents_needed": row.hint.agents if row.hint is not None else None,
    }
    return values


_RATIOS = {"sl", "sl_offered", "sl_answered", "sl_asterisk2", "abandonment_rate", "fcr", "containment"}
_RATIOS |= {"occupancy", "utilization"}
# The table is for a terminal: the figures people read first, narrow; CSV and JSON carry everything.
_TABLE = (
    ("group", "group"),
    ("offered", "offered"),
    ("answered", "answ"),
    ("abandoned", "aband"),
    ("sl", "SL"),
    ("asa_seconds", "ASA s"),
    ("aht_seconds", "AHT s"),
    ("max_wait_seconds", "max wait"),
    ("abandonment_rate", "aband%"),
    ("fcr", "FCR"),
    ("containment", "IVR cont"),
    ("occupancy", "occup"),
    ("utilization", "util"),
    ("staffed", "staffed"),
    ("agents_needed", "needed"),
)


def _cell(name: str, value: Value) -> str:
    if value is None:
        return "-"
    if name in _RATIOS and isinstance(value, float):
        return f"{value * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _pad(column: int, cell: str, width: int) -> str:
    return cell.ljust(width) if column == 0 else cell.rjust(width)  # the group left, figures right


def render_table(rows: Sequence[ReportRow], shown: Shown = "sl_offered") -> str:
    header = [title if name != "sl" else f"SL ({shown})" for name, title in _TABLE]
    body = [[_cell(name, flat(row, shown)[name]) for name, _ in _TABLE] for row in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(_pad(i, cell, w) for i, (cell, w) in enumerate(zip(line, widths, strict=True)))
        for line in [header, *body]
    ]
    if not body:
        lines.append("(no data in this range)")
    return "\n".join(line.rstrip() for line in lines) + "\n"


def render_csv(rows: Sequence[ReportRow], shown: Shown = "sl_offered") -> str:
    out = io.StringIO()
    columns = list(flat(rows[0], shown)) if rows else ["group"]
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({name: _inert(value) for name, value in flat(row, shown).items()})
    return out.getvalue()


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMERIC = re.compile(r"[+-]?[0-9][0-9.]*")


def _inert(value: Value) -> Value:
    """A cell a spreadsheet will not run: text an agent typed (a pause reason) may start like a formula
    (``=HYPERLINK(...)``); a leading apostrophe keeps it text. Numbers are left as they are."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS) and not _NUMERIC.fullmatch(value):
        return "'" + value  # a line such as +78005553535 is a number to a spreadsheet, not a formula: kept
    return value


def render_json(rows: Sequence[ReportRow], shown: Shown = "sl_offered") -> str:
    data: list[dict[str, object]] = []
    for row in rows:
        values: dict[str, object] = dict(flat(row, shown))
        values["paused_by_reason"] = dict(row.agent_time.paused_by_reason)  # an object in JSON, not joined text
        data.append(values)
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def render(rows: Sequence[ReportRow], format: Format, shown: Shown = "sl_offered") -> str:
    if format == "table":
        return render_table(rows, shown)
    if format == "csv":
        return render_csv(rows, shown)
    return render_json(rows, shown)
