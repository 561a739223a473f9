"""A real HTTP server on 127.0.0.1 for the feed tests: routes to fixed responses, and a log of requests."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/octet-stream"
    delay: float = 0.0                     # seconds to wait before answering
    length: int | None = None              # a Content-Length that lies (truncated body)
    headers: dict = field(default_factory=dict)
    trickle: float = 0.0                   # seconds between bytes, sent with no Content-Length


class FeedServer:
    def __init__(self):
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                server.requests.append(self.path)
                route = server.routes.get(self.path)
                if route is None:
                    self.send_error(404, "Not Found")
                    return
                if route.delay:
                    time.sleep(route.delay)
                if route.trickle:
                    self.trickle(route)
                    return
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(route.length if route.length is not None else len(route.body)))
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                if route.length is not None:
                    self.close_connection = True

            def trickle(self, route):
                """A slow server: the body one byte at a time, for as long as the client listens (bounded)."""
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                self.end_headers()
                self.close_connection = True
                for n in range(len(route.body)):
                    try:
                        self.wfile.write(route.body[n:n + 1])
                        self.wfile.flush()
                    except (BrokenPipeError, ConnectionResetError):
                        return
                    time.sleep(route.trickle)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def serve(self, path: str, body: bytes | str = b"", **kw) -> str:
        self.routes[path] = Route(body.encode() if isinstance(body, str) else body, **kw)
        return self.url + path

    def fetched(self, path: str) -> int:
        return self.requests.count(path)


def rss(title: str, items: list[dict]) -> str:
    """A podcast RSS 2.0 document; each item: title, guid, date (RFC 822), enclosure (url, type, length),
    transcripts, chapters (a <podcast:chapters> URL), psc (Podlove chapters: (start, title))."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
        'xmlns:podcast="https://podcastindex.org/namespace/1.0" xmlns:psc="http://podlove.org/simple-chapters">',
        f"<channel><title>{title}</title><link>https://example.org/show</link>",
    ]
    for item in items:
        out.append("<item>")
        out.append(f"<title>{item['title']}</title>")
        if "guid" in item:
            out.append(f'<guid isPermaLink="false">{item["guid"]}</guid>')
        if "date" in item:
            out.append(f"<pubDate>{item['date']}</pubDate>")
        if "link" in item:
            out.append(f"<link>{item['link']}</link>")
        if "duration" in item:
            out.append(f"<itunes:duration>{item['duration']}</itunes:duration>")
        for person in item.get("persons", []):  # a name, or (name, role)
            name, role = person if isinstance(person, tuple) else (person, None)
            out.append(f'<podcast:person role="{role}">{name}</podcast:person>' if role
                       else f"<podcast:person>{name}</podcast:person>")
        if "enclosure" in item:
            url, kind, length = item["enclosure"]
            out.append(f'<enclosure url="{url}" type="{kind}" length="{length}"/>')
        for url, kind in item.get("transcripts", []):
            out.append(f'<podcast:transcript url="{url}" type="{kind}"/>')
        if "chapters" in item:
            out.append(f'<podcast:chapters url="{item["chapters"]}" type="application/json+chapters"/>')
        if "psc" in item:
            out.append('<psc:chapters version="1.2">' + "".join(
                f'<psc:chapter start="{start}" title="{title}"/>' for start, title in item["psc"]) + "</psc:chapters>")
        out.append("</item>")
    out.append("</channel></rss>")
    return "\n".join(out)
