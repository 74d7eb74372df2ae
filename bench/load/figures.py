"""Reading what the load run measured: SIPp's statistics file, the service's AGI histogram, memory samples.

Pure: functions of text and numbers, tested synchronously (tests/unit/test_load_figures.py).
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "Histogram",
    "SippStats",
    "agi_histograms",
    "media_bound",
    "memory_growth",
    "merged",
    "parse_sipp_stats",
]

# AGI commands whose round trip lasts as long as the media they play, the keys they wait for or the
# application they run (a Dial lasts the conversation; ANSWER waits for the caller's first audio): not a
# measure of the service's speed. Labels are callcenter.asterisk.agi.command_label's: SET VARIABLE,
# GET VARIABLE (instant), GET DATA (waits for keys), EXEC Dial, ...
_MEDIA_BOUND_FIRST_WORDS = frozenset(
    {"ANSWER", "EXEC", "STREAM", "WAIT", "SAY", "RECORD", "CONTROL", "SPEECH", "RECEIVE"}
)
_MEDIA_BOUND_LABELS = frozenset({"GET DATA", "GET OPTION"})


def media_bound(label: str) -> bool:
    """Whether an AGI command's round trip is set by media or a caller, not by the service."""
    return label in _MEDIA_BOUND_LABELS or label.split(" ", 1)[0] in _MEDIA_BOUND_FIRST_WORDS


@dataclass(frozen=True)
class SippStats:
    """The last line of SIPp's -trace_stat file: cumulative counts since it started."""

    created: int
    current: int
    successful: int
    failed: int
    max_current: int  # the highest CurrentCall over every line of the file

    @property
    def ended(self) -> int:
        return self.successful + self.failed


def parse_sipp_stats(text: str) -> SippStats:
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        raise ValueError("no statistics in SIPp's file yet")
    header = lines[0].rstrip(";").split(";")
    rows = [dict(zip(header, line.rstrip(";").split(";"), strict=False)) for line in lines[1:]]
    last = rows[-1]
    return SippStats(
        created=int(last["TotalCallCreated"]),
        current=int(last["CurrentCall"]),
        successful=int(last["SuccessfulCall(C)"]),
        failed=int(last["FailedCall(C)"]),
        max_current=max(int(row["CurrentCall"]) for row in rows),
    )


@dataclass(frozen=True)
class Histogram:
    """One Prometheus histogram: cumulative counts per upper bound (seconds), +Inf last."""

    bounds: tuple[float, ...]
    cumulative: tuple[float, ...]

    @property
    def count(self) -> float:
        return self.cumulative[-1] if self.cumulative else 0.0

    def minus(self, earlier: Histogram) -> Histogram:
        """What was observed since ``earlier`` (the same series scraped before)."""
        if earlier.bounds != self.bounds:
            raise ValueError("histograms with different buckets")
        return Histogram(self.bounds, tuple(a - b for a, b in zip(self.cumulative, earlier.cumulative, strict=True)))

    def plus(self, other: Histogram) -> Histogram:
        if other.bounds != self.bounds:
            raise ValueError("histograms with different buckets")
        return Histogram(self.bounds, tuple(a + b for a, b in zip(self.cumulative, other.cumulative, strict=True)))

    def bucket_bound(self, quantile: float) -> float:
        """The smallest bucket bound at or under which ``quantile`` of the observations fall."""
        rank = quantile * self.count
        for bound, cumulative in zip(self.bounds, self.cumulative, strict=True):
            if cumulative >= rank:
                return bound
        return math.inf

    def estimate(self, quantile: float) -> float:
        """Prometheus' histogram_quantile: linear within the bucket the rank falls in (a bucket's lower
        edge is the bound before it; the first bucket starts at 0)."""
        if self.count == 0:
            return math.nan
        rank = quantile * self.count
        lower, below = 0.0, 0.0
        for bound, cumulative in zip(self.bounds, self.cumulative, strict=True):
            if cumulative >= rank:
                if math.isinf(bound):
                    return lower  # beyond the last finite bound: all that can be said
                inside = cumulative - below
                return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
            lower, below = bound, cumulative
        return math.inf

    def share_within(self, seconds: float) -> float:
        """The share of observations at or under ``seconds`` (a bucket bound)."""
        if self.count == 0:
            return math.nan
        for bound, cumulative in zip(self.bounds, self.cumulative, strict=True):
            if math.isclose(bound, seconds):
                return cumulative / self.count
        raise ValueError(f"{seconds} is not a bucket bound of {self.bounds}")


_BUCKET = re.compile(r"^callcenter_agi_command_seconds_bucket\{(?P<labels>[^}]*)\}\s+(?P<value>\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def agi_histograms(exposition: str) -> dict[str, Histogram]:
    """callcenter_agi_command_seconds per command label, from the /metrics text."""
    buckets: dict[str, dict[float, float]] = {}
    for line in exposition.splitlines():
        match = _BUCKET.match(line)
        if match is None:
            continue
        labels = dict(_LABEL.findall(match["labels"]))
        bound = math.inf if labels["le"] == "+Inf" else float(labels["le"])
        buckets.setdefault(labels["command"], {})[bound] = float(match["value"])
    histograms = {}
    for command, counts in buckets.items():
        bounds = tuple(sorted(counts))
        histograms[command] = Histogram(bounds, tuple(counts[bound] for bound in bounds))
    return histograms


def merged(histograms: Iterable[Histogram]) -> Histogram | None:
    total: Histogram | None = None
    for histogram in histograms:
        total = histogram if total is None else total.plus(histogram)
    return total


def memory_growth(samples: Sequence[float], edge: float = 0.2) -> tuple[float, float]:
    """(median of the first ``edge`` of the samples, median of the last): the hold's start and end memory,
    each over several samples so one allocation burst does not decide."""
    if not samples:
        raise ValueError("no memory samples")
    size = max(1, int(len(samples) * edge))
    return statistics.median(samples[:size]), statistics.median(samples[-size:])
