"""The compression settings a user types: `--prune`, `--quant` and `compare --setting`.

One grammar, parsed here for the CLI, `edgesim compare` and sweeps alike:

- pruning `SCHEME:RATIO[:ROWSxCOLS]`: `unstructured:0.9`, `pattern:0.5`, `block:0.75`,
  `block:0.75:8x4` (block shape), `channel:0.5`;
- quantization `fp32`, `fp16`, `wXaY` (fixed point), `pot:wXaY` (power of two),
  `mixed:wXaY:R` (a fraction R of rows in power of two), `mp:wXaY:H:R` (a fraction R of rows at
  H bits);
- a setting: a '+'-joined list of the above and `fuse`, applied in order; `fp32` (or `dense`)
  alone means no compression.

Every malformed value is a `SpecError` whose message quotes the text and the expected form.
"""

from __future__ import annotations

import math
import re

from workloads.compression import QuantScheme, SparsityScheme, parse_enum
from workloads.errors import SpecError
from workloads.network import Network

__all__ = ["apply_setting", "parse_prune", "parse_quant"]


def parse_prune(text: str) -> dict:
    """'block:0.75' or 'block:0.75:8x4' -> keyword arguments of Network.pruned."""
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise SpecError(f"--prune {text!r}: expected SCHEME:RATIO, e.g. block:0.75 or channel:0.5")
    scheme = parse_enum(SparsityScheme, parts[0], "--prune scheme")
    ratio = _number(parts[1], "--prune ratio")
    kwargs = {"scheme": scheme, "ratio": ratio}
    if len(parts) == 3:
        m = re.fullmatch(r"(\d+)x(\d+)", parts[2])
        if scheme is not SparsityScheme.BLOCK or not m:
            raise SpecError(f"--prune {text!r}: a third field is a block shape ROWSxCOLS for 'block'")
        kwargs["block_shape"] = (int(m[1]), int(m[2]))
    return kwargs


def parse_quant(text: str) -> dict:
    """Quantization spec -> keyword arguments of Network.quantized.

    fp32 | fp16 | wXaY (fixed point) | pot:wXaY (power of two) | mixed:wXaY:R (a fraction R of
    rows in power of two) | mp:wXaY:H:R (a fraction R of rows at H bits).
    """
    if text in ("fp32", "fp16"):
        return {"scheme": QuantScheme.FLOAT32 if text == "fp32" else QuantScheme.FLOAT16}
    parts = text.split(":")
    head, bits = (parts[0], parts[1]) if len(parts) > 1 else ("fixed", parts[0])
    m = re.fullmatch(r"w(\d+)a(\d+)", bits)
    schemes = {"fixed": (QuantScheme.FIXED, 2), "pot": (QuantScheme.POWER_OF_TWO, 2),
               "mixed": (QuantScheme.MIXED, 3), "mp": (QuantScheme.MULTI_PRECISION, 4)}
    if not m or head not in schemes or len(parts) != max(1, schemes[head][1] - (head == "fixed")):
        raise SpecError(
            f"--quant {text!r}: expected fp32, fp16, w8a8, pot:w4a8, mixed:w4a8:0.5 or mp:w4a8:8:0.25"
        )
    kwargs = {"scheme": schemes[head][0], "weight_bits": int(m[1]), "activation_bits": int(m[2])}
    if head == "mixed":
        kwargs["pot_ratio"] = _number(parts[2], "--quant mixed ratio")
    elif head == "mp":
        kwargs["high_bits"] = _integer(parts[2], "--quant mp high bits")
        kwargs["high_ratio"] = _number(parts[3], "--quant mp ratio")
    return kwargs


def _number(text: str, what: str) -> float:
    """A finite float; 'nan', 'inf' and non-numbers are a SpecError naming `what`."""
    try:
        value = float(text)
    except ValueError:
        raise SpecError(f"{what} must be a number (got {text!r})") from None
    if not math.isfinite(value):
        raise SpecError(f"{what} must be a finite number (got {text!r})")
    return value


def _integer(text: str, what: str) -> int:
    """A decimal integer of at most 6 digits (bit-widths and counts; '8.7' is refused, not cut)."""
    if not re.fullmatch(r"\d{1,6}", text):
        raise SpecError(f"{what} must be a whole number such as 8 (got {text!r})")
    return int(text)


def apply_setting(network: Network, setting: str) -> Network:
    """Apply a '+'-joined setting (see the module doc) to `network`; SpecError names a bad token."""
    if setting in ("fp32", "dense"):
        return network
    schemes = {s.value for s in SparsityScheme}
    for token in setting.split("+"):
        if token == "fuse":
            network = network.fused()
        elif token.split(":")[0] in schemes:
            network = network.pruned(**parse_prune(token))
        else:
            network = network.quantized(**parse_quant(token))
    return network
