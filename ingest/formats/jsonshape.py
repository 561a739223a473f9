"""Helpers for reading JSON transcripts whose shape is not guaranteed."""
from __future__ import annotations

import json

from ..errors import BadInput


class NotJson(BadInput):
    """The text does not parse as JSON at all (as opposed to JSON of the wrong shape)."""


def load(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        truncated = error.pos >= len(text.rstrip()) - 1 or error.msg.startswith("Unterminated")
        reason = "truncated JSON" if truncated else "invalid JSON"
        raise NotJson(f"{reason}: {error.msg} at line {error.lineno} column {error.colno}") from None
    except RecursionError:
        raise NotJson("invalid JSON: nested too deeply") from None
    except ValueError as error:  # an integer of thousands of digits: Python refuses to convert it
        raise NotJson(f"invalid JSON: {str(error).split(';')[0]}") from None


def take(items: list):
    """Each item of ``items``, dropping the list's hold on it as it goes, so a long file's parsed
    objects are freed while its segments are built instead of all staying alive to the end."""
    for n in range(len(items)):
        item, items[n] = items[n], None
        yield n, item


def first_segment(data, allow_list: bool = False) -> dict:
    """The first item of ``data["segments"]`` (or of ``data`` itself, if a list is allowed), or {}."""
    segments = data.get("segments") if isinstance(data, dict) else (data if allow_list else None)
    if isinstance(segments, list) and segments and isinstance(segments[0], dict):
        return segments[0]
    return {}


def field(item: dict, key: str, kind, where: str, required: bool = True):
    value = item.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BadInput(f"{where}: '{key}' is missing or not a {_name(kind)}")
    return value


def _name(kind) -> str:
    names = {str: "string", list: "list", dict: "object"}
    if isinstance(kind, tuple):
        return "number"
    return names.get(kind, kind.__name__)


NUMBER = (int, float)
