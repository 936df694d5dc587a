"""Maintenance, backup and snapshot windows: their length and whether two of them overlap.

RDS rejects a backup window shorter than 30 minutes, a maintenance window shorter than 30 minutes
and the two overlapping (CreateDBInstance: "Must not conflict with the preferred backup window");
ElastiCache wants snapshot and maintenance windows of at least 60 minutes. Settings check these up
front so a bad pair fails before any resource exists, not half-way through `pulumi up`.

A daily window (`hh:mm-hh:mm`) recurs every day of the week; a weekly one (`ddd:hh:mm-ddd:hh:mm`)
once. Both are turned into minute ranges within one week (wrapping past Sunday midnight) to compare.
"""

from __future__ import annotations

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEK = 7 * 24 * 60
DAY = 24 * 60


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _span(start: int, end: int, period: int) -> tuple[int, int]:
    """(start, length) with the length taken forward, wrapping at `period` (23:30-00:30 is 60 minutes)."""
    return start, (end - start) % period


def daily(window: str) -> tuple[int, int]:
    """`hh:mm-hh:mm` -> (start minute of the day, length in minutes)."""
    start, end = window.split("-")
    return _span(_minutes(start), _minutes(end), DAY)


def weekly(window: str) -> tuple[int, int]:
    """`ddd:hh:mm-ddd:hh:mm` -> (start minute of the week, length in minutes)."""
    start, end = window.lower().split("-")

    def at(point: str) -> int:
        day, clock = point.split(":", 1)
        return DAYS.index(day) * DAY + _minutes(clock)

    return _span(at(start), at(end), WEEK)


def length(window: str) -> int:
    """Minutes in a daily or weekly window."""
    return (weekly(window) if window[:1].isalpha() else daily(window))[1]


def _ranges(window: str) -> list[tuple[int, int]]:
    """Minute ranges [start, end) within the week, a daily window repeated on every day."""
    if window[:1].isalpha():
        starts = [weekly(window)]
    else:
        start, span = daily(window)
        starts = [(start + day * DAY, span) for day in range(7)]
    ranges = []
    for start, span in starts:
        end = start + span
        ranges.append((start, min(end, WEEK)))
        if end > WEEK:  # wraps past Sunday midnight into Monday
            ranges.append((0, end - WEEK))
    return ranges


def overlap(first: str, second: str) -> bool:
    """Whether two windows (daily or weekly, in any combination) share at least one minute."""
    return any(a < d and c < b for a, b in _ranges(first) for c, d in _ranges(second))
