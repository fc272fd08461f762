"""Trace files: a `Network` as JSON or YAML, written losslessly and read by one strict loader.

The format is chosen by the file suffix (``.json``, ``.yaml``, ``.yml``). Layout, version 1::

    format_version: 1
    name: tiny/w8a8
    description: ''
    inputs:
    - name: x
      shape: [1, 3, 32, 32]
    outputs: [relu0]
    ops:
    - name: conv0
      kind: conv2d
      inputs: [x]
      input_shapes:
      - [1, 3, 32, 32]
      output_shape: [1, 8, 32, 32]
      weight_shape: [8, 3, 3, 3]          # omitted when the op has no weights
      attrs:                              # all fields of the kind's attrs (omitted if none)
        kernel: [3, 3]
        stride: [1, 1]
        padding: [1, 1]
        dilation: [1, 1]
        groups: 1
        bias: false
      compression: {quant: fixed, weight_bits: 8, activation_bits: 8}  # non-default fields only
    - name: relu0
      kind: activation
      inputs: [conv0]
      input_shapes:
      - [1, 8, 32, 32]
      output_shape: [1, 8, 32, 32]
      attrs: {function: relu}
      compression: {quant: fixed, weight_bits: 8, activation_bits: 8}

A FUSED op has the same keys (no attrs) plus ``members``: the folded ops in this same layout,
anchor first. JSON files hold the same data, one op per line.

Enums are written as their ``.value`` strings, tuples as lists. Ops may appear in any order; the
loader sorts them topologically (an already sorted list is kept as it is). `from_dict(to_dict(n))
== n` for every network. YAML is read with the safe loader; a key repeated in a mapping is an
error in both formats (both parsers would otherwise silently keep the last one).

The code is in four modules: this one (file I/O: `format_of`, `save`, `load`, and every public
name of the others, re-exported), `workloads.trace_schema` (version, fields and their checks),
`workloads.trace_encode` (`to_dict`, `dumps`, `digest`) and `workloads.trace_decode` (`loads`,
`from_dict`).

Every problem is a `TraceError` with a one-line message naming the file, the op (by name and
index) and the field, e.g. ``resnet.yaml: op 'conv1' (#0) field 'attrs.stride': expected an int
or two ints, got 'x'``. Errors of op and network validation (`SpecError`, `ShapeError`,
`GraphError`) are re-raised as `TraceError` with the file name prefixed.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import MappingProxyType

from workloads.atomic import OutputError, write_atomic
from workloads.errors import TraceError
from workloads.network import Network
from workloads.trace_decode import MAX_JSON_NESTING, from_dict, loads
from workloads.trace_encode import digest, dumps, to_dict
from workloads.trace_schema import FORMAT_VERSION, SUPPORTED_VERSIONS, TraceFormat

__all__ = [
    "FORMAT_VERSION",
    "MAX_JSON_NESTING",
    "MAX_TRACE_BYTES",
    "SUPPORTED_VERSIONS",
    "TraceFormat",
    "digest",
    "dumps",
    "format_of",
    "from_dict",
    "load",
    "loads",
    "save",
    "to_dict",
]

MAX_TRACE_BYTES = 256 * 2**20
"""Largest trace file read, bytes (a 10,000-op trace is about 5 MB)."""

_SUFFIXES = MappingProxyType(
    {".json": TraceFormat.JSON, ".yaml": TraceFormat.YAML, ".yml": TraceFormat.YAML}
)


def format_of(path: str | os.PathLike) -> TraceFormat:
    """The trace format for `path`'s suffix; TraceError for any other suffix."""
    suffix = Path(path).suffix.lower()
    try:
        return _SUFFIXES[suffix]
    except KeyError:
        raise TraceError(
            f"{os.fspath(path)}: unknown trace file suffix {suffix!r}; expected one of "
            f"{', '.join(_SUFFIXES)}"
        ) from None


def save(network: Network, path: str | os.PathLike) -> None:
    """Write `network`'s trace to `path` (format from the suffix), atomically.

    The text goes to a temporary file in the same directory, which then replaces `path`, so a
    failed write leaves `path` as it was. Raises TraceError when `path` cannot be written.
    """
    path = Path(path)
    fmt = format_of(path)
    try:
        text = dumps(network, fmt)
    except TraceError as err:
        raise TraceError(f"{path}: {err}") from None
    if path.is_dir():
        raise TraceError(f"{path}: cannot write trace: is a directory")
    if not path.parent.is_dir():
        raise TraceError(
            f"{path}: cannot write trace: directory {str(path.parent)!r} does not exist"
        )
    try:
        write_atomic(path, text)
    except OutputError as err:
        raise TraceError(f"{path}: cannot write trace: {getattr(err, 'reason', err)}") from None


def load(path: str | os.PathLike) -> Network:
    """The network in the trace file `path` (format from the suffix).

    Raises TraceError for an unknown suffix, a missing or unreadable file, bad JSON/YAML syntax
    (with its line number) and every problem `from_dict` finds, each naming the file.
    """
    source = os.fspath(path)
    fmt = format_of(path)
    try:
        n_bytes = Path(path).stat().st_size
    except OSError:
        n_bytes = 0  # reading below names the problem
    if n_bytes > MAX_TRACE_BYTES:
        raise TraceError(f"{source}: {n_bytes:,} bytes, more than MAX_TRACE_BYTES = "
                         f"{MAX_TRACE_BYTES:,}; a trace of 10,000 ops is about 5 MB")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TraceError(f"{source}: no such trace file") from None
    except IsADirectoryError:
        raise TraceError(f"{source}: is a directory, expected a trace file") from None
    except PermissionError:
        raise TraceError(f"{source}: cannot read trace file: permission denied") from None
    except UnicodeDecodeError as err:
        raise TraceError(f"{source}: not UTF-8 text (bad byte at offset {err.start})") from None
    except OSError as err:
        raise TraceError(f"{source}: cannot read trace file: {err.strerror or err}") from None
    return loads(text, fmt, source=source)
