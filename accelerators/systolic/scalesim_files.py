"""SCALE-Sim v3 config (.cfg) and topology (.csv) files, read unchanged.

Config: the INI file of SCALE-Sim's `configs/` (`[architecture_presets]` ArrayHeight,
ArrayWidth, IfmapSramSzkB, FilterSramSzkB, OfmapSramSzkB, Dataflow, Bandwidth;
`[run_presets]` InterfaceBandwidth CALC or USER; `[general]` run_name). Other keys (offsets,
banks, layout, sparsity off) are accepted and have no effect here; sparsity on is refused.

Topology, convolution form: a header line, then `name, IFMAP height, IFMAP width, filter
height, filter width, channels, num filter, stride,` (SCALE-Sim's conventions: no padding
field, one stride for both directions, a trailing comma, an optional `N:M` sparsity field that
must be 1:1 here). A layer whose name contains `DP` is depthwise: as SCALE-Sim does, it becomes
one layer per channel, named `<name>Channel_<i>`, each with one channel and `num filter`
filters. GEMM form (`--gemm`, SCALE-Sim's `-i gemm`): `name, M, N, K,` for an (M x K) @ (K x N)
product. Output size is SCALE-Sim's: ceil((ifmap - filter + stride) / stride).

Every problem raises ScaleSimFileError naming the file, the row (line number) and the field.
"""

from __future__ import annotations

import configparser
import math
import re
from dataclasses import dataclass
from pathlib import Path

from sim.systolic import MAX_ARRAY_DIM, Dataflow, SystolicArray, ScaleSimQuirks, SCALESIM_V3
from workloads.errors import EdgesimError
from workloads.gemm import Gemm

MAX_FILE_BYTES = 4 << 20
"""Config or topology files larger than this (4 MiB) are refused unread."""
MAX_LAYER_DIM = 1 << 20
"""A topology size above this is certainly a typo, not a layer."""
MAX_LAYERS = 100_000
"""More layers than this (after depthwise expansion) is refused rather than simulated."""

CONV_FIELDS = ("IFMAP height", "IFMAP width", "Filter height", "Filter width", "Channels",
               "Num filter", "Strides")
GEMM_FIELDS = ("M", "N", "K")


class ScaleSimFileError(EdgesimError, ValueError):
    """A SCALE-Sim config or topology file is malformed or out of range."""


@dataclass(frozen=True)
class ScaleSimConfig:
    """What a SCALE-Sim config says about the hardware."""

    run_name: str
    array: SystolicArray
    bandwidth_words_per_cycle: float
    """The config's Bandwidth (words per cycle); used for DRAM stalls only in USER mode."""
    user_bandwidth: bool
    """InterfaceBandwidth = USER (stalls under the bandwidth) rather than CALC (stall-free)."""


@dataclass(frozen=True)
class TopologyLayer:
    """One SCALE-Sim layer (depthwise layers already expanded per channel)."""

    name: str
    row: int
    """Line number in the topology file (1-based)."""
    gemm: Gemm


def _read_text(path: Path, what: str) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ScaleSimFileError(f"{path}: {what} of {size} bytes exceeds {MAX_FILE_BYTES}; "
                                    f"give a SCALE-Sim {what}")
        return path.read_text(encoding="utf-8")
    except OSError as err:
        raise ScaleSimFileError(f"{path}: cannot read {what} ({err.strerror})") from None
    except UnicodeDecodeError:
        raise ScaleSimFileError(f"{path}: {what} is not UTF-8 text") from None


def _line_of(text: str, key: str) -> int | None:
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*[:=]", re.IGNORECASE)
    for i, line in enumerate(text.splitlines(), 1):
        if pattern.match(line):
            return i
    return None


