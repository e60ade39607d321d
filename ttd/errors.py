"""User-facing errors.

A `TTDError` is a mistake the user can fix (bad input, missing extra, missing key). The CLI prints its
message as one line and exits 2; nothing the run already finished is touched.
"""

from __future__ import annotations


class TTDError(Exception):
    """An error whose message names the problem and the fix, shown without a traceback."""

    exit_code = 2


class ConfigError(TTDError):
    """A preset, config file, model name or option that cannot be used."""


class MissingExtraError(TTDError):
    """An optional dependency group is needed but not installed."""

    def __init__(self, extra: str, what: str) -> None:
        super().__init__(f"{what} needs the '{extra}' extra: pip install 'ttd-dr[{extra}]'")
        self.extra = extra


class ModelReplyError(TTDError):
    """The model endpoint failed or answered nothing usable (5xx after retries, HTML, empty replies).

    Exit code 1, not 2: the input was fine, the server was not; finished steps stay resumable."""

    exit_code = 1
