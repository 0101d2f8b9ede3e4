"""Small loopback web servers for tests of server-side fetches (the SSRF guard, the sandbox).

- `web_server(routes, host="127.0.0.1")`: start a server answering `routes` ({path: (status,
  headers, body)}); returns its base URL. `.requests` on the returned URL lists the paths it
  was asked for, with the Host header (to prove a request never arrived, or arrived pinned).
- `receiver(statuses)`: a server taking POSTs (a webhook endpoint, a chat service's API),
  answering each with the next of `statuses` (the last one repeats); `.posts` on the returned
  URL lists (path, headers, body) of every request. With `tls` (an ssl.SSLContext) it speaks
  HTTPS.
- `public_loopback`: the guard treats 127.0.0.1 as a public address for this test, so a local
  server can stand in for a site on the internet. Other loopback addresses (127.0.0.2, ::1)
  stay private: redirect there to test the guard on a redirect.
"""

import ipaddress
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

__all__ = ["public_loopback", "receiver", "web_server"]

STAND_IN_PUBLIC = ipaddress.ip_address("127.0.0.1")


class ServerURL(str):
    requests: list


@pytest.fixture
def web_server():
    servers = []

    def start(routes, host="127.0.0.1"):
        seen = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append((self.path, self.headers.get("Host", "")))
                status, headers, body = routes.get(self.path, (404, {}, b"not here"))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer((host, 0), Handler)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        servers.append(server)
        url = ServerURL(f"http://{host}:{server.server_address[1]}")
        url.requests = seen
        return url

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver():
    servers = []

    def start(statuses=(200,), host="127.0.0.1", tls=None):
        posts = []
        answers = list(statuses)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                posts.append((self.path, dict(self.headers.items()), body))
                status = answers.pop(0) if len(answers) > 1 else answers[0]
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer((host, 0), Handler)
        if tls is not None:
            server.socket = tls.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        scheme = "https" if tls is not None else "http"
        url = ServerURL(f"{scheme}://{host}:{server.server_address[1]}")
        url.posts = posts
        return url

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def public_loopback(monkeypatch):
    from generator.lib import ssrf

    real = ssrf.is_public_address

    def stand_in(address):
        return ipaddress.ip_address(str(address)) == STAND_IN_PUBLIC or real(address)

    monkeypatch.setattr(ssrf, "is_public_address", stand_in)
