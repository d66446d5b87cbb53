"""The run store: every model call, its answer and the stages' results, in one SQLite file."""

from culturalign.store.db import RunInfo, RunStore, StoredCall
from culturalign.store.keys import request_key

__all__ = ["RunInfo", "RunStore", "StoredCall", "request_key"]
