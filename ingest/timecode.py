"""Timestamps: one parser for every format's clock notation, one formatter for output."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from .errors import BadInput

_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?$")


def parse_clock(value: str) -> float:
    """'01:02:03.456', '02:03,456', '2:03' or '1:02:03' → seconds, exact to the millisecond."""
    match = _CLOCK.match(value.strip())
    if not match:
        raise BadInput(f"bad timestamp {value.strip()[:40]!r}")
    hours, minutes, seconds, fraction = match.groups()
    if int(minutes) > 59 or int(seconds) > 59:
        raise BadInput(f"bad timestamp {value.strip()[:40]!r}")
    millis = int((fraction or "0").ljust(3, "0"))
    total = (int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)) * 1000 + millis
    return total / 1000


def format_timestamp(seconds: float | None, millis: bool = False) -> str:
    """Seconds → 'H:MM:SS' (or 'MM:SS' under an hour), with '.mmm' when asked."""
    if seconds is None:
        return "--:--"
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
    if value != value or value < 0 or value == float("inf"):
        raise BadInput(f"time {value!r} is not a valid number of seconds")
    return round(float(value), 3)


def utc_now() -> str:
    """Now, in UTC, as the store records it: ISO 8601 to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
