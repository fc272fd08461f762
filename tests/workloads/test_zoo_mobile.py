"""MobileBERT and MobileNet v1 (the mobile validation study's networks) by hand and against
their papers: their published figures are records of `workloads.zoo.published`, asserted in
tests/workloads/test_zoo.py with the rest of the zoo; here the counts are rebuilt layer by layer
and the arguments checked."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from workloads import SpecError
from workloads.zoo import mobilebert, mobilenet_v1


def test_mobilebert_counts_by_hand():
    net = mobilebert()
    no_norm = lambda d: 2 * d  # noqa: E731  (scale and shift)
    lin = lambda i, o: i * o + o  # noqa: E731
    embeddings = 30522 * 128 + lin(384, 512) + 512 * 512 + 2 * 512 + no_norm(512)
    layer = (2 * (lin(512, 128) + no_norm(128)) + 2 * lin(128, 128) + lin(512, 128)
             + lin(128, 128) + no_norm(128) + 4 * (lin(128, 512) + lin(512, 128) + no_norm(128))
             + lin(128, 512) + no_norm(512))
    assert net.params == embeddings + 24 * layer == 24_581_888
    per_token = 2 * 512 * 128 + 2 * 128 * 128 + 512 * 128 + 128 * 128 + 4 * 2 * 128 * 512 + 128 * 512
    attention = 2 * 4 * 128 * 128 * 32
    assert net.macs == 128 * 384 * 512 + 24 * (128 * per_token + attention)
    with pytest.raises(SpecError, match="seq_len"):
        mobilebert(seq_len=513)


def test_mobilenet_v1_counts_by_hand():
    net = mobilenet_v1()
    # By hand: stem 112^2 x 32 x 27, classifier 1024 x 1000 + bias.
    assert net.ops[0].macs == 112 * 112 * 32 * 27
    assert net.ops[-1].params == 1024 * 1000 + 1000
    assert [net[o].output_shape for o in net.outputs] == [(1, 1000)]
    with pytest.raises(SpecError, match="resolution"):
        mobilenet_v1(resolution=16)


def test_registered_under_their_published_names():
    eps = {ep.name: ep for ep in entry_points(group="edgesim.workloads")}
    assert eps["mobilebert"].load() is mobilebert
    assert eps["mobilenet-v1"].load() is mobilenet_v1
    assert mobilebert().name == "mobilebert" and mobilenet_v1().name == "mobilenet-v1"
