"""The Grid'5000 usage charter periods (pure).

Charter time is 9:00 to 19:00, Europe/Paris, on weekdays that are not French public
holidays; large reservations should avoid it.
"""

from __future__ import annotations

import datetime
import functools
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "PARIS",
    "easter_sunday",
    "french_holidays",
    "g5k_charter_time",
    "charter_periods",
    "get_next_charter_period",
]

PARIS = ZoneInfo("Europe/Paris")
CHARTER_START = datetime.time(9)
CHARTER_END = datetime.time(19)
_FIXED_HOLIDAYS = ((1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25))


def easter_sunday(year: int) -> datetime.date:
    """Easter Sunday of a Gregorian year (the anonymous Gregorian computus)."""
    golden = year % 19
    century, year_in_century = divmod(year, 100)
    leap_c, rem_c = divmod(century, 4)
    moon_correction = (century + 8) // 25
    solar_correction = (century - moon_correction + 1) // 3
    epact = (19 * golden + century - leap_c - solar_correction + 15) % 30
    leap_y, rem_y = divmod(year_in_century, 4)
    weekday = (32 + 2 * rem_c + 2 * leap_y - epact - rem_y) % 7
    shift = (golden + 11 * epact + 22 * weekday) // 451
    month, day = divmod(epact + weekday - 7 * shift + 114, 31)
    return datetime.date(year, month, day + 1)


@functools.cache
def french_holidays(year: int) -> frozenset[datetime.date]:
    """The French public holidays of a year (fixed ones, Easter and Whit Mondays,
    Ascension)."""
    easter = easter_sunday(year)
    movable = (easter + datetime.timedelta(days=d) for d in (1, 39, 50))
    return frozenset([*(datetime.date(year, m, d) for m, d in _FIXED_HOLIDAYS), *movable])


def _is_charter_day(day: datetime.date) -> bool:
    return day.weekday() < 5 and day not in french_holidays(day.year)


def g5k_charter_time(t: float) -> bool:
    """Whether the unix time `t` is in charter time."""
    local = datetime.datetime.fromtimestamp(t, PARIS)
    return _is_charter_day(local.date()) and CHARTER_START <= local.time() < CHARTER_END


def _day_period(day: datetime.date) -> tuple[int, int]:
    start = datetime.datetime.combine(day, CHARTER_START, PARIS)
    end = datetime.datetime.combine(day, CHARTER_END, PARIS)
    return int(start.timestamp()), int(end.timestamp())


def _clipped_periods(start: int, end: int) -> Iterator[tuple[int, int]]:
    day = datetime.datetime.fromtimestamp(start, PARIS).date()
    last = datetime.datetime.fromtimestamp(end, PARIS).date()
    while day <= last:
        if _is_charter_day(day):
            a, b = _day_period(day)
            a, b = max(a, start), min(b, end)
            if b > a:
                yield a, b
        day += datetime.timedelta(days=1)


def charter_periods(start: int, end: int) -> list[tuple[int, int]]:
    """The charter periods within ``[start, end)``, clipped to it, in order."""
    return list(_clipped_periods(start, end))


def get_next_charter_period(start: int, end: int) -> tuple[int, int] | None:
    """The first charter period within ``[start, end)``, clipped to it, or None."""
    return next(_clipped_periods(start, end), None)
