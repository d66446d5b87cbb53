"""llama-cpp-python's OpenAI-compatible server, with the crash fix, for tests on 127.0.0.1.

`llama_cpp.server` loads models through the same default parameters as `Llama`, so the
launcher applies `disable_extra_buffer_types()` before building the app (without it the
server dies with SIGSEGV on the first request on CPUs with AMX). It needs the server
extras: fastapi, uvicorn, sse-starlette, starlette-context, pydantic-settings.

As a process: `python tests/servers/llama_server.py --model PATH --port N [--alias NAME]`.
From a test: `with LlamaServer(model_path) as server: server.base_url`.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

STARTUP_TIMEOUT_S = 120.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LlamaServer:
    """Start the server in its own process on a free port; stop it on exit."""

    def __init__(self, model_path: Path, alias: str = "gemma-3-270m", n_threads: int = 2) -> None:
        self.model_path = model_path
        self.alias = alias
        self.n_threads = n_threads
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self._log: IO[str] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LlamaServer:
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--model",
            str(self.model_path),
            "--port",
            str(self.port),
            "--alias",
            self.alias,
            "--n-threads",
            str(self.n_threads),
        ]
        # The log goes to a file, not a pipe: an undrained pipe fills up and stalls the server.
        self._log = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=self._log, text=True)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._log.seek(0)
                raise RuntimeError(f"llama server exited with {self.process.returncode}: {self._log.read()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=1) as response:
                    json.load(response)
                return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"llama server did not answer on port {self.port} within {STARTUP_TIMEOUT_S:.0f} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="llama-cpp-python OpenAI-compatible server with the AMX crash fix")
    parser.add_argument("--model", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--alias", default=None)
    parser.add_argument("--n-threads", type=int, default=2)
    parser.add_argument("--n-ctx", type=int, default=2048)
    args = parser.parse_args(argv)

    import uvicorn
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    from culturalign.models.llamacpp_backend import disable_extra_buffer_types

    disable_extra_buffer_types()
    model = ModelSettings(
        model=args.model,
        model_alias=args.alias,
        n_ctx=args.n_ctx,
        n_threads=args.n_threads,
        n_threads_batch=args.n_threads,
        verbose=False,
    )
    app = create_app(server_settings=ServerSettings(host="127.0.0.1", port=args.port), model_settings=[model])
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
