"""Dates and durations, as execo spells them (pure, no subprocess, no TZ tricks)."""

from __future__ import annotations

import datetime
import re
import time

import anyio

__all__ = [
    "Timer",
    "format_date",
    "format_duration",
    "get_seconds",
    "get_unixts",
    "sleep",
]

DateLike = float | int | str | datetime.datetime | None
DurationLike = float | int | str | datetime.timedelta | None

_DURATION = re.compile(r"^(-?)(\d+):(\d{1,2}):(\d{1,2}(?:\.\d*)?)$")
_DATE = re.compile(
    r"^(?:(?:(\d{2}|\d{4})-)?(\d{1,2})-)?(\d{1,2})[Tt ](\d{1,2}):(\d{1,2}):(\d{1,2}(?:\.\d*)?)"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)


def get_seconds(duration: DurationLike) -> float | None:
    """Seconds from a number, a numeric string, ``"H+:MM:SS[.frac]"`` or a timedelta."""
    if duration is None:
        return None
    if isinstance(duration, datetime.timedelta):
        return duration.total_seconds()
    if isinstance(duration, int | float):
        return float(duration)
    text = duration.strip()
    m = _DURATION.match(text)
    if m:
        sign = -1 if m.group(1) else 1
        return sign * (int(m.group(2)) * 3600 + int(m.group(3)) * 60 + float(m.group(4)))
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"not a duration: {duration!r}") from None


def get_unixts(date: DateLike) -> float | None:
    """A unix timestamp from a number (UTC), a numeric string, an RFC-3339-like string
    (missing date parts: today; no zone: local time) or a datetime (naive: local time)."""
    if date is None:
        return None
    if isinstance(date, datetime.datetime):
        return date.timestamp()
    if isinstance(date, int | float):
        return float(date)
    text = date.strip()
    try:
        return float(text)
    except ValueError:
        pass
    m = _DATE.match(text)
    if not m:
        raise ValueError(f"not a date: {date!r}")
    year_s, month_s, day_s, hh, mm, ss, zone = m.groups()
    today = datetime.date.today()
    year = today.year if year_s is None else int(year_s)
    if year_s is not None and len(year_s) == 2:
        year += 1900 if year >= 69 else 2000
    month = today.month if month_s is None else int(month_s)
    seconds = float(ss)
    tz: datetime.tzinfo | None = None
    if zone:
        if zone == "Z":
            tz = datetime.UTC
        else:
            sign = 1 if zone[0] == "+" else -1
            digits = zone[1:].replace(":", "")
            tz = datetime.timezone(
                sign * datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            )
    dt = datetime.datetime(year, month, int(day_s), int(hh), int(mm), int(seconds), tzinfo=tz)
    return dt.timestamp() + (seconds - int(seconds))


def format_date(date: DateLike, showms: bool = False) -> str:
    """Local time, RFC-3339 style with the offset."""
    ts = get_unixts(date)
    if ts is None:
        return "None"
    dt = datetime.datetime.fromtimestamp(ts).astimezone()
    return dt.isoformat(timespec="milliseconds" if showms else "seconds")


def format_duration(duration: DurationLike, showms: bool = False) -> str:
    """``[-]XdYhZmWs``."""
    s = get_seconds(duration)
    if s is None:
        return "None"
    sign = "-" if s < 0 else ""
    s = abs(s)
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    out = sign
    if days:
        out += f"{int(days)}d"
    if days or hours:
        out += f"{int(hours)}h"
    if days or hours or minutes:
        out += f"{int(minutes)}m"
    return out + (f"{secs:.3f}s" if showms else f"{int(secs)}s")


async def sleep(delay: DurationLike = None, until: DateLike = None) -> float:
    """Sleep at least ``delay`` and at least until ``until``; returns the time slept."""
    start = time.time()
    target = start
    d = get_seconds(delay)
    if d is not None:
        target = max(target, start + d)
    u = get_unixts(until)
    if u is not None:
        target = max(target, u)
    await anyio.sleep(max(0.0, target - start))
    return time.time() - start


class Timer:
    """Elapsed time since creation, and what remains of an optional timeout."""

    def __init__(self, timeout: DurationLike = None) -> None:
        self._start = time.time()
        self.timeout = get_seconds(timeout)

    def start_date(self) -> float:
        return self._start

    def elapsed(self) -> float:
        return time.time() - self._start

    def remaining(self) -> float | None:
        if self.timeout is None:
            return None
        return max(0.0, self.timeout - self.elapsed())

    async def wait_elapsed(self, elapsed: DurationLike) -> Timer:
        """Sleep until ``elapsed`` seconds have passed since the timer started."""
        e = get_seconds(elapsed) or 0.0
        await anyio.sleep(max(0.0, e - self.elapsed()))
        return self
