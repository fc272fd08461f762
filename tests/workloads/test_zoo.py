"""The model zoo against published parameter counts and MACs, plus structure and argument checks.

`Network.macs` counts multiply-accumulates of conv, linear and matmul ops. The "GFLOPS" of the
torchvision model docs and the "FLOPs" of DeiT's Table 1 are such MAC counts (torchvision counts
conv/linear MACs; ResNet-18's 1.81 is 1.814 G MACs), so they compare directly.
"""

from __future__ import annotations

import math
from importlib.metadata import entry_points

import pytest

import workloads.zoo as zoo
from workloads import Network, OpKind, SpecError
from workloads.zoo import IRBlock, inverted_residual_net
from workloads.zoo.mobilenet import TF_SLIM_MOBILENETV2_MMACS
from workloads.zoo.published import MAC_COUNTS, PAPER_COUNTS, PARAMETER_COUNTS, Quantity, published

# --- published counts (workloads.zoo.published: one record per figure, with its source) ---------


@pytest.mark.parametrize("count", PARAMETER_COUNTS, ids=lambda c: c.model)
def test_params_equal_published(count):
    assert count.build().params == count.value


@pytest.mark.parametrize("count", MAC_COUNTS, ids=lambda c: c.model)
def test_macs_match_published(count):
    # within the rounding of the published figure (half a unit of its last digit)
    assert abs(count.build().macs / 1e9 - count.value) <= count.half_unit
    assert count.holds(count.build())


@pytest.mark.parametrize("count", PAPER_COUNTS, ids=lambda c: f"{c.model}-{c.quantity.name}")
def test_paper_counts_round_to_published(count):
    # printed in millions to the last digit: within half a unit of it
    assert count.holds(count.build())


def test_mobilenet_v1_rounds_to_its_paper_by_hand():
    # arXiv 1704.04861 Table 8: 569 M mult-adds, 4.2 M parameters (1.0 MobileNet-224).
    net = zoo.mobilenet_v1()
    assert round(net.macs / 1e6) == published("mobilenet-v1", Quantity.MACS).value == 569
    assert round(net.params / 1e6, 1) == published("mobilenet-v1", Quantity.PARAMS).value == 4.2


@pytest.mark.parametrize("width, resolution", sorted(TF_SLIM_MOBILENETV2_MMACS))
def test_mobilenetv2_macs_match_tf_slim_table(width, resolution):
    net = zoo.mobilenetv2(width=width, resolution=resolution)
    assert math.floor(net.macs / 1e6) == TF_SLIM_MOBILENETV2_MMACS[width, resolution]


def test_mcunet_default_is_mcunet_in2():
    # mit-han-lab/mcunet README, ImageNet model list: mcunet-256kB (net_id mcunet-in2)
    # 67.3M MACs, 0.73M params (rounded to 0.1M MACs and 0.01M params); input 160x160.
    net = zoo.mcunet()
    assert net.inputs[0].shape == (1, 3, 160, 160)
    assert abs(net.macs / 1e6 - 67.3) <= 0.05
    assert abs(net.params / 1e6 - 0.73) <= 0.005


def _bert_base_macs(batch, seq_len, num_classes=0, d=768, ffn=3072, layers=12):
    """BERT-base MACs from the architecture, independently of the builder."""
    projections = 4 * seq_len * d * d  # query, key, value, attention output
    feed_forward = 2 * seq_len * d * ffn  # intermediate and output dense
    attention = 2 * seq_len * seq_len * d  # Q K^T and P V over all heads (heads * head_dim = d)
    pooler = d * d  # [CLS] token only
    return batch * (layers * (projections + feed_forward + attention) + pooler + d * num_classes)


@pytest.mark.parametrize("batch, seq_len, num_classes", [(1, 128, 0), (2, 64, 3)])
def test_bert_base_macs_equal_formula(batch, seq_len, num_classes):
    net = zoo.bert_base(batch=batch, seq_len=seq_len, num_classes=num_classes)
    assert net.macs == _bert_base_macs(batch, seq_len, num_classes)
    assert _bert_base_macs(1, 128) == 11_174_215_680  # ~11.2 G MACs at 128 tokens


# --- structure ---------------------------------------------------------------------------------

ALL_BUILDERS = [zoo.resnet18, zoo.resnet50, zoo.mobilenetv2, zoo.vgg16, zoo.vit, zoo.deit_tiny,
                zoo.deit_small, zoo.deit_base, zoo.mcunet]


