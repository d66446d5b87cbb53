"""A loopback server that follows the documented OpenAI Batch API, for tests.

Files: upload (multipart, purpose "batch"), retrieve, content. Batches: create, retrieve,
list, cancel; statuses validating -> in_progress -> completed (or expired, failed,
cancelled, as the plan says); output and error files in the documented line format.
Also answers /v1/models and the synchronous /v1/chat/completions and /v1/completions with
the same deterministic reply, so a test can compare a batch run with an online one.

Each retrieve of a running batch advances it one step, unless `hold` is set (then it stays
in_progress until released), so a test decides when a batch ends. The server counts the
batches created and every request it answered (what a provider would bill).
In-process: `with BatchServer(BatchPlan()) as server: server.base_url`.
Own process: `python tests/servers/batch_api.py [--hold]` prints the base URL, serves until killed.
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import hashlib
import json
import re
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class BatchPlan:
    steps_in_progress: int = 1  # retrieves answered "in_progress" before the batch ends
    end_status: str = "completed"  # or "expired" / "failed"
    answer_share: float = 1.0  # share of lines answered before an expiry
    fail_markers: tuple[str, ...] = ("BATCH-LINE-FAILS",)  # lines containing this get an error line
    hold: bool = False  # keep batches in_progress until `release()`


@dataclass
class Stats:
    batches_created: int = 0
    billed: Counter = field(default_factory=Counter)  # custom_id -> times answered
    uploads: int = 0


def reply_for(text: str) -> str:
    """The deterministic answer to a prompt text (batch and online alike): a numbered list of ten
    lines made of the prompt's own words, so that a language filter sees the prompt's language."""
    seed = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
    words = re.findall(r"[^\W\d_]{3,}", text) or ["ok"]
    lines = []
    for n in range(10):
        picked = [words[(seed + 7 * n + 3 * i) % len(words)] for i in range(8)]
        lines.append(f"{n + 1}. {' '.join(picked)}.")
    return "\n".join(lines)


def completion_body(body: dict[str, Any], chat: bool) -> dict[str, Any]:
    text = body["messages"][-1]["content"] if chat else body.get("prompt", "")
    reply = reply_for(text)
    usage = {"prompt_tokens": max(1, len(text) // 4), "completion_tokens": max(1, len(reply) // 4)}
    if chat:
        choice = {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": reply}}
    else:
        choice = {"index": 0, "finish_reason": "stop", "text": reply}
    return {
        "id": "cmpl-x",
        "object": "chat.completion" if chat else "text_completion",
        "choices": [choice],
        "usage": usage,
    }


class BatchServer:
    def __init__(self, plan: BatchPlan | None = None, port: int = 0) -> None:
        self.plan = plan or BatchPlan()
        self.stats = Stats()
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.steps: Counter = Counter()
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self  # type: ignore[attr-defined]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> BatchServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def release(self) -> None:
        self.plan.hold = False

    # -- files and batches ------------------------------------------------------------------
    def add_file(self, data: bytes, purpose: str, filename: str) -> dict[str, Any]:
        file_id = f"file-{len(self.files) + 1:04d}"
        self.files[file_id] = data
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(data),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
        }

    def create_batch(self, request: dict[str, Any]) -> dict[str, Any]:
        batch_id = f"batch_{len(self.batches) + 1:04d}"
        lines = self.files[request["input_file_id"]].decode().splitlines()
        batch = {
            "id": batch_id,
            "object": "batch",
            "endpoint": request["endpoint"],
            "errors": None,
            "input_file_id": request["input_file_id"],
            "completion_window": request["completion_window"],
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": int(time.time()),
            "metadata": request.get("metadata"),
            "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
        }
        self.batches[batch_id] = batch
        self.stats.batches_created += 1
        return batch

    def advance(self, batch: dict[str, Any]) -> None:
        if batch["status"] == "validating":
            batch["status"] = "in_progress"
            return
        if batch["status"] == "cancelling":
            self._finish(batch, "cancelled", share=0.0)
            return
        if batch["status"] != "in_progress" or self.plan.hold:
            return
        self.steps[batch["id"]] += 1
        if self.steps[batch["id"]] <= self.plan.steps_in_progress:
            return
        if self.plan.end_status == "failed":
            batch["status"] = "failed"
            batch["errors"] = {"object": "list", "data": [{"code": "invalid", "message": "the input was refused"}]}
            return
        share = self.plan.answer_share if self.plan.end_status == "expired" else 1.0
        self._finish(batch, self.plan.end_status, share)

    def _finish(self, batch: dict[str, Any], status: str, share: float) -> None:
        lines = [json.loads(line) for line in self.files[batch["input_file_id"]].decode().splitlines() if line]
        answered = lines[: int(round(len(lines) * share))]
        outputs, errors = [], []
        for n, line in enumerate(answered):
            text = json.dumps(line["body"])
            if any(marker in text for marker in self.plan.fail_markers):
                errors.append(
                    {
                        "id": f"req_{n}",
                        "custom_id": line["custom_id"],
                        "response": None,
                        "error": {"code": "invalid_request", "message": "this line was refused"},
                    }
                )
                continue
            body = completion_body(line["body"], chat=line["url"].endswith("/chat/completions"))
            outputs.append(
                {
                    "id": f"req_{n}",
                    "custom_id": line["custom_id"],
                    "error": None,
                    "response": {"status_code": 200, "request_id": f"r{n}", "body": body},
                }
            )
            self.stats.billed[line["custom_id"]] += 1
        if outputs:
            batch["output_file_id"] = self.add_file(_jsonl(outputs), "batch_output", "out.jsonl")["id"]
        if errors:
            batch["error_file_id"] = self.add_file(_jsonl(errors), "batch_output", "errors.jsonl")["id"]
        batch["status"] = status
        batch["request_counts"] = {"total": len(lines), "completed": len(outputs), "failed": len(errors)}


def _jsonl(records: list[dict[str, Any]]) -> bytes:
    return ("\n".join(json.dumps(r) for r in records) + "\n").encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    @property
    def owner(self) -> BatchServer:
        return self.server.owner  # type: ignore[attr-defined]

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?")[0].rstrip("/")
        owner = self.owner
        with owner.lock:
            if path.endswith("/models"):
                self._json(200, {"object": "list", "data": [{"id": "stub", "object": "model"}]})
            elif path == "/_stats":
                self._json(200, {"batches_created": owner.stats.batches_created, "billed": dict(owner.stats.billed)})
            elif match := re.fullmatch(r"/v1/files/([\w-]+)/content", path):
                data = owner.files.get(match.group(1))
                self._raw(200 if data is not None else 404, data or b"{}", "application/octet-stream")
            elif match := re.fullmatch(r"/v1/batches/([\w-]+)", path):
                batch = owner.batches.get(match.group(1))
                if batch is None:
                    self._json(404, {"error": {"message": "no such batch"}})
                    return
                owner.advance(batch)
                self._json(200, batch)
            elif path == "/v1/batches":
                data = sorted(owner.batches.values(), key=lambda b: b["id"], reverse=True)
                self._json(
                    200,
                    {
                        "object": "list",
                        "data": data,
                        "has_more": False,
                        "first_id": data[0]["id"] if data else None,
                        "last_id": data[-1]["id"] if data else None,
                    },
                )
            else:
                self._json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:  # noqa: N802
        path = self.path.split("?")[0].rstrip("/")
        data = self.rfile.read(int(self.headers.get("content-length", 0)))
        owner = self.owner
        with owner.lock:
            if path == "/v1/files":
                purpose, filename, content = _multipart(self.headers.get("content-type", ""), data)
                owner.stats.uploads += 1
                self._json(200, owner.add_file(content, purpose, filename))
            elif path == "/v1/batches":
                request = json.loads(data)
                if request.get("input_file_id") not in owner.files:
                    self._json(400, {"error": {"message": "unknown input_file_id"}})
                    return
                self._json(200, owner.create_batch(request))
            elif match := re.fullmatch(r"/v1/batches/([\w-]+)/cancel", path):
                batch = owner.batches[match.group(1)]
                batch["status"] = "cancelling"
                self._json(200, batch)
            elif path.endswith("/completions"):
                body = json.loads(data)
                self._json(200, completion_body(body, chat=path.endswith("/chat/completions")))
            else:
                self._json(404, {"error": {"message": "not found"}})

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._raw(status, json.dumps(payload).encode(), "application/json")

    def _raw(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _multipart(content_type: str, data: bytes) -> tuple[str, str, bytes]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + data
    )
    purpose, filename, content = "", "upload.jsonl", b""
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name == "purpose":
            purpose = (
                part.get_content().strip()
                if isinstance(part.get_content(), str)
                else part.get_payload(decode=True).decode()
            )
        elif name == "file":
            filename = part.get_filename() or filename
            content = part.get_payload(decode=True)
    return purpose, filename, content


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="loopback Batch API server")
    parser.add_argument("--hold", action="store_true", help="keep batches in progress until killed")
    args = parser.parse_args(argv)
    server = BatchServer(BatchPlan(hold=args.hold))
    print(json.dumps({"base_url": server.base_url}), flush=True)
    server.httpd.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
