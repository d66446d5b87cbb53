"""Stands in for `vllm run-batch -i IN.jsonl -o OUT.jsonl`: answers each request line of a batch
input file with the loopback servers' deterministic reply, in the documented output format."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from servers.batch_api import completion_body  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-i", "--input", required=True)
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args(argv)
    with open(args.input, encoding="utf-8") as source, open(args.output, "w", encoding="utf-8") as out:
        for n, line in enumerate(source):
            request = json.loads(line)
            body = completion_body(request["body"], chat=request["url"].endswith("/chat/completions"))
            record = {
                "id": f"vllm-{n}",
                "custom_id": request["custom_id"],
                "error": None,
                "response": {"status_code": 200, "request_id": f"vllm-batch-{n}", "body": body},
            }
            out.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