@pytest.mark.parametrize("builder", ALL_BUILDERS, ids=lambda f: f.__name__)
def test_output_shape_is_batch_by_classes(builder):
    net = builder(batch=2, num_classes=10)
    assert isinstance(net, Network)
    assert [net[o].output_shape for o in net.outputs] == [(2, 10)]
    one = builder(batch=1, num_classes=10)
    assert net.params == one.params  # learned tensors do not grow with the batch
    assert net.macs == 2 * one.macs


def test_bert_outputs():
    net = zoo.bert_base(batch=2, seq_len=16)
    assert [net[o].output_shape for o in net.outputs] == [(2, 16, 768), (2, 768)]
    logits = zoo.bert_base(batch=2, seq_len=16, num_classes=3)
    assert [logits[o].output_shape for o in logits.outputs] == [(2, 3)]
    assert logits.params == net.params + 768 * 3 + 3
    assert {s.name: s.shape for s in net.inputs} == {
        "input_ids": (2, 16), "token_type_ids": (2, 16), "position_ids": (1, 16)}


def test_op_names_follow_reference_modules():
    assert zoo.resnet50()["layer1.0.downsample.0"].kind is OpKind.CONV2D
    assert zoo.resnet18()["layer4.1.conv2"].output_shape == (1, 512, 7, 7)
    mbv2 = zoo.mobilenetv2()
    assert mbv2["features.3.conv.0.0"].weight_shape == (144, 24, 1, 1)
    assert mbv2["features.3.conv.1.0"].attrs.groups == 144
    assert mbv2["features.18.0"].weight_shape == (1280, 320, 1, 1)
    assert zoo.vgg16()["features.28"].weight_shape == (512, 512, 3, 3)
    deit = zoo.deit_small()
    assert deit["blocks.4.attn.matmul_qk"].output_shape == (1, 6, 197, 197)
    assert deit["blocks.4.attn.matmul_qk"].input_shapes == ((1, 6, 197, 64), (1, 6, 64, 197))
    assert zoo.bert_base()["encoder.layer.11.output.LayerNorm"].output_shape == (1, 128, 768)


def test_mobilenetv2_residuals_where_stride_1_and_equal_channels():
    net = zoo.mobilenetv2()
    adds = sorted(int(op.name.split(".")[1]) for op in net if op.kind is OpKind.ADD)
    # Blocks 1..17 of (t, c, n, s) = (1,16,1,1) (6,24,2,2) (6,32,3,2) (6,64,4,2) (6,96,3,1)
    # (6,160,3,2) (6,320,1,1): every repeat after the first of a stage has a residual.
    assert adds == [3, 5, 6, 8, 9, 10, 12, 13, 15, 16]


def test_mobilenetv2_width_and_resolution_scaling():
    base = zoo.mobilenetv2()
    # Resolution changes MACs, not parameters.
    assert zoo.mobilenetv2(resolution=160).params == base.params
    assert zoo.mobilenetv2(resolution=448).macs > 3.9 * base.macs
    # make_divisible(32 * 0.35) = 16 stem channels; the last conv stays 1280 below width 1.
    narrow = zoo.mobilenetv2(width=0.35)
    assert narrow["features.0.0"].output_shape[1] == 16
    assert narrow["features.18.0"].output_shape[1] == 1280
    # Above width 1 the last conv scales too: make_divisible(1280 * 1.4) = 1792.
    wide = zoo.mobilenetv2(width=1.4)
    assert wide["features.0.0"].output_shape[1] == 48
    assert wide["features.18.0"].output_shape[1] == 1792
    assert narrow.params < base.params < wide.params


