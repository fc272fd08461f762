"""The typed errors of edgesim.

Every user-facing problem raises a subclass of `EdgesimError`; each subclass also inherits the
matching built-in exception so ordinary ``except ValueError`` code keeps working. Messages say
what was wrong, what was expected, what was found, and where (file, op, field).
"""

from __future__ import annotations


class EdgesimError(Exception):
    """Root of every error a user can cause; the CLI prints it on one line and exits 2."""


class SpecError(EdgesimError, ValueError):
    """A spec, op attribute or compression setting is out of range or inconsistent."""


class ShapeError(EdgesimError, ValueError):
    """Tensor shapes of an op disagree with each other or with its attributes."""


class GraphError(EdgesimError, ValueError):
    """A network is not a valid DAG: unknown input, duplicate name, cycle, dangling output."""


class TraceError(EdgesimError, ValueError):
    """A trace file cannot be read: missing file, bad syntax, wrong version, bad field."""


class UnknownNameError(EdgesimError, KeyError):
    """A model, device or preset name is not registered."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class UnsupportedOpError(EdgesimError, ValueError):
    """A device cannot run some op kinds of a network; lists all of them at once."""


class DoesNotFitError(EdgesimError, ValueError):
    """A design point does not fit its hardware (memory, resources); sweeps record it as a row."""


def suggest(name: str, options) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest of `options`, or ``""``."""
    import difflib

    close = difflib.get_close_matches(name, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class OutputError(EdgesimError, OSError):
    """An output file cannot be written (unwritable or missing directory, a directory in the way)."""
