"""Parts of a packed linear layer: a Gather, Slice or Split of a linear layer's output (a packed
q/k/v projection, through views and transposes) becomes a LINEAR of just those output rows.

`_PackedLinears` is the importer's share of this: it records each linear as it is converted
and answers the converters' `select`. It reads the importer's `builder`, `views`, `weights`,
`acts`, `act_inputs`, `read_bits`, `node_names` and `fresh`, and fills `linears` and
`split_sources`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from workloads.onnx.convert import NodeError, view_layout
from workloads.onnx.passes import Const
from workloads.onnx.read import _one_line
from workloads.ops import LinearAttrs, OpKind, TransposeAttrs


@dataclass(frozen=True)
class _Linear:
    """What a LINEAR op was made from: enough to split it into row ranges later."""

    x: str
    weight: Const
    transposed: bool
    """True when the ONNX weight is (in, out) (MatMul, Gemm without transB)."""
    bias: bool
    onnx_weight: str
    """Name of the weight constant (its quantization is looked up by it)."""


class _PackedLinears:
    """The linears an import has made, and the parts of them the converters select."""

    def record_linear(self, op: str, x: str, w: Const, transposed: bool, bias: bool,
                      onnx_weight: str) -> None:
        self.linears[op] = _Linear(x, w, transposed, bias, onnx_weight)

    def select(self, node, name: str, data: str, pick: Callable[[np.ndarray], np.ndarray]) -> str:
        """The part `pick` takes of `data`, as a linear layer of just those output rows.

        `data` must be a linear layer's output, possibly through views and transposes (a packed
        q/k/v projection). The rows taken are found by running the same rearrangements and
        `pick` on an array of element positions; the part is then a LINEAR of those rows, a free
        view and, when the layout needs one, a copying TRANSPOSE. The packed linear is dropped
        once nothing else reads it.
        """
        chain, source = [], data
        while source in self.views:
            source, fn = self.views[source]
            chain.append(fn)
        linear = self.linears.get(source)
        if linear is None:
            raise NodeError(
                f"takes part of tensor {data!r}; edgesim models a slice only of a linear layer's "
                "output (a packed q/k/v projection), or the first token of a (N, L, D) sequence"
            )
        full = self.builder.shape(source)
        d_out = full[-1]
        positions = np.arange(math.prod(full)).reshape(full)
        for fn in reversed(chain):
            positions = fn(positions)
        try:
            picked = np.asarray(pick(positions))
        except (IndexError, ValueError) as err:
            raise NodeError(f"selection out of range: {_one_line(err)}") from None
        features, rows = picked % d_out, picked // d_out
        lo, hi = int(features.min()), int(features.max()) + 1
        k, n_rows = hi - lo, math.prod(full[:-1])
        flat = rows * k + (features - lo)
        layout = view_layout(flat, n_rows * k)
        if layout is None:
            raise NodeError(
                f"takes a part of linear {source!r}'s output that is not a block of its output "
                "features over all rows; edgesim cannot model it as a smaller linear layer"
            )
        self.split_sources.setdefault(source, self.node_names.get(id(node), name))
        part = self._part_linear(source, linear, lo, hi)
        order, perm = layout
        shape = picked.shape
        out = part
        kept = tuple(shape[i] for i in order)
        if kept != self.builder.shape(out):
            out = self.builder.reshape(out, kept, copy=False, name=self.fresh(f"{name}.view"))
        if perm != tuple(range(len(perm))):
            out = self.builder.op(OpKind.TRANSPOSE, [out], TransposeAttrs(perm=perm, copy=True),
                                  name=self.fresh(f"{name}.transpose"))
        if self.builder.shape(out) != shape:
            out = self.builder.reshape(out, shape, copy=False, name=self.fresh(f"{name}.shape"))
        return out

    def _part_linear(self, source: str, linear: _Linear, lo: int, hi: int) -> str:
        key = f"{source}[{lo}:{hi}]"
        if key in self.acts:
            return self.acts[key]
        k = hi - lo
        label = f"{source}.part{lo // k}" if lo % k == 0 else key
        d_in = self.builder.shape(linear.x)[-1]
        out = self.builder.op(OpKind.LINEAR, [linear.x], LinearAttrs(bias=linear.bias),
                              weight_shape=(k, d_in), name=self.fresh(label))
        layout = self.weights[source][2]
        self.weights[out] = (linear.weight, linear.onnx_weight,
                             lambda a, f=layout: f(a)[lo:hi])
        self.acts[key] = out  # a private key: ONNX names never hold brackets like this
        if source in self.act_inputs:
            self.act_inputs[out] = self.act_inputs[source]
        if source in self.read_bits:
            self.read_bits[out] = self.read_bits[source]
        return out
