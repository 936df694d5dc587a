"""Schedule expressions and time zones: what EventBridge Scheduler accepts, checked before deploying."""

from __future__ import annotations

import zoneinfo

import pytest

from components.schedules import schedule_problem, timezone_problem


@pytest.mark.parametrize("expression", [
    "rate(2 minutes)",  # the seed's batch
    "rate(1 minute)", "rate(1 hour)", "rate(1 day)", "rate(12 hours)",
    "cron(0 3 * * ? *)",  # every day at 03:00
    "cron(0/15 * ? * MON-FRI *)",  # every 15 minutes on weekdays
    "cron(0 18 ? * MON-FRI *)",
    "cron(15 10 L * ? *)",  # last day of the month
    "cron(0 0 1W * ? *)",  # weekday nearest the first
    "cron(0 10 ? * 6L 2026-2030)",  # last Friday, some years
    "cron(0 10 ? * 3#2 *)",  # second Tuesday
    "cron(0,30 8-17 ? JAN,JUL * *)",
])
def test_valid_expressions(expression: str):
    assert schedule_problem(expression) is None


@pytest.mark.parametrize(("expression", "complaint"), [
    ("rate(1 minutes)", "singular unit for 1"),
    ("rate(5 minute)", "plural"),
    ("rate(0 minutes)", "positive"),
    ("rate(2 weeks)", "rate(N minutes|hours|days)"),
    ("every 2m", "rate(N minutes|hours|days) or cron("),
    ("*/2 * * * *", "rate(N minutes|hours|days) or cron("),
    ("cron(0 3 * *)", "6 fields"),
    ("cron(0 3 * * * *)", "exactly one of day-of-month and day-of-week must be ?"),
    ("cron(0 3 ? * ? *)", "exactly one of day-of-month and day-of-week must be ?"),
    ("cron(60 3 * * ? *)", "minutes '60'"),
    ("cron(0 24 * * ? *)", "hours '24'"),
    ("cron(0 3 32 * ? *)", "day-of-month '32'"),
    ("cron(0 3 * 13 ? *)", "month '13'"),
    ("cron(0 3 ? * 8 *)", "day-of-week '8'"),
    ("cron(0 3 ? * MON/2 *)", "day-of-week 'MON/2'"),  # no / in day-of-week
    ("cron(0 3 * * ? 1969)", "year '1969'"),
    ("cron(? 3 * * ? *)", "? is only allowed"),
    ("cron(0 0 ? * 1,3#2 *)", "single expression"),
])
def test_invalid_expressions_say_what_is_wrong(expression: str, complaint: str):
    problem = schedule_problem(expression)
    assert problem is not None and complaint in problem


def test_time_zones_are_iana_names():
    assert timezone_problem("UTC") is None
    assert timezone_problem("Asia/Tokyo") is None
    assert timezone_problem("America/Argentina/Buenos_Aires") is None
    # Without a zone database (optional on some systems) only the shape is checked.
    invented = ("Mars/Olympus_Mons",) if zoneinfo.available_timezones() else ()
    for bad in (*invented, "JST+9", "asia/tokyo", ""):
        assert timezone_problem(bad) == "an IANA time zone such as UTC, Europe/Paris or Asia/Tokyo"
