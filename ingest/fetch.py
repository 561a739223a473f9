"""HTTP for feeds: only http and https (redirects included), only public addresses, a size cap, and
downloads that appear under their final name only once complete.

A feed names URLs that podkb then fetches, so a feed could point it at the user's own network
(a router's admin page, a cloud's metadata service at 169.254.169.254, a service on 127.0.0.1)
and store the answer as a transcript. Every connection, redirects included, is checked after the
name is resolved and before a byte is sent: loopback, private, link-local, multicast and other
non-public addresses are refused unless ``allow_private`` (``--allow-private``, for people who host
their feeds on their own network). Checking the address actually connected to, not the name,
also defeats a name that resolves to a public address once and a private one the next time.

Time is bounded for the whole transfer, not per read, so a server that trickles bytes can't
hold a run open: a feed or transcript must arrive within the timeout, and an enclosure,
however large, must keep up an average of MIN_RATE once the timeout has passed.
"""
from __future__ import annotations

import http.client
import ipaddress
import os
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from .errors import BadInput
from .files import replacing

TIMEOUT = 30.0                 # seconds to connect, for a feed or transcript in all, and a read may wait
MIN_RATE = 32 << 10            # bytes per second an enclosure must average once TIMEOUT has passed
MAX_FEED_BYTES = 20 << 20      # a feed's XML
MAX_TRANSCRIPT_BYTES = 50 << 20
MAX_MEDIA_BYTES = 2 << 30      # an episode's audio or video
USER_AGENT = "podkb (+https://github.com/podkb/podkb)"
_CHUNK = 1 << 16
PUBLIC_ONLY = ("podkb fetches feeds only from public addresses (--allow-private, or PODKB_ALLOW_PRIVATE=1, to "
               "fetch from your own network)")


def check_url(url: str) -> str:
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError as error:  # 'http://[fe80::1/x.mp3'
        raise BadInput(f"not a URL: {error}") from None
    if scheme not in ("http", "https"):
        raise BadInput(f"only http and https URLs are followed, not {scheme or 'a bare path'!r}")
    return url


def refused(address: str) -> str | None:
    """Why podkb won't connect to ``address`` (an IP) unless told to, or None for a public address."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for test, kind in (("is_loopback", "a loopback"), ("is_link_local", "a link-local"), ("is_multicast", "a multicast"),
                       ("is_unspecified", "an unspecified"), ("is_private", "a private"), ("is_reserved", "a reserved")):
        if getattr(ip, test):
            return f"{kind} address"
    if not ip.is_global:
        return "a non-public address"
    return None


def _guarded_connection(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None, **kw):
    """socket.create_connection, to public addresses only: each address the name resolves to is
    checked, and the first public one that answers is used."""
    host, port = address
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise OSError(f"cannot resolve {host}: {error.strerror or error}") from None
    reasons, last = [], None
    for family, kind, proto, _, peer in found:
        why = refused(peer[0])
        if why:
            reasons.append((peer[0], why))
            continue
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(peer)
            return sock
        except OSError as error:
            sock.close()
            last = error
    if last is not None:
        raise last
    raise PrivateAddress(f"{_resolves(host, reasons)}: {PUBLIC_ONLY}")


class PrivateAddress(OSError):
    """A connection refused because the host resolves only to non-public addresses."""


class _PublicHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self._create_connection = _guarded_connection  # http.client sets it on each connection


class _PublicHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self._create_connection = _guarded_connection


class _PublicHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_PublicHTTPConnection, req)


class _PublicHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_PublicHTTPSConnection, req, context=self._context)


def _through_proxy(url: str) -> bool:
    """Whether urllib sends this request through a proxy named in the environment."""
    parts = urlsplit(url)
    return bool(urllib.request.getproxies().get(parts.scheme.lower())) and not urllib.request.proxy_bypass(
        parts.hostname or "")


def _check_host(url: str) -> None:
    """Through a proxy, the address connected to is the proxy's: check the addresses the URL's host has."""
    host = urlsplit(url).hostname or ""
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)}
    except socket.gaierror:
        return  # the proxy resolves it, or says it can't
    reasons = [(address, why) for address in sorted(found) if (why := refused(address))]
    if reasons:
        raise BadInput(f"refused: {_resolves(host, reasons)}: {PUBLIC_ONLY}")


def _resolves(host: str, reasons: list[tuple[str, str]]) -> str:
    """'10.0.0.1 is a private address', or 'intranet resolves to 10.0.0.1, a private address'."""
    reasons = list(dict.fromkeys(reasons))
    if [address for address, _ in reasons] == [host.strip("[]")]:
        return f"{host.strip('[]')} is {reasons[0][1]}"
    return f"{host} resolves to " + "; ".join(f"{address}, {why}" for address, why in reasons)


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    def __init__(self, public: bool):
        super().__init__()
        self.public = public

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        try:
            check_url(newurl)
        except BadInput:
            raise BadInput(f"redirect to {newurl[:200]!r} refused: only http and https URLs are followed") from None
        if self.public and _through_proxy(newurl):
            _check_host(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


# Direct connections are checked as they are made, redirects included; through a proxy, by the host's addresses.
_OPENERS = {
    "public": urllib.request.build_opener(_PublicHTTPHandler, _PublicHTTPSHandler, _HttpOnlyRedirects(True)),
    "private": urllib.request.build_opener(_HttpOnlyRedirects(False)),
}


def _open(url: str, timeout: float, allow_private: bool = False):
    check_url(url)
    if not allow_private and _through_proxy(url):
        _check_host(url)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
    try:
        return _OPENERS["private" if allow_private else "public"].open(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if 300 <= error.code < 400 and "not allowed" in str(error.reason):  # urllib refused the target's scheme
            target = (error.headers or {}).get("Location", "?")
            raise BadInput(f"redirect to {target[:200]!r} refused: only http and https URLs are followed") from None
        if 300 <= error.code < 400:  # urllib gives up on a loop, or past its limit of redirections
            raise BadInput(f"too many redirects (the last was HTTP {error.code})") from None
        raise BadInput(f"HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, PrivateAddress):
            raise BadInput(f"refused: {reason}") from None
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


def fetch(url: str, max_bytes: int, timeout: float = TIMEOUT, allow_private: bool = False) -> bytes:
    """The body at ``url``. Raises BadInput with a one-line reason."""
    with _open(url, timeout, allow_private) as response:
        return b"".join(_chunks(response, max_bytes, timeout))


def download(url: str, dest: Path, max_bytes: int = MAX_MEDIA_BYTES, timeout: float = TIMEOUT,
             expected: int | None = None, allow_private: bool = False) -> Path:
    """Save ``url`` to ``dest`` through a temporary file renamed into place once complete and checked.

    ``expected`` is the length the feed announced; a different length is an error, since the file
    is then not the one the feed describes (or the transfer was cut).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    sweep_parts(dest.parent)
    with replacing(dest, hidden=False) as out:  # NAME.XXXXXXXX.PID.part, created exclusively
        with _open(url, timeout, allow_private) as response:
            for chunk in _chunks(response, max_bytes, timeout, MIN_RATE):
                out.write(chunk)
        out.flush()
        size = os.fstat(out.fileno()).st_size
        if expected and size != expected:
            raise BadInput(f"enclosure length mismatch: the feed says {expected:,} bytes, the server sent {size:,}")
        if size == 0:
            raise BadInput("empty file")
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