def read_config(path: str | Path, *, quirks: ScaleSimQuirks = SCALESIM_V3) -> ScaleSimConfig:
    """The array, SRAMs, dataflow and bandwidth of a SCALE-Sim config file."""
    path = Path(path)
    text = _read_text(path, "config")
    parser = configparser.ConfigParser()
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as err:
        line = getattr(err, "lineno", None)
        where = f"{path}: row {line}" if line else str(path)
        raise ScaleSimFileError(f"{where}: not an INI config ({type(err).__name__}); "
                                f"give a SCALE-Sim .cfg file") from None

    def get(section: str, key: str) -> tuple[str, str]:
        where = f"{path}: row {_line_of(text, key) or '?'}: [{section}] {key}"
        if not parser.has_option(section, key):
            raise ScaleSimFileError(f"{path}: [{section}] {key}: required but missing")
        return parser.get(section, key).strip(), where

    def positive_int(section: str, key: str, limit: int) -> int:
        value, where = get(section, key)
        try:
            number = int(value)
        except ValueError:
            raise ScaleSimFileError(f"{where}: expected a whole number, got {value!r}") from None
        if not 1 <= number <= limit:
            raise ScaleSimFileError(f"{where}: expected 1 to {limit}, got {number}")
        return number

    arch = "architecture_presets"
    rows = positive_int(arch, "ArrayHeight", MAX_ARRAY_DIM)
    cols = positive_int(arch, "ArrayWidth", MAX_ARRAY_DIM)
    srams = [positive_int(arch, key, 1 << 30) for key in
             ("IfmapSramSzkB", "FilterSramSzkB", "OfmapSramSzkB")]
    flow, where = get(arch, "Dataflow")
    try:
        dataflow = Dataflow(flow.lower())
    except ValueError:
        raise ScaleSimFileError(f"{where}: expected os, ws or is, got {flow!r}") from None
    mode, where = get("run_presets", "InterfaceBandwidth")
    if mode.upper() not in ("CALC", "USER"):
        raise ScaleSimFileError(f"{where}: expected CALC or USER, got {mode!r}")
    user = mode.upper() == "USER"
    bandwidth = 10.0
    if parser.has_option(arch, "Bandwidth"):
        value, where = get(arch, "Bandwidth")
        try:
            bandwidth = float(value.split(",")[0])
        except ValueError:
            raise ScaleSimFileError(f"{where}: expected words per cycle, got {value!r}") from None
        if not (math.isfinite(bandwidth) and bandwidth > 0):
            raise ScaleSimFileError(f"{where}: expected a positive number, got {value!r}")
    elif user:
        raise ScaleSimFileError(f"{path}: [{arch}] Bandwidth: required in USER mode")
    if parser.has_option("sparsity", "SparsitySupport"):
        value, where = get("sparsity", "SparsitySupport")
        if value.lower() == "true":
            raise ScaleSimFileError(f"{where}: sparse SCALE-Sim runs are not modelled; "
                                    f"set it to false")
    run_name = parser.get("general", "run_name", fallback=path.stem).strip() or path.stem
    array = SystolicArray(
        rows=rows, cols=cols, dataflow=dataflow,
        ifmap_sram_bytes=srams[0] * 1024, filter_sram_bytes=srams[1] * 1024,
        ofmap_sram_bytes=srams[2] * 1024, word_bytes=1,
        dram_bytes_per_cycle=bandwidth if user else None, double_buffered=True, quirks=quirks,
    )
    return ScaleSimConfig(run_name=run_name, array=array, bandwidth_words_per_cycle=bandwidth,
                          user_bandwidth=user)


def read_topology(path: str | Path, *, gemm: bool = False) -> tuple[TopologyLayer, ...]:
    """The layers of a SCALE-Sim topology file (convolution form, or GEMM form if `gemm`)."""
    path = Path(path)
    text = _read_text(path, "topology")
    names = GEMM_FIELDS if gemm else CONV_FIELDS
    layers: list[TopologyLayer] = []
    lines = text.splitlines()
    for row, line in enumerate(lines[1:], 2):  # the first line is the header, as in SCALE-Sim
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(",")]
        if fields and fields[-1] == "":  # SCALE-Sim's trailing comma
            fields = fields[:-1]
        where = f"{path}: row {row}"
        if len(fields) < 1 + len(names):
            raise ScaleSimFileError(
                f"{where}: expected {1 + len(names)} fields (name, {', '.join(names)}), "
                f"got {len(fields)}")
        name = fields[0]
        if not name:
            raise ScaleSimFileError(f"{where}: Layer name: required but empty")
        values = []
        for field, value in zip(names, fields[1:1 + len(names)]):
            try:
                number = int(value)
            except ValueError:
                raise ScaleSimFileError(
                    f"{where}: {field}: expected a whole number, got {value!r}") from None
            if not 1 <= number <= MAX_LAYER_DIM:
                raise ScaleSimFileError(
                    f"{where}: {field}: expected 1 to {MAX_LAYER_DIM}, got {number}")
            values.append(number)
        extra = fields[1 + len(names):]
        if extra and not (len(extra) == 1 and extra[0].replace(" ", "") in ("1:1", "")):
            raise ScaleSimFileError(
                f"{where}: unexpected field(s) {extra} after {names[-1]}; only a 1:1 sparsity "
                f"ratio may follow (sparse layers are not modelled)")
        if gemm:
            m, n, k = values
            layers.append(TopologyLayer(name, row, Gemm(groups=1, m=m, k=k, n=n,
                                                        ifmap_words=m * k)))
            continue
        h, w, fh, fw, ch, nf, stride = values
        if fh > h or fw > w:
            field = "Filter height" if fh > h else "Filter width"
            raise ScaleSimFileError(f"{where}: {field}: the filter ({fh}x{fw}) is larger than "
                                    f"the IFMAP ({h}x{w}); SCALE-Sim has no padding field")
        m = (math.ceil((h - fh + stride) / stride)) * math.ceil((w - fw + stride) / stride)
        if len(layers) + (ch if "DP" in name else 1) > MAX_LAYERS:
            raise ScaleSimFileError(f"{where}: Channels: the topology expands to more than "
                                    f"{MAX_LAYERS} layers; split it into several files")
        if "DP" in name:
            for channel in range(ch):
                layers.append(TopologyLayer(f"{name}Channel_{channel}", row,
                                            Gemm(groups=1, m=m, k=fh * fw, n=nf,
                                                 ifmap_words=h * w)))
        else:
            layers.append(TopologyLayer(name, row, Gemm(groups=1, m=m, k=fh * fw * ch, n=nf,
                                                         ifmap_words=h * w * ch)))
    if not layers:
        raise ScaleSimFileError(f"{path}: no layers after the header row; give a SCALE-Sim "
                                f"topology file")
    return tuple(layers)
