"""Errors that the command line reports as one line, without a traceback."""

from __future__ import annotations


class ThermocfdError(Exception):
    """A problem the user can fix; the CLI prints its message and exits with status 2."""


class CaseError(ThermocfdError):
    """A bad case-file entry: names the key, the offending value and the reason."""

    def __init__(self, key: str, value: object, reason: str):
        self.key = key
        self.value = value
        self.reason = reason
        shown = "" if value is _MISSING else f" = {value!r}"
        super().__init__(f"{key}{shown}: {reason}")


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()
MISSING = _MISSING
"""Sentinel for 'the key is absent' in :class:`CaseError`."""


class SolverError(ThermocfdError):
    """A solver did not converge or produced a non-physical result."""
