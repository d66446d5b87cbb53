"""Calling the command line inside a test, as a user's shell would."""

from __future__ import annotations

import pytest

from culturalign.cli.main import main


def exit_code(*args: str) -> int:
    """Run `culturalign ARGS...`; return its exit code (what the shell would see)."""
    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run `culturalign ARGS...`; return exit code, stdout and stderr."""
    code = exit_code(*args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err
