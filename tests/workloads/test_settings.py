"""The compression-setting grammar in `workloads.settings` (the CLI and `compare` only call it)."""

from __future__ import annotations

import pytest

from tests.helpers import chain
from workloads import QuantScheme, SparsityScheme, SpecError
from workloads.settings import apply_setting, parse_prune, parse_quant


def test_prune_specs_give_the_keywords_of_network_pruned():
    assert parse_prune("channel:0.5") == {"scheme": SparsityScheme.CHANNEL, "ratio": 0.5}
    assert parse_prune("block:0.75:8x4") == {
        "scheme": SparsityScheme.BLOCK, "ratio": 0.75, "block_shape": (8, 4)}


@pytest.mark.parametrize("text, match", [
    ("block", "expected SCHEME:RATIO"),
    ("block:nan", "finite"),
    ("pattern:0.5:4x4", "block shape ROWSxCOLS"),
    ("sparse:0.5", "sparse"),
])
def test_bad_prune_specs_name_the_text_and_the_form(text, match):
    with pytest.raises(SpecError, match=match):
        parse_prune(text)


def test_quant_specs_give_the_keywords_of_network_quantized():
    assert parse_quant("fp32") == {"scheme": QuantScheme.FLOAT32}
    assert parse_quant("pot:w4a8") == {
        "scheme": QuantScheme.POWER_OF_TWO, "weight_bits": 4, "activation_bits": 8}
    assert parse_quant("mixed:w4a8:0.5") == {
        "scheme": QuantScheme.MIXED, "weight_bits": 4, "activation_bits": 8, "pot_ratio": 0.5}


@pytest.mark.parametrize("text, match", [
    ("int8", "expected fp32, fp16, w8a8"),
    ("mixed:w4a8", "expected fp32"),
    ("mp:w4a8:8.7:0.25", "whole number"),
])
def test_bad_quant_specs_name_the_text_and_the_form(text, match):
    with pytest.raises(SpecError, match=match):
        parse_quant(text)


def test_a_setting_applies_its_tokens_in_order():
    # chain(2, 16): two 16x16 linear layers; block 75 % then int8 then fusion (nothing to fuse
    # between two linears, so the network keeps its two ops).
    net = apply_setting(chain(2, 16), "block:0.75+w8a8+fuse")
    assert [op.name for op in net.ops] == ["l0", "l1"]
    comp = net.ops[0].compression
    assert (comp.sparsity, comp.sparsity_ratio, comp.quant, comp.weight_bits) == (
        SparsityScheme.BLOCK, 0.75, QuantScheme.FIXED, 8)
    assert net.ops[0].effective_macs == 16 * 16 // 4
    assert apply_setting(chain(2, 16), "dense") == chain(2, 16)
