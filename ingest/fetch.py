"""HTTP for feeds: only http and https (redirects included), a timeout on every request, a size cap,
and downloads that appear under their final name only once complete."""
from __future__ import annotations

import http.client
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from .errors import BadInput

TIMEOUT = 30.0                 # seconds to connect, and seconds a read may wait
MIN_RATE = 32 << 10            # bytes per second: a body slower than this overall is a timeout
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
        check_url(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_opener = urllib.request.build_opener(_HttpOnlyRedirects)


def _open(url: str, timeout: float):
    check_url(url)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
    try:
        return _opener.open(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if 300 <= error.code < 400:  # urllib refused the redirect's target
            target = (error.headers or {}).get("Location", "?")
            raise BadInput(f"redirect to {target!r} refused: only http and https URLs are followed") from None
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


def _chunks(response, url: str, max_bytes: int, timeout: float):
    """The body in chunks, enforcing the size cap and an overall deadline (a slow drip is a timeout too)."""
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise BadInput(f"too large: {int(declared):,} bytes (the limit is {max_bytes:,})")
    expected = int(declared) if declared and declared.isdigit() else max_bytes
    deadline = time.monotonic() + timeout + expected / MIN_RATE
    received = 0
    while True:
        try:
            chunk = response.read(_CHUNK)
        except TimeoutError:
            raise BadInput(f"timed out after {timeout:g} s") from None
        except (OSError, http.client.HTTPException) as error:  # IncompleteRead: the server hung up early
            raise BadInput(f"download failed: {type(error).__name__}: {error}") from None
        if not chunk:
            break
        received += len(chunk)
        if received > max_bytes:
            raise BadInput(f"too large: over {max_bytes:,} bytes")
        if time.monotonic() > deadline:
            raise BadInput("timed out: the download is too slow")
        yield chunk
    if declared and declared.isdigit() and received != int(declared):
        raise BadInput(f"truncated: the server announced {int(declared):,} bytes and sent {received:,}")


def fetch(url: str, max_bytes: int, timeout: float = TIMEOUT) -> bytes:
    """The body at ``url``. Raises BadInput with a one-line reason."""
    with _open(url, timeout) as response:
        return b"".join(_chunks(response, url, max_bytes, timeout))


def download(url: str, dest: Path, max_bytes: int = MAX_MEDIA_BYTES, timeout: float = TIMEOUT,
             expected: int | None = None) -> Path:
    """Save ``url`` to ``dest`` through a temporary file renamed into place once complete and checked.

    ``expected`` is the length the feed announced; a different length is an error, since the file
    is then not the one the feed describes (or the transfer was cut).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        with _open(url, timeout) as response, part.open("wb") as out:
            for chunk in _chunks(response, url, max_bytes, timeout):
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
