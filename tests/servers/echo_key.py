"""An OpenAI-compatible server on 127.0.0.1 that refuses every completion with 401 and quotes
the key it was given, in the body and in a header, as careless servers do.

/v1/models answers 200 (so the run's pre-flight check passes and the calls are made);
/v1/chat/completions and /v1/completions answer 401. `with EchoKeyServer() as server:
server.base_url`; `server.refused` counts the refused calls.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class EchoKeyServer:
    def __init__(self) -> None:
        handler = type("Handler", (_Handler,), {"owner": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.refused = 0
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> EchoKeyServer:
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    owner: EchoKeyServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._send(200, {"object": "list", "data": [{"id": "echo", "object": "model", "owned_by": "test"}]})

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("content-length", 0)))
        header = self.headers.get("authorization", "")
        key = header.removeprefix("Bearer ").strip()
        with self.owner.lock:
            self.owner.refused += 1
        message = f"Incorrect API key provided: {key}. You sent Authorization: {header}"
        self._send(
            401,
            {"error": {"message": message, "type": "invalid_request_error", "code": "invalid_api_key", "key": key}},
            {"X-Presented-Key": key},
        )

    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
