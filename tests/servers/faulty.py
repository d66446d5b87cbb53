"""A small OpenAI-compatible server on 127.0.0.1 that misbehaves on purpose.

Answers /v1/chat/completions, /v1/completions and /v1/models. A chosen share of requests
gets a fault instead of an answer: 429 with Retry-After, 500, a slow answer, a cut
connection, a malformed JSON body, or a stall (no answer until after the client has given
up, then a cut). The choice is deterministic per (request text, attempt number), so a run
is reproducible, and a retried request can succeed. Requests whose text contains
`doomed_marker` always get 500, to exercise the retry budget.

The server counts, per request text, the attempts it saw and the answers it gave (each
answer carries a unique id), so a test can check that every request was answered exactly
once. GET /_stats returns those counts as JSON (for a server in another process).

In-process: `with FaultyServer(FaultPlan(...)) as server: server.base_url`.
Own process: `python tests/servers/faulty.py --fault-rate 0.1 --latency 0.1` prints the base URL.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import random
import socket
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULT_KINDS = ("rate_limit", "server_error", "slow", "cut", "malformed", "stall")


@dataclass
class FaultPlan:
    fault_rate: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    latency_s: float = 0.0  # every answer waits this long
    slow_s: float = 0.3  # extra wait of a "slow" answer (still inside the client's timeout)
    stall_s: float = 1.5  # a "stall" waits this long, then cuts (beyond the client's timeout)
    retry_after: str = "0"  # Retry-After header of a 429: seconds or an HTTP date
    doomed_marker: str | None = "ALWAYS-FAIL"
    reject_json_schema: bool = False  # answer 400 to response_format json_schema (fallback tests)
    fail_first: int = 0  # the first n attempts of every request get a fault, whatever fault_rate says
    unknown_model: str = "no-such-model"  # requests for this model get 404
    seed: int = 0


@dataclass
class ServerStats:
    attempts: Counter = field(default_factory=Counter)  # request text -> requests seen
    answers: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))  # text -> answer ids
    faults: Counter = field(default_factory=Counter)  # fault kind -> count
    requests: list[tuple[float, str]] = field(default_factory=list)  # (time, request text) in arrival order
    in_flight: int = 0
    max_in_flight: int = 0
    next_answer_id: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "attempts": dict(self.attempts),
            "answers": {k: list(v) for k, v in self.answers.items()},
            "faults": dict(self.faults),
            "requests": [list(r) for r in self.requests],
            "max_in_flight": self.max_in_flight,
        }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # A deep listen backlog: with the default of 5, a burst of 32 connects loses SYNs and the
    # clients wait a full second to resend them, which would be measured as server latency.
    request_queue_size = 512


class FaultyServer:
    def __init__(self, plan: FaultPlan | None = None, port: int = 0) -> None:
        self.plan = plan or FaultPlan()
        self.stats = ServerStats()
        self.lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"owner": self})
        self.httpd = _Server(("127.0.0.1", port), handler)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def start(self) -> FaultyServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FaultyServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset_stats(self) -> None:
        with self.lock:
            self.stats = ServerStats()

    # -- decisions ---------------------------------------------------------------------
    def decide(self, text: str) -> tuple[str | None, int]:
        """The fault for this request (None: answer it) and its attempt number."""
        with self.lock:
            attempt = self.stats.attempts[text]
            self.stats.attempts[text] += 1
            self.stats.requests.append((time.time(), text))
            self.stats.in_flight += 1
            self.stats.max_in_flight = max(self.stats.max_in_flight, self.stats.in_flight)
        plan = self.plan
        if plan.doomed_marker and plan.doomed_marker in text:
            return "server_error", attempt
        digest = hashlib.sha256(f"{plan.seed}|{attempt}|{text}".encode()).digest()
        rng = random.Random(int.from_bytes(digest[:8], "big"))
        if attempt < plan.fail_first or rng.random() < plan.fault_rate:
            return rng.choice(plan.kinds), attempt
        return None, attempt

    def record_fault(self, kind: str) -> None:
        with self.lock:
            self.stats.faults[kind] += 1

    def record_answer(self, text: str) -> int:
        with self.lock:
            self.stats.next_answer_id += 1
            self.stats.answers[text].append(self.stats.next_answer_id)
            return self.stats.next_answer_id

    def done(self) -> None:
        with self.lock:
            self.stats.in_flight -= 1


class _Handler(BaseHTTPRequestHandler):
    owner: FaultyServer
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
    # Headers and body go out in two writes; with Nagle's algorithm the second waits for
    # the client's delayed ACK (~40 ms), which would dwarf the latencies under test.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        if self.path.rstrip("/").endswith("/models"):
            self._send_json(200, {"object": "list", "data": [{"id": "stub", "object": "model", "owned_by": "test"}]})
        elif self.path == "/_stats":
            with self.owner.lock:
                body = self.owner.stats.as_json()
            self._send_json(200, body)
        else:
            self._send_json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("content-length", 0))
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            self._send_json(400, {"error": {"message": "body is not JSON"}})
            return
        chat = self.path.rstrip("/").endswith("/chat/completions")
        if not chat and not self.path.rstrip("/").endswith("/completions"):
            self._send_json(404, {"error": {"message": "not found"}})
            return
        text = body["messages"][-1]["content"] if chat else body.get("prompt", "")
        owner = self.owner
        if body.get("model") == owner.plan.unknown_model:
            self._send_json(404, {"error": {"message": f"model {body.get('model')} does not exist"}})
            return
        fault, _attempt = owner.decide(text)
        try:
            fmt = (body.get("response_format") or {}).get("type")
            if fault is None and owner.plan.reject_json_schema and fmt == "json_schema":
                owner.record_fault("json_schema_rejected")
                self._send_json(400, {"error": {"message": "response_format json_schema is not supported"}})
                return
            if fault is not None:
                owner.record_fault(fault)
                if fault != "slow":
                    self._fault(fault)
                    return
                time.sleep(owner.plan.slow_s)
            if owner.plan.latency_s:
                time.sleep(owner.plan.latency_s)
            answer_id = owner.record_answer(text)
            reply = json.dumps({"answer_id": answer_id}) if fmt else f"answer {answer_id}: {text[:60]}"
            self._send_json(200, _completion_body(reply, body, chat, answer_id))
        finally:
            owner.done()

    def _fault(self, kind: str) -> None:
        plan = self.owner.plan
        if kind == "rate_limit":
            self._send_json(
                429, {"error": {"message": "slow down", "type": "rate_limit"}}, {"Retry-After": plan.retry_after}
            )
        elif kind == "server_error":
            self._send_json(500, {"error": {"message": "internal failure"}})
        elif kind == "malformed":
            self._send_raw(200, b'{"id": "x", "object": "chat.completion", "choices": [{"index": 0, "mess')
        elif kind == "cut":
            self._cut()
        elif kind == "stall":
            time.sleep(plan.stall_s)
            self._cut()

    def _cut(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send_raw(status, json.dumps(payload).encode(), headers)

    def _send_raw(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def _completion_body(reply: str, request: dict[str, Any], chat: bool, answer_id: int) -> dict[str, Any]:
    prompt_text = json.dumps(request.get("messages") or request.get("prompt") or "")
    usage = {"prompt_tokens": max(1, len(prompt_text) // 4), "completion_tokens": max(1, len(reply) // 4)}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    if chat:
        choice = {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": reply}}
        kind = "chat.completion"
    else:
        choice = {"index": 0, "finish_reason": "stop", "text": reply, "logprobs": None}
        kind = "text_completion"
    return {
        "id": f"cmpl-{answer_id}",
        "object": kind,
        "created": int(time.time()),
        "model": request.get("model", "stub"),
        "choices": [choice],
        "usage": usage,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="fault-injecting OpenAI-compatible server")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--slow", type=float, default=0.3)
    parser.add_argument("--stall", type=float, default=1.5)
    parser.add_argument("--retry-after", default="0")
    parser.add_argument("--kinds", default=",".join(FAULT_KINDS))
    args = parser.parse_args(argv)
    plan = FaultPlan(
        fault_rate=args.fault_rate,
        latency_s=args.latency,
        slow_s=args.slow,
        stall_s=args.stall,
        retry_after=args.retry_after,
        kinds=tuple(k for k in args.kinds.split(",") if k),
    )
    server = FaultyServer(plan, port=args.port)
    print(json.dumps({"base_url": server.base_url, "plan": asdict(plan)}), flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.httpd.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
