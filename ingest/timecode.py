"""Timestamps: one parser for every format's clock notation, one formatter for output."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone

from .errors import BadInput


class OutOfRange(BadInput):
    """A time no recording can have: the file is damaged, not just one cue."""

_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?$", re.ASCII)
# No recording runs for 1000 hours; a time past that is damage (or an attack on SQLite's integers).
MAX_SECONDS = 1000 * 3600
DATE_FORMS = "YYYY, YYYY-MM or YYYY-MM-DD"
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$", re.ASCII)  # ASCII digits only: "２０２１" sorts apart


def check_time(value: float, shown=None) -> float:
    """``value`` if it is a time a recording can have (0 ≤ t < 1000 h); else BadInput."""
    if not 0 <= value < MAX_SECONDS:
        shown = value if shown is None else shown
        if isinstance(shown, int) and abs(shown) > 10**30:
            shown = f"of about 10^{shown.bit_length() * 3 // 10}"  # str() of a huge int is itself refused
        shown = str(shown)
        shown = shown if len(shown) <= 40 else shown[:20] + f"… ({len(shown)} characters)"
        raise OutOfRange(f"time {shown} is outside 0 to 1000 hours")
    return value


def check_date(value: str) -> str:
    """A date as podkb stores and filters them: YYYY, YYYY-MM or YYYY-MM-DD, and a real one. Else ValueError."""
    match = _DATE.match(value.strip())
    try:
        if not match:
            raise ValueError
        year, month, day = (int(part) if part else 1 for part in match.groups())
        date(year, month, day)
    except ValueError:
        raise ValueError(f"{value.strip()[:40]!r} is not a date: use {DATE_FORMS}") from None
    return value.strip()


def parse_clock(value: str) -> float:
    """'01:02:03.456', '02:03,456', '2:03' or '1:02:03' → seconds, exact to the millisecond."""
    match = _CLOCK.match(value.strip())
    if not match:
        raise BadInput(f"bad timestamp {value.strip()[:40]!r}")
    hours, minutes, seconds, fraction = match.groups()
    if int(minutes) > 59 or int(seconds) > 59:
        raise BadInput(f"bad timestamp {value.strip()[:40]!r}")
    if len(hours or "") > 12:  # int() of thousands of digits is refused, and no such hour is real
        check_time(float("inf"), value.strip())
    millis = int((fraction or "0").ljust(3, "0"))
    total = (int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)) * 1000 + millis
    return check_time(total / 1000, value.strip())


def format_timestamp(seconds: float | None, millis: bool = False, missing: str | None = "--:--") -> str | None:
    """Seconds → 'H:MM:SS' (or 'MM:SS' under an hour), with '.mmm' when asked; ``missing`` for no time.
    The one way podkb writes a time, in citations, transcripts, exports, the web app and the MCP server."""
    if seconds is None:
        return missing
    total_ms = round(seconds * 1000)
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
    return f"{text}.{ms:03d}" if millis else text


def milliseconds(value: float | None) -> int | None:
    """Seconds → whole milliseconds for storage; None stays None."""
    return None if value is None else round(value * 1000)


def seconds(value) -> float | None:
    """A JSON number of seconds, rounded to the millisecond; None stays None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadInput(f"time {str(value)[:40]!r} is not a number of seconds")
    if value != value:
        raise BadInput("time NaN is not a number of seconds")
    check_time(value)  # compares exactly, even an int too large for a float
    return round(float(value), 3)


def utc_now() -> str:
    """Now, in UTC, as the store records it: ISO 8601 to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