@pytest.mark.parametrize("resolution", [32, 64, 160, 224, 320, 448])
def test_vgg16_adaptive_pool_keeps_classifier_input(resolution):
    # torchvision pools the last map to 7x7 whatever the input, so the classifier (and the
    # parameter count) never changes; only the convs' MACs scale, with the map area.
    net = zoo.vgg16(resolution=resolution)
    assert net["flatten"].output_shape == (1, 512 * 7 * 7)
    assert net.params == 138_357_544
    classifier_macs = 25088 * 4096 + 4096 * 4096 + 4096 * 1000
    conv_macs_224 = 15_470_264_320 - classifier_macs
    if resolution % 32 == 0:
        assert net.macs == conv_macs_224 * (resolution // 32) ** 2 // 49 + classifier_macs


def test_vit_class_token_at_batch_above_one():
    # The learned (1, 1, D) class token is expanded over the batch: still D parameters, and
    # per-image MACs are unchanged.
    one, two = zoo.deit_tiny(batch=1), zoo.deit_tiny(batch=2)
    assert [s.name for s in two.inputs] == ["image"]
    assert one["cls_token"].params == two["cls_token"].params == 192
    assert two.macs == 2 * one.macs and two.params == one.params
    assert two["pos_embed"].output_shape == (2, 197, 192)


@pytest.mark.parametrize("dim, depth, heads, patch, resolution, classes",
                         [(64, 3, 4, 8, 32, 10), (96, 1, 3, 4, 16, 0), (48, 5, 2, 16, 64, 7)])
def test_vit_arbitrary_shape_counts(dim, depth, heads, patch, resolution, classes):
    net = zoo.vit(dim=dim, depth=depth, heads=heads, patch=patch, resolution=resolution,
                  num_classes=classes)
    tokens = (resolution // patch) ** 2 + 1
    # Per block: qkv 3D^2+3D, proj D^2+D, fc1 4D^2+4D, fc2 4D^2+D, two LayerNorms 4D.
    params = (3 * patch * patch * dim + dim  # patch embedding conv with bias
              + dim + tokens * dim  # class token, position embedding
              + depth * (12 * dim * dim + 13 * dim)
              + 2 * dim  # final LayerNorm
              + (dim * classes + classes if classes else 0))
    macs = ((tokens - 1) * 3 * patch * patch * dim
            + depth * (12 * tokens * dim * dim + 2 * tokens * tokens * dim)
            + dim * classes)
    assert net.params == params
    assert net.macs == macs
    assert net[net.outputs[0]].output_shape == ((1, classes) if classes else (1, dim))


def test_inverted_residual_net_tiny_hand_count():
    blocks = [IRBlock(expand_ratio=1, out_channels=4, kernel=3, stride=1),
              IRBlock(expand_ratio=6, out_channels=8, kernel=5, stride=2)]
    net = inverted_residual_net(blocks, name="tiny", batch=1, resolution=8, stem_channels=4,
                                head_channels=16, num_classes=10)
    macs = (
        4 * 4 * 4 * (3 * 3 * 3)  # stem 3x3 s2, 3->4 channels, 8x8 -> 4x4
        + 4 * 4 * 4 * 9  # block 1 depthwise 3x3 on 4 channels at 4x4 (no expand: t = 1)
        + 4 * 4 * 4 * 4  # block 1 project 1x1 4->4
        + 4 * 4 * 24 * 4  # block 2 expand 1x1 4->24 at 4x4
        + 2 * 2 * 24 * 25  # block 2 depthwise 5x5 s2 on 24 channels, 4x4 -> 2x2
        + 2 * 2 * 8 * 24  # block 2 project 1x1 24->8
        + 2 * 2 * 16 * 8  # head 1x1 8->16
        + 16 * 10  # classifier
    )
    assert macs == 7936
    assert net.macs == macs
    assert [op.name for op in net if op.kind is OpKind.ADD] == ["features.1.add"]
    assert net[net.outputs[0]].output_shape == (1, 10)


def test_builds_are_deterministic():
    assert zoo.deit_tiny(batch=2) == zoo.deit_tiny(batch=2)
    assert zoo.mcunet() == zoo.mcunet()


def test_entry_points_build_networks():
    eps = {ep.name: ep for ep in entry_points(group="edgesim.workloads")
           if ep.value.startswith("workloads.zoo:")}
    assert set(eps) >= {"resnet18", "resnet50", "mobilenetv2", "vgg16", "vit", "deit-tiny",
                        "deit-small", "deit-base", "bert-base", "mcunet"}
    for ep in eps.values():
        builder = ep.load()
        summary = builder.__doc__.splitlines()[0]
        assert "arXiv" in summary, f"{ep.name}: first docstring line cites no paper: {summary}"


# --- invalid arguments -------------------------------------------------------------------------

@pytest.mark.parametrize("call, match", [
    (lambda: zoo.mobilenetv2(width=0),
     r"mobilenetv2: 'width' must be a finite number > 0 \(got 0\)"),
    (lambda: zoo.mobilenetv2(width=-0.5), r"'width' must be a finite number > 0"),
    (lambda: zoo.mobilenetv2(width=float("inf")), r"'width' must be a finite number > 0"),
    (lambda: inverted_residual_net([IRBlock(expand_ratio=0.1, out_channels=8, kernel=3, stride=1)],
                                   name="t", batch=1, resolution=32, stem_channels=2,
                                   head_channels=None, num_classes=2),
     r"features.1: expand_ratio 0.1 on 2 input channels leaves 0 expanded channels"),
    (lambda: zoo.mobilenetv2(resolution=16), r"'resolution' must be an int from 32"),
    (lambda: zoo.resnet18(resolution=31), r"resnet18: 'resolution' must be an int from 32"),
    (lambda: zoo.vgg16(resolution=8), r"vgg16: 'resolution' must be an int from 32"),
    (lambda: zoo.resnet50(batch=0), r"resnet50: 'batch' must be an int >= 1 \(got 0\)"),
    (lambda: zoo.vit(dim=100, heads=12), r"vit: 'dim' 100 must be divisible by 'heads' 12"),
    (lambda: zoo.vit(resolution=200), r"'resolution' must be a positive multiple of 'patch' 16"),
    (lambda: zoo.vit(resolution=8), r"'resolution' must be a positive multiple of 'patch' 16"),
    (lambda: zoo.vit(depth=0), r"vit: 'depth' must be an int >= 1"),
    (lambda: zoo.bert_base(seq_len=513), r"'seq_len' must be <= 512"),
    (lambda: zoo.mcunet(resolution=16), r"mcunet: 'resolution' must be an int from 32"),
    (lambda: zoo.mcunet(blocks=()), r"'blocks' must be a non-empty sequence of IRBlock"),
    (lambda: IRBlock(expand_ratio=6, out_channels=8, kernel=4, stride=1),
     r"IRBlock: 'kernel' must be one of \(3, 5, 7\) \(got 4\)"),
    (lambda: IRBlock(expand_ratio=6, out_channels=8, kernel=3, stride=3),
     r"'stride' must be one of"),
    (lambda: IRBlock(expand_ratio=0, out_channels=8, kernel=3, stride=1),
     r"'expand_ratio' must be"),
])
def test_invalid_arguments_raise_spec_error(call, match):
    with pytest.raises(SpecError, match=match):
        call()


# --- activation memory -------------------------------------------------------------------------

def test_mobilenetv2_int8_activation_peak():
    """MobileNetV2 1.0/224 at int8 activations (1 byte per element).

    MCUNetV2 (Lin et al., arXiv 2110.15352, Fig. 1) puts the layer-by-layer peak at 1372 kB =
    1,404,928 B = 112*112*(16 + 96): input and output of block 2's 1x1 expand conv.
    `activation_peak_bytes` keeps each tensor from its producer to its last reader, and every
    op's input and output are distinct buffers, so we get more:

    - Unfused (conv, BN and ReLU6 are separate ops), the peak is at features.2.conv.0.1, the
      BN after that expand conv: its input and output, both 96x112x112, are live; block 1's
      16-channel output died at the conv. 2 * 96*112*112 = 2,408,448 B.
    - Fused (BN and ReLU6 folded into each conv), the expand conv step holds exactly MCUNetV2's
      1,404,928 B, but the peak moves to the next op, block 2's stride-2 depthwise conv: input
      96x112x112 plus output 96x56x56 = 1,505,280 B. MCUNet's TinyEngine runs depthwise convs
      in place, which is why its figure is set by the expand conv instead.
    """
    net = zoo.mobilenetv2().quantized("fixed", weight_bits=8, activation_bits=8)
    assert net.activation_peak_bytes() == 2 * 96 * 112 * 112 == 2_408_448
    fused = net.fused()
    assert fused.activation_peak_bytes() == 96 * 112 * 112 + 96 * 56 * 56 == 1_505_280
    expand = fused["features.2.conv.0.0+1+2"]  # conv, BN, ReLU6 of the expand layer
    assert expand.input_bytes + expand.output_bytes == 112 * 112 * (16 + 96) == 1372 * 1024


def test_absurd_resolution_is_refused():
    with pytest.raises(SpecError, match="to 8192 pixels"):
        zoo.resnet18(resolution=100_000)
