"""Tensor lifetimes (`workloads.liveness`), on hand-counted networks."""

from __future__ import annotations

from workloads import NetworkBuilder
from workloads.liveness import (
    activation_peak_bytes, lifetimes, storage_roots, tensor_sizes_and_last_use,
)


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


def test_lifetimes_fields_by_hand():
    # Roots in order x, a, b, sum (the view v stores nothing); ops a=0, v=1, b=2, sum=3.
    lt = lifetimes(_branchy())
    assert lt.names == ("x", "a", "b", "sum") and lt.n_inputs == 1
    assert lt.size_bytes == (40, 400, 400, 400)
    assert lt.born == (0, 0, 2, 3) and lt.last == (0, 3, 3, 3)
    # The add reads a once through the view and b: roots 1 and 2; the view writes nothing.
    assert lt.reads == ((0,), (1,), (1,), (1, 2)) and lt.output == (1, -1, 2, 3)
    assert lt.kept == {3}
    # x dies when op 0 ends; a and b when the add ends; the output is kept to the frame's end.
    assert lt.frees == ((0,), (), (), (1, 2))
    assert lt.live_sets() == ((0, 1), (1,), (1, 2), (1, 2, 3))
    assert lt.live_bytes() == (440, 400, 800, 1200)


def test_an_in_place_saving_is_taken_per_step():
    # A device writing the add's output over b saves 400 B at step 3 only.
    lt = lifetimes(_branchy())
    assert lt.live_bytes((0, 0, 0, 400)) == (440, 400, 800, 800)
    assert lt.peak_bytes((0, 0, 0, 400)) == 800


def test_device_sizes_replace_the_networks():
    # One byte per element (an int8 deployment of this fp32 network): a quarter of each size.
    lt = lifetimes(_branchy(), lambda op, j: op.input_bytes_of(j) // 4,
                   lambda op: op.output_bytes // 4)
    assert lt.size_bytes == (10, 100, 100, 100) and lt.peak_bytes() == 300


def test_an_unread_tensor_dies_where_it_is_made_and_an_output_view_of_an_input_is_kept():
    bld = NetworkBuilder("ends")
    x = bld.input("x", (1, 10))
    bld.linear(x, 100, name="dead")  # read by nobody, not an output
    v = bld.reshape(x, (1, 10), name="v")
    bld.linear(x, 100, name="y")
    lt = lifetimes(bld.build(outputs=[v, "y"]))
    # x (40 B) is an output through its view: live to the last op (2), kept, never freed early.
    assert lt.kept == {0, 2} and lt.last[0] == 2
    assert lt.frees == ((1,), (), ())
    assert lt.live_bytes() == (440, 40, 440)
