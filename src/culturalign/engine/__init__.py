"""Turning a list of requests into stored answers: exactly once, concurrently, resumably."""

from culturalign.engine.runner import Request, execute, run_requests

__all__ = ["Request", "execute", "run_requests"]
