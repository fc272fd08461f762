"""How an op's weights are compressed: sparsity scheme and ratio, bit-widths, quantization scheme.

The schemes are the ones the edge-compression literature executes differently:

- sparsity: unstructured (CSR-like), pattern (kernel patterns, PatDNN / 2111.11581), block
  (block-based column-row pruning, GRIM 2108.11033), channel (filter removal; changes shapes),
  N:M (at most N kept in every M consecutive weights along the reduction dim; 2:4 is what
  NVIDIA Ampere's sparse tensor cores execute, Mishra et al. 2104.08378);
- quantization: float32, float16, fixed-point integer, power-of-two (shift-add), mixed
  (a fraction of each layer's rows in power-of-two, the rest fixed-point; Auto-ViT-Acc
  2208.05163), intra-layer multi-precision (a fraction of rows at a second, higher bit-width;
  ILMPQ 2111.00155).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from workloads.errors import SpecError


class SparsityScheme(enum.Enum):
    """How pruned weights are laid out; decides how a device can skip them."""

    DENSE = "dense"
    UNSTRUCTURED = "unstructured"
    PATTERN = "pattern"
    BLOCK = "block"
    CHANNEL = "channel"
    N_M = "n_m"


class QuantScheme(enum.Enum):
    """How weights (and the datapath that multiplies them) are quantized."""

    FLOAT32 = "float32"
    FLOAT16 = "float16"
    FIXED = "fixed"
    POWER_OF_TWO = "power_of_two"
    MIXED = "mixed"
    MULTI_PRECISION = "multi_precision"


_FLOAT_BITS = {QuantScheme.FLOAT32: 32, QuantScheme.FLOAT16: 16}


def parse_enum(enum_type: type[enum.Enum], value: object, field: str) -> enum.Enum:
    """Return the member of `enum_type` whose value is `value`; SpecError naming `field` if none."""
    if isinstance(value, enum_type):
        return value
    try:
        return enum_type(value)
    except ValueError:
        options = [m.value for m in enum_type]
        raise SpecError(f"{field!r} must be one of {options} (got {value!r})") from None


@dataclass(frozen=True, kw_only=True, slots=True)
class Compression:
    """Compression of one op's weights and activations. Frozen; validated on construction."""

    sparsity: SparsityScheme = SparsityScheme.DENSE
    """Weight sparsity scheme."""
    sparsity_ratio: float = 0.0
    """Fraction of weights removed, in [0, 1). Zero for DENSE."""
    block_shape: tuple[int, int] = (1, 1)
    """BLOCK only: (rows, cols) of the weight-matrix blocks pruned column-row-wise (GRIM)."""
    n_m: tuple[int, int] | None = None
    """N_M only: (n, m), n of every m consecutive weights along the input (reduction) dim kept,
    1 <= n < m; the ratio is then 1 - n / m. None for every other scheme."""
    quant: QuantScheme = QuantScheme.FLOAT32
    """Quantization scheme of the weights."""
    weight_bits: int = 32
    """Bit-width of (most) weights; 32 for FLOAT32, 16 for FLOAT16."""
    activation_bits: int = 32
    """Bit-width of activations."""
    pot_ratio: float = 0.0
    """MIXED: fraction of each layer's rows (output channels) in power-of-two, in (0, 1);
    MULTI_PRECISION: fraction of the low-width rows' share in power-of-two, in [0, 1)."""
    high_bits: int = 0
    """MULTI_PRECISION only: the second, higher bit-width."""
    high_ratio: float = 0.0
    """MULTI_PRECISION only: fraction of rows at `high_bits`, in (0, 1)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "sparsity", parse_enum(SparsityScheme, self.sparsity, "sparsity"))
        object.__setattr__(self, "quant", parse_enum(QuantScheme, self.quant, "quant"))
        object.__setattr__(self, "block_shape", tuple(self.block_shape))
        if isinstance(self.n_m, list):
            object.__setattr__(self, "n_m", tuple(self.n_m))
        if not 0.0 <= self.sparsity_ratio < 1.0:
            raise SpecError(f"'sparsity_ratio' must be in [0, 1) (got {self.sparsity_ratio!r})")
        if self.sparsity is SparsityScheme.DENSE and self.sparsity_ratio != 0.0:
            raise SpecError(
                f"'sparsity_ratio' must be 0 for dense weights (got {self.sparsity_ratio}); "
                "choose a sparsity scheme"
            )
        if self.sparsity is SparsityScheme.N_M:
            nm = self.n_m
            if (not isinstance(nm, tuple) or len(nm) != 2
                    or not all(isinstance(v, int) and not isinstance(v, bool) for v in nm)
                    or not 1 <= nm[0] < nm[1]):
                raise SpecError(f"'n_m' must be two ints (n, m) with 1 <= n < m for n_m sparsity "
                                f"(got {nm!r})")
            if abs(self.sparsity_ratio - (1 - nm[0] / nm[1])) > 1e-9:
                raise SpecError(f"'sparsity_ratio' of {nm[0]}:{nm[1]} sparsity is "
                                f"{1 - nm[0] / nm[1]:g} (got {self.sparsity_ratio:g})")
        elif self.n_m is not None:
            raise SpecError(f"'n_m' is only for sparsity 'n_m' (got {self.n_m!r})")
        if len(self.block_shape) != 2 or min(self.block_shape) < 1:
            raise SpecError(f"'block_shape' must be two positive ints (got {self.block_shape!r})")
        for name in ("weight_bits", "activation_bits"):
            bits = getattr(self, name)
            if not isinstance(bits, int) or isinstance(bits, bool) or not 1 <= bits <= 32:
                raise SpecError(f"{name!r} must be an int in 1..32 (got {bits!r})")
        expected = _FLOAT_BITS.get(self.quant)
        if expected is not None and self.weight_bits != expected:
            raise SpecError(
                f"'weight_bits' must be {expected} for {self.quant.value} (got {self.weight_bits})"
            )
        if self.quant is QuantScheme.MIXED:
            if not 0.0 < self.pot_ratio < 1.0:
                raise SpecError(f"'pot_ratio' must be in (0, 1) for mixed (got {self.pot_ratio})")
        elif self.quant is QuantScheme.MULTI_PRECISION:
            # ILMPQ / Mix and Match split rows three ways: power-of-two and fixed-point rows at
            # the low width, and fixed-point rows at the high width.
            if not 0.0 <= self.pot_ratio < 1.0 or self.pot_ratio + self.high_ratio > 1.0:
                raise SpecError(
                    f"'pot_ratio' must be in [0, 1) with pot_ratio + high_ratio <= 1 "
                    f"(got {self.pot_ratio} + {self.high_ratio})"
                )
        elif self.pot_ratio != 0.0:
            raise SpecError(
                f"'pot_ratio' is only for quant 'mixed' or 'multi_precision' (got {self.pot_ratio})"
            )
        if self.quant is QuantScheme.MULTI_PRECISION:
            if not 0.0 < self.high_ratio < 1.0:
                raise SpecError(f"'high_ratio' must be in (0, 1) (got {self.high_ratio})")
            if not self.weight_bits < self.high_bits <= 32:
                raise SpecError(
                    f"'high_bits' must be in ({self.weight_bits}, 32] (got {self.high_bits})"
                )
        elif self.high_bits or self.high_ratio:
            raise SpecError("'high_bits' and 'high_ratio' are only for quant 'multi_precision'")

    @property
    def density(self) -> float:
        """Fraction of weights kept, 1 - sparsity_ratio."""
        return 1.0 - self.sparsity_ratio

    @property
    def is_float(self) -> bool:
        """True for float32 and float16 datapaths."""
        return self.quant in _FLOAT_BITS

    @property
    def mean_weight_bits(self) -> float:
        """Storage bits per kept weight, averaged over rows (multi-precision mixes two widths)."""
        if self.quant is QuantScheme.MULTI_PRECISION:
            return self.weight_bits * (1 - self.high_ratio) + self.high_bits * self.high_ratio
        return float(self.weight_bits)

    def label(self) -> str:
        """A short human label, e.g. ``block:0.75 w8a8 mixed(pot=0.5)``."""
        parts = []
        if self.sparsity is SparsityScheme.N_M:
            parts.append(f"n_m({self.n_m[0]}:{self.n_m[1]}):{self.sparsity_ratio:g}")
        elif self.sparsity is not SparsityScheme.DENSE:
            parts.append(f"{self.sparsity.value}:{self.sparsity_ratio:g}")
        if self.quant is QuantScheme.FLOAT32:
            parts.append("fp32")
        elif self.quant is QuantScheme.FLOAT16:
            parts.append("fp16")
        else:
            text = f"w{self.weight_bits}a{self.activation_bits}"
            if self.quant is QuantScheme.POWER_OF_TWO:
                text += " pot"
            elif self.quant is QuantScheme.MIXED:
                text += f" mixed(pot={self.pot_ratio:g})"
            elif self.quant is QuantScheme.MULTI_PRECISION:
                pot = f", pot={self.pot_ratio:g}" if self.pot_ratio else ""
                text += f" mp({self.high_bits}b={self.high_ratio:g}{pot})"
            parts.append(text)
        return " ".join(parts)


DENSE_FP32 = Compression()
"""No compression: dense float32 weights and activations."""
