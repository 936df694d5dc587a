"""Window arithmetic behind the backup / maintenance / snapshot window checks."""

from __future__ import annotations

import pytest

from components import windows


@pytest.mark.parametrize(("window", "minutes"), [
    ("09:10-09:40", 30),
    ("23:30-00:30", 60),  # past midnight
    ("mon:10:10-mon:10:40", 30),
    ("sun:23:50-mon:00:20", 30),  # past the end of the week
    ("Mon:10:10-Mon:10:40", 30),  # the seed's capitalised day
])
def test_length(window: str, minutes: int):
    assert windows.length(window) == minutes


@pytest.mark.parametrize(("first", "second", "overlapping"), [
    ("09:10-09:40", "mon:10:10-mon:10:40", False),  # the seed's pair
    ("09:10-09:40", "mon:09:30-mon:10:00", True),
    ("09:10-09:40", "thu:09:39-thu:10:30", True),  # a daily window recurs every day
    ("09:10-09:40", "mon:09:40-mon:10:10", False),  # touching ends do not overlap
    ("23:30-00:30", "tue:00:10-tue:01:00", True),  # the daily window runs past midnight
    ("23:30-00:30", "sun:23:50-mon:00:20", True),
    ("15:00-16:00", "mon:10:40-mon:11:40", False),
    ("sat:01:00-sat:02:00", "sun:01:00-sun:02:00", False),
])
def test_overlap(first: str, second: str, overlapping: bool):
    assert windows.overlap(first, second) is overlapping
    assert windows.overlap(second, first) is overlapping
