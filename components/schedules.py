"""Schedule expressions and time zones for EventBridge Scheduler, checked before anything is deployed.

AWS only rejects a bad expression when the schedule is created, halfway through `pulumi up`; these
checks follow the EventBridge cron reference ("Cron expressions reference", six fields
`minutes hours day-of-month month day-of-week year`, checked 2026-11):

    field          values              wildcards
    minutes        0-59                , - * /
    hours          0-23                , - * /
    day-of-month   1-31                , - * ? / L W
    month          1-12 or JAN-DEC     , - * /
    day-of-week    1-7 or SUN-SAT      , - * ? L #
    year           1970-2199           , - * /

plus the rule that day-of-month and day-of-week cannot both be given: exactly one of them is `?`.
`rate(value unit)` takes a positive integer and minute(s), hour(s) or day(s), singular exactly
when the value is 1.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from dataclasses import dataclass

_RATE = re.compile(r"rate\((?P<value>\d+) (?P<unit>minute|minutes|hour|hours|day|days)\)")
_CRON = re.compile(r"cron\((?P<fields>[^()]*)\)")

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


@dataclass(frozen=True)
class _Field:
    label: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    step: bool = True  # the / wildcard


_FIELDS = (
    _Field("minutes", 0, 59),
    _Field("hours", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, _MONTHS),
    _Field("day-of-week", 1, 7, _DAYS, step=False),
    _Field("year", 1970, 2199),
)


def _value(token: str, field: _Field) -> bool:
    if token in field.names:
        return True
    return token.isdigit() and field.low <= int(token) <= field.high


def _plain_item(item: str, field: _Field) -> bool:
    """`*`, `v`, `a-b`, optionally followed by `/step` where the field allows it."""
    base, slash, step = item.partition("/")
    if slash and not (field.step and step.isdigit() and int(step) >= 1):
        return False
    if base == "*":
        return True
    low, dash, high = base.partition("-")
    return _value(low, field) and (not dash or _value(high, field))


def _item(item: str, field: _Field) -> bool:
    if field.label == "day-of-month" and re.fullmatch(r"L|LW|L-\d{1,2}|\d{1,2}W", item):
        digits = re.sub(r"\D", "", item)
        return not digits or 1 <= int(digits) <= 31
    if field.label == "day-of-week":
        special = re.fullmatch(r"(?P<day>[0-9A-Z]+)(#(?P<nth>[1-5])|L)|L", item)
        if special:
            return item == "L" or _value(special["day"], field)
    return _plain_item(item, field)


def _cron_problem(fields_text: str) -> str | None:
    fields = fields_text.split()
    if len(fields) != len(_FIELDS):
        return f"cron() takes 6 fields (minutes hours day-of-month month day-of-week year), got {len(fields)}"
    for text, field in zip(fields, _FIELDS, strict=True):
        if text == "?":
            if field.label not in ("day-of-month", "day-of-week"):
                return f"? is only allowed in day-of-month and day-of-week, not in {field.label}"
            continue
        items = text.split(",")
        if "#" in text and len(items) > 1:
            return f"a day-of-week with # takes a single expression, not a list ({text})"
        bad = [item for item in items if not _item(item, field)]
        if bad:
            names = f" or {field.names[0]}-{field.names[-1]}" if field.names else ""
            return f"{field.label} {bad[0]!r} is not valid ({field.low}-{field.high}{names} with the allowed wildcards)"
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        return "exactly one of day-of-month and day-of-week must be ? (e.g. cron(0 3 * * ? *))"
    return None


def schedule_problem(expression: str) -> str | None:
    """None when EventBridge accepts `expression`, else what is wrong with it and what is allowed."""
    rate = _RATE.fullmatch(expression)
    if rate:
        value, unit = int(rate["value"]), rate["unit"]
        if value < 1:
            return "rate() takes a positive value"
        if (value == 1) != (not unit.endswith("s")):
            return "rate() takes a singular unit for 1 (rate(1 hour)) and a plural one otherwise (rate(2 hours))"
        return None
    cron = _CRON.fullmatch(expression)
    if cron:
        return _cron_problem(cron["fields"])
    return "rate(N minutes|hours|days) or cron(minutes hours day-of-month month day-of-week year)"


@functools.cache
def _known_timezones() -> frozenset[str]:
    """The zone database's names, read once: available_timezones() walks the whole database each call."""
    return frozenset(zoneinfo.available_timezones())


def timezone_problem(name: str) -> str | None:
    """None for an IANA time zone name (the ones EventBridge Scheduler accepts), else what is allowed.

    The check uses the system's zone database when there is one (it is optional on some platforms);
    without it only the shape of the name is checked.
    """
    known = _known_timezones()
    if known:
        return None if name in known else "an IANA time zone such as UTC, Europe/Paris or Asia/Tokyo"
    return None if re.fullmatch(r"UTC|[A-Z][A-Za-z_+-]+(/[A-Za-z0-9_+-]+){1,2}", name) else \
        "an IANA time zone such as UTC, Europe/Paris or Asia/Tokyo"
