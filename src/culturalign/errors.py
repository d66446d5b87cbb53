"""Errors a user can fix. The CLI prints them as one line and exits with code 2."""


def one_line(text: str, limit: int | None = None) -> str:
    """Text flattened to one line (runs of whitespace become one space), cut at `limit` with "..."."""
    flat = " ".join(text.split())
    return flat if limit is None or len(flat) <= limit else flat[: limit - 3] + "..."


class UserError(Exception):
    """Bad input: the message says what is wrong and how to fix it, in one line."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        # Messages often quote a server or an SDK, which may quote the API key: mask it.
        from culturalign.redact import redact

        super().__init__(redact(one_line(message)))


class ConfigError(UserError):
    """An experiment or codebook file that does not validate."""


class DataError(UserError):
    """A data file (survey, table, instrument) that cannot be used as given."""


class BackendError(UserError):
    """A model backend that cannot be reached or configured."""
