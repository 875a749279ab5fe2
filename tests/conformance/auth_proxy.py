"""Loopback reverse proxy that adds `Authorization: Bearer <key>`.

The MCP conformance runner sends no credentials, and Pons has no
unauthenticated mode, so the runner talks to this proxy instead. Every
request is forwarded unchanged to the upstream server, Host and Origin
included, so Pons still receives and judges the runner's own headers (the
DNS-rebinding scenario depends on that). Responses are streamed back as
they arrive, which keeps SSE working.

Usage: PONS_PROXY_KEY=pons_… python3 auth_proxy.py http://127.0.0.1:PORT
The proxy binds 127.0.0.1 on a free port and prints `listening PORT`.
"""

from __future__ import annotations

import http.client
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# Headers that describe one hop and must not be forwarded (RFC 9110 §7.6.1).
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}
UPSTREAM_TIMEOUT_SECONDS = 60


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream: tuple[str, int]
    key: str

    def forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {
            name: value
            for name, value in self.headers.items()
            if name.lower() not in HOP_BY_HOP and name.lower() != "authorization"
        }
        headers["Authorization"] = f"Bearer {self.key}"
        upstream = http.client.HTTPConnection(*self.upstream, timeout=UPSTREAM_TIMEOUT_SECONDS)
        try:
            # skip_host keeps the client's Host header, which `headers` carries.
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers.items():
                upstream.putheader(name, value)
            upstream.endheaders(body)
            response = upstream.getresponse()
            self.relay(response)
        except OSError as error:
            self.log_error("upstream request failed: %s", error)
            if not self.wfile.closed:
                self.send_error(502, "upstream request failed")
        finally:
            upstream.close()

    def relay(self, response: http.client.HTTPResponse) -> None:
        self.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        # The body is passed on as it arrives and ends when this connection
        # closes, so no length needs to be known in advance.
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        while chunk := response.read1(65536):
            self.wfile.write(chunk)
            self.wfile.flush()

    do_GET = forward
    do_POST = forward
    do_DELETE = forward
    do_PUT = forward
    do_PATCH = forward
    do_OPTIONS = forward
    do_HEAD = forward

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"auth_proxy: {self.command} {self.path} {format % args}\n")


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: PONS_PROXY_KEY=pons_… auth_proxy.py http://127.0.0.1:PORT")
    key = os.environ.get("PONS_PROXY_KEY", "")
    if not key:
        sys.exit("PONS_PROXY_KEY is missing: set it to the API key to add to every request")
    target = urlsplit(sys.argv[1])
    if target.scheme != "http" or target.hostname not in ("127.0.0.1", "::1", "localhost"):
        sys.exit(f"invalid upstream {sys.argv[1]!r}: use http://127.0.0.1:PORT")
    Proxy.upstream = (target.hostname, target.port or 80)
    Proxy.key = key
    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    server.daemon_threads = True
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
