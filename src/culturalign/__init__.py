"""culturalign: survey-grounded measurement of the values language models reproduce."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("culturalign")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
