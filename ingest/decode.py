"""Bytes → text, refusing what is not a transcript and decoding what can be decoded."""
from __future__ import annotations

import codecs
from dataclasses import dataclass, field

from .errors import BadInput

MAX_BYTES = 100 * 1024 * 1024
# A text transcript breaks lines at least every few thousand words; a longer line is
# almost always a dump or an attack, and would stall every later stage. JSON is exempt.
MAX_LINE_CHARS = 1_000_000

_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
]

_MAGIC = [
    (b"ID3", "audio (MP3)"),
    (b"\xff\xfb", "audio (MP3)"),
    (b"\xff\xf3", "audio (MP3)"),
    (b"fLaC", "audio (FLAC)"),
    (b"OggS", "audio (Ogg)"),
    (b"RIFF", "audio (WAV)"),
    (b"\x1aE\xdf\xa3", "media (WebM/Matroska)"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x89PNG", "an image (PNG)"),
    (b"\xff\xd8\xff", "an image (JPEG)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"SQLite format 3", "an SQLite database"),
]


@dataclass
class Decoded:
    text: str
    encoding: str
    warnings: list[str] = field(default_factory=list)


def sniff_magic(data: bytes) -> str | None:
    """Name the kind of file its first bytes announce, or None."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data[4:8] == b"ftyp":
        return "media (MP4/M4A)"
    return None


def sniff_binary(data: bytes) -> str | None:
    """Name the kind of binary file ``data`` is, or None if it may be text."""
    kind = sniff_magic(data)
    if kind:
        return kind
    head = data[:8192]
    if b"\x00" in head:
        return "binary data"
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    if head and controls / len(head) > 0.05:
        return "binary data"
    return None


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 text with no BOM shows as NULs in every other byte."""
    if len(head) < 16:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def check_size(size: int) -> None:
    """Refuse an empty or oversized transcript by its size alone, before anything is read."""
    if size == 0:
        raise BadInput("empty file")
    if size > MAX_BYTES:
        raise BadInput(f"file is {size / 2**20:,.0f} MB; the limit is {MAX_BYTES // 2**20} MB")


def decode(data: bytes) -> Decoded:
    check_size(len(data))
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _decode_as(data[len(bom):], encoding)
    magic = sniff_magic(data)
    if magic:
        raise BadInput(f"not a transcript: looks like {magic}")
    utf16 = _utf16_without_bom(data[:4096])
    if utf16:
        return _decode_as(data, utf16, note=f"no byte-order mark; read as {utf16.upper()}")
    kind = sniff_binary(data)
    if kind:
        raise BadInput(f"not a transcript: looks like {kind}")
    nul = data.find(b"\x00")  # past the sniffed head too: text has no NUL bytes anywhere
    if nul >= 0:
        raise BadInput(f"not a transcript: a NUL byte at byte {nul:,} (binary data)")
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError as error:
        return _decode_damaged(data, error)


def _decode_as(data: bytes, encoding: str, note: str | None = None) -> Decoded:
    text = data.decode(encoding, errors="replace")
    warnings = [note] if note else []
    bad = text.count("\ufffd")
    if bad:
        warnings.append(f"{bad} undecodable character(s) in {encoding.upper()} text replaced with U+FFFD")
    return Decoded(text, encoding, warnings)


def _decode_damaged(data: bytes, error: UnicodeDecodeError) -> Decoded:
    """Invalid UTF-8: either mostly UTF-8 with a few broken bytes, or a legacy 8-bit file."""
    replaced = data.decode("utf-8", errors="replace")
    bad = replaced.count("\ufffd")
    multibyte = sum(1 for ch in replaced if ord(ch) > 127 and ch != "\ufffd")
    if multibyte > bad:
        where = f"first at byte {error.start}"
        return Decoded(replaced, "utf-8", [f"{bad} invalid UTF-8 byte sequence(s) replaced ({where})"])
    text = data.decode("cp1252", errors="replace")
    return Decoded(text, "cp1252", ["not valid UTF-8; read as Latin-1 (Windows-1252)"])


def check_lines(text: str) -> None:
    longest, start = 0, 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        longest, start = max(longest, end - start), end + 1
    if longest > MAX_LINE_CHARS:
        raise BadInput(
            f"a single line of {longest / 1e6:.0f} million characters; "
            f"text transcripts are limited to {MAX_LINE_CHARS // 1_000_000} million per line"
        )


def well_formed(text: str | None) -> str | None:
    """``text`` with each lone surrogate ('\\ud800', as a broken client or terminal sends them), which
    tokenizers and SQLite refuse to encode, made a '?'; everything else is kept as it is."""
    if text is None or text.isascii():
        return text
    return text.encode("utf-8", "replace").decode("utf-8")


def text(value):
    """The one well-formedness rule for text that enters the store: a lone surrogate (a JSON escape
    such as "\\udcff", a broken terminal's byte) becomes '?', which SQLite can encode; the rest stays."""
    return well_formed(value) if isinstance(value, str) else value


def one_line(value: str | None) -> str:
    """A name as one line of printable text (``text``'s rule, then 'a\nb' is 'a b'): a title, a speaker, a
    collection."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in (text(value) or "")).split())


def typed_name(value: str | None, what: str, limit: int, clear: bool = False) -> str | None:
    """A title, show, speaker or collection name as a person typed it: one line of printable text (None:
    not given; '' with ``clear``: remove it). ValueError when it is empty or longer than ``limit``."""
    if value is None:
        return None
    name = one_line(value)
    if not name and not clear:
        raise ValueError(f"the {what} is empty")
    if len(name) > limit:
        raise ValueError(f"a {what} has at most {limit} characters")
    return name
