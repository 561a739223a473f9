"""Text from transcripts is data: never let it drive the terminal."""
from __future__ import annotations

import re

# Every C0 and C1 control (newlines and tabs too: a name with a newline must not forge a second
# line of output), line and paragraph separators, and bidi overrides.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def safe(text: str | None, keep_newlines: bool = False) -> str:
    """Make control characters (newlines, ANSI escapes, bidi overrides) visible instead of active; a language
    model's answer keeps its line breaks (``keep_newlines``)."""
    if text is None:
        return ""

    def shown(m: re.Match) -> str:
        char = m.group()
        if keep_newlines and char == "\n":
            return char
        return f"\\x{ord(char):02x}" if ord(char) < 256 else f"\\u{ord(char):04x}"
    return _CONTROL.sub(shown, text)
