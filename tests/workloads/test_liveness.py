"""Tensor lifetimes (`workloads.liveness`), on hand-counted networks."""

from __future__ import annotations

from workloads import NetworkBuilder
from workloads.liveness import activation_peak_bytes, storage_roots, tensor_sizes_and_last_use


def _branchy():
    """x(1,10) -> a(1,100) -> b(1,100); v is a free view of a; sum = v + b. The last op reads
    a through its view, so a lives across b."""
    bld = NetworkBuilder("branchy")
    x = bld.input("x", (1, 10))
    a = bld.linear(x, 100, name="a")
    v = bld.reshape(a, (1, 100), name="v")
    b = bld.linear(a, 100, name="b")
    bld.add(v, b, name="sum")
    return bld.build()


def test_sizes_last_uses_and_views_by_hand():
    net = _branchy()
    sizes, last_use = tensor_sizes_and_last_use(net)
    # fp32: x 40 B, a 400 B, b 400 B, sum 400 B; the view v occupies nothing.
    assert sizes == {"x": 40, "a": 400, "b": 400, "sum": 400}
    # Four ops, the add last (index 3): a, read through v by the add, lives to it, as does
    # the output.
    assert last_use["x"] == 0 and last_use["a"] == 3 and last_use["sum"] == 3
    assert storage_roots(net)["v"] == "a" == net.storage_roots["v"]


def test_peak_is_the_largest_live_set():
    # At 'sum': a (400, via the view), b (400) and sum (400) are live: 1200 B; x died at op 0.
    net = _branchy()
    assert activation_peak_bytes(net) == 1200 == net.activation_peak_bytes()
