"""Grid searches and kernel-map reuse are op attributes: trace files carry them, both ways."""

from __future__ import annotations

import json

import numpy as np
import pytest

from workloads import NetworkBuilder, OpKind, TraceError, trace
from workloads.ops import NeighbourAttrs, NeighbourSearch, SparseConv3dAttrs
from workloads.pointcloud import networks as wls
from workloads.pointcloud import pointsets as ps


@pytest.fixture(scope="module")
def sweep():
    return ps.lidar_sweep(np.random.default_rng(5), n_beams=16, n_azimuth=256)


@pytest.fixture(scope="module")
def minkunet(sweep):
    return wls.minkunet(sweep, scene="outdoor").network


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_built_networks_round_trip_with_their_attributes(minkunet, sweep, fmt):
    pillars = wls.pointpillars(sweep).network
    for net in (minkunet, pillars):
        loaded = trace.loads(trace.dumps(net, fmt), fmt)
        assert loaded == net
    loaded = trace.loads(trace.dumps(pillars, fmt), fmt)
    assert loaded["pillar_group"].attrs.search is NeighbourSearch.GRID
    loaded = trace.loads(trace.dumps(minkunet, fmt), fmt)
    reused = {op.name for op in loaded if op.kind is OpKind.SPARSE_CONV3D and op.attrs.reuses_kernel_map}
    assert {"stem.1.conv", "up4.deconv.conv"} <= reused and "stem.0.conv" not in reused


def test_the_trace_spells_them_out(sweep):
    data = trace.to_dict(wls.pointpillars(sweep).network)
    group = next(op for op in data["ops"] if op["name"] == "pillar_group")
    assert group["attrs"]["search"] == "grid"
    conv = SparseConv3dAttrs(kernel_volume=27, n_pairs=10, reuses_kernel_map=True)
    data = trace.to_dict(_one_conv(conv))
    assert json.loads(json.dumps(data))["ops"][0]["attrs"] == {
        "kernel_volume": 27, "n_pairs": 10, "stride": 1, "reuses_kernel_map": True}


def _one_conv(attrs: SparseConv3dAttrs):
    b = NetworkBuilder("one")
    x = b.input("x", (100, 8))
    b.op(OpKind.SPARSE_CONV3D, [x], attrs, weight_shape=(attrs.kernel_volume, 8, 16),
         output_shape=(100, 16), name="conv")
    return b.build()


def _one_query(attrs: NeighbourAttrs):
    b = NetworkBuilder("one")
    c, p = b.input("c", (10, 3)), b.input("p", (100, 3))
    b.op(OpKind.BALL_QUERY, [c, p], attrs, output_shape=(10, attrs.k), name="q")
    return b.build()


def test_a_trace_without_them_takes_the_defaults():
    """Traces written before these fields existed still load: distance search, map built."""
    data = trace.to_dict(_one_conv(SparseConv3dAttrs(kernel_volume=27, n_pairs=10)))
    del data["ops"][0]["attrs"]["reuses_kernel_map"]
    assert trace.from_dict(data)["conv"].attrs.reuses_kernel_map is False
    data = trace.to_dict(_one_query(NeighbourAttrs(k=4, radius=0.1)))
    del data["ops"][0]["attrs"]["search"]
    assert trace.from_dict(data)["q"].attrs.search is NeighbourSearch.DISTANCE


def test_bad_values_name_the_field():
    data = trace.to_dict(_one_query(NeighbourAttrs(k=4, radius=0.1)))
    data["ops"][0]["attrs"]["search"] = "nearest"
    with pytest.raises(TraceError, match=r"t.json: op 'q' \(#0\) field 'attrs.search': expected "
                                         r"one of \['distance', 'grid'\], got 'nearest'"):
        trace.from_dict(data, source="t.json")
    data = trace.to_dict(_one_conv(SparseConv3dAttrs(kernel_volume=27, n_pairs=10)))
    data["ops"][0]["attrs"]["reuses_kernel_map"] = "yes"
    with pytest.raises(TraceError, match=r"field 'attrs.reuses_kernel_map': expected true or "
                                         r"false, got 'yes'"):
        trace.from_dict(data, source="t.json")
