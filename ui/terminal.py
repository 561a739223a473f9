"""Text from transcripts is data: never let it drive the terminal."""
from __future__ import annotations

import re

# Every C0 and C1 control (newlines and tabs too: a name with a newline must not forge a second
# line of output), line and paragraph separators, and bidi overrides.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def safe(text: str | None) -> str:
    """Make control characters (newlines, ANSI escapes, bidi overrides) visible instead of active."""
    if text is None:
        return ""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}", text)
