"""placeholder"""
import vllm  # noqa: F401
