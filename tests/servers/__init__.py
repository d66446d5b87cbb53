"""Servers that tests start on 127.0.0.1: a fault-injecting OpenAI-compatible stub and a
launcher for llama-cpp-python's OpenAI-compatible server serving the embedded model."""
