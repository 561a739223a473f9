"""HTTP for feeds: only http and https (redirects included), a size cap, and downloads that
appear under their final name only once complete.

Time is bounded for the whole transfer, not per read, so a server that trickles bytes can't
hold a run open: a feed or transcript must arrive within the timeout, and an enclosure,
however large, must keep up an average of MIN_RATE once the timeout has passed.
"""
from __future__ import annotations

import http.client
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from .errors import BadInput

TIMEOUT = 30.0                 # seconds to connect, for a feed or transcript in all, and a read may wait
MIN_RATE = 32 << 10            # bytes per second an enclosure must average once TIMEOUT has passed
MAX_FEED_BYTES = 20 << 20      # a feed's XML
MAX_TRANSCRIPT_BYTES = 50 << 20
MAX_MEDIA_BYTES = 2 << 30      # an episode's audio or video
USER_AGENT = "podkb (+https://github.com/podkb/podkb)"
_CHUNK = 1 << 16


def check_url(url: str) -> str:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise BadInput(f"only http and https URLs are followed, not {scheme or 'a bare path'!r}")
    return url


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        try:
            check_url(newurl)
        except BadInput:
            raise BadInput(f"redirect to {newurl[:200]!r} refused: only http and https URLs are followed") from None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_opener = urllib.request.build_opener(_HttpOnlyRedirects)


def _open(url: str, timeout: float):
    check_url(url)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
    try:
        return _opener.open(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if 300 <= error.code < 400 and "not allowed" in str(error.reason):  # urllib refused the target's scheme
            target = (error.headers or {}).get("Location", "?")
            raise BadInput(f"redirect to {target[:200]!r} refused: only http and https URLs are followed") from None
        if 300 <= error.code < 400:  # urllib gives up on a loop, or past its limit of redirections
            raise BadInput(f"too many redirects (the last was HTTP {error.code})") from None
        raise BadInput(f"HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            raise BadInput(f"timed out after {timeout:g} s") from None
        raise BadInput(f"cannot connect: {getattr(reason, 'strerror', None) or reason}") from None
    except TimeoutError:
        raise BadInput(f"timed out after {timeout:g} s") from None
    except (OSError, ValueError, http.client.HTTPException) as error:  # InvalidURL, RemoteDisconnected, ...
        raise BadInput(f"cannot fetch: {error}") from None


def _chunks(response, max_bytes: int, timeout: float, min_rate: float | None = None):
    """The body in chunks, within the size cap and the time allowed: ``timeout`` for all of it,
    or with ``min_rate``, ``timeout`` plus the time that rate needs for what has arrived."""
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise BadInput(f"too large: {int(declared):,} bytes (the limit is {max_bytes:,})")
    began, received = time.monotonic(), 0
    while True:
        allowed = timeout + (received / min_rate if min_rate else 0)
        if time.monotonic() - began > allowed:
            raise BadInput(f"timed out: {received:,} bytes in {time.monotonic() - began:.0f} s"
                           + (f" (under {min_rate / 1024:.0f} KB/s)" if min_rate else f" (the limit is {timeout:g} s)"))
        try:
            # read1 returns what has arrived; read(n) would wait for all n bytes of a trickle.
            chunk = response.read1(_CHUNK)
        except TimeoutError:
            raise BadInput(f"timed out after {timeout:g} s without data") from None
        except (OSError, http.client.HTTPException) as error:  # IncompleteRead: the server hung up early
            raise BadInput(f"download failed: {type(error).__name__}: {error}") from None
        if not chunk:
            break
        received += len(chunk)
        if received > max_bytes:
            raise BadInput(f"too large: over {max_bytes:,} bytes")
        yield chunk
    if declared and declared.isdigit() and received != int(declared):
        raise BadInput(f"truncated: the server announced {int(declared):,} bytes and sent {received:,}")


def fetch(url: str, max_bytes: int, timeout: float = TIMEOUT) -> bytes:
    """The body at ``url``. Raises BadInput with a one-line reason."""
    with _open(url, timeout) as response:
        return b"".join(_chunks(response, max_bytes, timeout))


def download(url: str, dest: Path, max_bytes: int = MAX_MEDIA_BYTES, timeout: float = TIMEOUT,
             expected: int | None = None) -> Path:
    """Save ``url`` to ``dest`` through a temporary file renamed into place once complete and checked.

    ``expected`` is the length the feed announced; a different length is an error, since the file
    is then not the one the feed describes (or the transfer was cut).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    sweep_parts(dest.parent)
    part = dest.with_name(f"{dest.name}.{os.getpid()}.part")
    try:
        with _open(url, timeout) as response, part.open("wb") as out:
            for chunk in _chunks(response, max_bytes, timeout, MIN_RATE):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        size = part.stat().st_size
        if expected and size != expected:
            raise BadInput(f"enclosure length mismatch: the feed says {expected:,} bytes, the server sent {size:,}")
        if size == 0:
            raise BadInput("empty file")
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)
    return dest


def sweep_parts(folder: Path) -> None:
    """Delete what killed downloads left: NAME.PID.part files whose process is gone."""
    for part in folder.glob("*.part"):
        pid = part.suffixes[-2].lstrip(".") if len(part.suffixes) >= 2 else ""
        if not pid.isdigit() or not _alive(int(pid)):
            part.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
