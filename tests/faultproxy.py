"""A tiny fault-injecting HTTP proxy for tests: sits between the SDK and Azurite on 127.0.0.1 and
answers some requests with 500/503, delays others, or drops the connection, on a schedule the test
sets. Bounded: it only forwards to the one upstream it was given, and stops with the test."""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Fault:
    """Inject ``status`` (or a dropped connection when status is 0) into matching requests.

    method/path_contains select requests; ``every`` hits every Nth match; ``times`` bounds how many
    faults are injected in all (None: unbounded); ``delay`` seconds are waited before answering.
    """

    status: int = 503
    method: str | None = None
    path_contains: str | None = None
    every: int = 1
    times: int | None = None
    delay: float = 0.0
    seen: int = 0
    injected: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method and method != self.method:
            return False
        if self.path_contains and self.path_contains not in path:
            return False
        if self.times is not None and self.injected >= self.times:
            return False
        self.seen += 1
        if self.seen % self.every:
            return False
        self.injected += 1
        return True


@dataclass
class FaultProxy:
    upstream_port: int
    faults: list[Fault] = field(default_factory=list)
    requests: list[tuple[str, str, int]] = field(default_factory=list)  # method, path, status sent
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> "FaultProxy":
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with proxy._lock:
                    fault = next((f for f in proxy.faults if f.matches(self.command, self.path)), None)
                if fault and fault.delay:
                    time.sleep(fault.delay)
                if fault and fault.status == 0:
                    proxy.requests.append((self.command, self.path, 0))
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if fault and fault.status:
                    payload = (f"<?xml version=\"1.0\"?><Error><Code>ServerBusy</Code>"
                               f"<Message>injected {fault.status}</Message></Error>").encode()
                    self.send_response(fault.status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.send_header("x-ms-error-code", "ServerBusy")
                    self.end_headers()
                    self.wfile.write(payload)
                    proxy.requests.append((self.command, self.path, fault.status))
                    return
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                headers["Host"] = f"127.0.0.1:{proxy.upstream_port}"
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                self.send_response(response.status, response.reason)
                for key, value in response.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                upstream.close()
                proxy.requests.append((self.command, self.path, response.status))

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def injected(self) -> int:
        return sum(f.injected for f in self.faults)
