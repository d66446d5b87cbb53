"""Turning a list of requests into stored answers: exactly once, concurrently, resumably."""

from culturalign.engine.runner import Request, check_backends, execute, run_requests

__all__ = ["Request", "check_backends", "execute", "run_requests"]
