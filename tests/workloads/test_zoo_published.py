"""The zoo's published-configuration models against the figures their authors published.

MCUNet family and its baselines: the mit-han-lab/mcunet README model lists give MACs to 0.1M
and parameters to 0.01M, so a count passes when it rounds to the published figure (tolerance
half a unit of the last published digit). Other models state their source and tolerance where
they are checked.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

import workloads.zoo as zoo
from workloads import Network, OpKind, SpecError
from workloads.zoo.published import (
    DARKNET_YOLOV4_FLOPS,
    DARKNET_YOLOV4_INPUTS_PX,
    MCUNET_README,
    Quantity,
    published,
)

# --- MCUNet family: mit-han-lab/mcunet README, "ImageNet model list" and "VWW model list" ------

MCUNET_INPUTS = [
    # builder, net_id, resolution, classes (the README's lists; MACs and parameters are in
    # workloads.zoo.published.MCUNET_README)
    (zoo.mcunet_in0, "mcunet-in0", 48, 1000),
    (zoo.mcunet_in1, "mcunet-in1", 96, 1000),
    (zoo.mcunet_in2, "mcunet-in2", 160, 1000),
    (zoo.mcunet_in3, "mcunet-in3", 176, 1000),
    (zoo.mcunet_in4, "mcunet-in4", 160, 1000),
    (zoo.mcunet_vww0, "mcunet-vww0", 64, 2),
    (zoo.mcunet_vww1, "mcunet-vww1", 80, 2),
    (zoo.mcunet_vww2, "mcunet-vww2", 144, 2),
    # baselines of the same table: "mbv2-320kB" / "proxyless-320kB"
    (zoo.mbv2_w035, "mbv2-w0.35", 144, 1000),
    (zoo.proxyless_w03, "proxyless-w0.3", 176, 1000),
]


@pytest.mark.parametrize("builder, net_id, resolution, classes", MCUNET_INPUTS,
                         ids=[row[1] for row in MCUNET_INPUTS])
def test_mcunet_family_matches_readme(builder, net_id, resolution, classes):
    net = builder()
    assert net.name == net_id
    assert net.inputs[0].shape == (1, 3, resolution, resolution)
    assert [net[o].output_shape for o in net.outputs] == [(1, classes)]
    mmacs, mparams = published(net_id, Quantity.MACS), published(net_id, Quantity.PARAMS)
    assert mmacs.build is builder and mparams.build is builder
    assert abs(net.macs / 1e6 - mmacs.value) <= 0.05 == mmacs.half_unit
    assert abs(net.params / 1e6 - mparams.value) <= 0.005 == mparams.half_unit


def test_every_mcunet_readme_figure_is_checked():
    assert {c.model for c in MCUNET_README} == {row[1] for row in MCUNET_INPUTS}
    assert len(MCUNET_README) == 2 * len(MCUNET_INPUTS)


def test_mcunet_in2_is_the_default_mcunet():
    assert zoo.mcunet_in2().ops == zoo.mcunet().ops


def test_published_names_are_registered():
    eps = {ep.name: ep for ep in entry_points(group="edgesim.workloads")}
    for builder, net_id, *_ in MCUNET_INPUTS:
        assert eps[net_id].load() is builder
    assert eps["proxylessnas-mobile"].load() is zoo.proxylessnas_mobile


def test_mcunet_in0_hand_count_of_first_layers():
    # Stem 3x3 s2, 3 -> 24 channels, 48 -> 24 px; block 1 (t=1): depthwise 3x3 on 24 channels,
    # project 24 -> 16; block 2 (t=4, k=5, s=2): expand 16 -> 64, depthwise 5x5 s2 to 12 px.
    net = zoo.mcunet_in0()
    assert net["features.0.0"].macs == 24 * 24 * 24 * 27
    assert net["features.1.conv.0.0"].macs == 24 * 24 * 24 * 9
    assert net["features.1.conv.1"].macs == 24 * 24 * 16 * 24
    assert net["features.2.conv.0.0"].weight_shape == (64, 16, 1, 1)
    assert net["features.2.conv.1.0"].output_shape == (1, 64, 12, 12)
    assert net["features.2.conv.1.0"].macs == 12 * 12 * 64 * 25


def test_mcunet_vww0_layers_are_tinyts_1_mw10_tensor_table():
    # nycu-caslab/TinyTS, models/ts_gen/MCUNet_model_zoo/1_MW10/DF_1/gen_model/src/ctx.cc:
    # stem weight 16x3x3x3 to 32x32x16; block 1 project 8x16; block 2 expand 48x8, depthwise
    # 5x5 on 48 to 16x16, project 16x48; the last project 160x384 at 2x2; classifier 2x160.
    net = zoo.mcunet_vww0()
    assert net["features.0.0"].weight_shape == (16, 3, 3, 3)
    assert net["features.0.0"].output_shape == (1, 16, 32, 32)
    assert net["features.1.conv.1"].weight_shape == (8, 16, 1, 1)
    assert net["features.2.conv.0.0"].weight_shape == (48, 8, 1, 1)
    assert net["features.2.conv.1.0"].weight_shape == (48, 1, 5, 5)
    assert net["features.2.conv.1.0"].output_shape == (1, 48, 16, 16)
    assert net["features.2.conv.2"].weight_shape == (16, 48, 1, 1)
    assert net["features.14.conv.2"].weight_shape == (160, 384, 1, 1)
    assert net["features.14.conv.2"].output_shape == (1, 160, 2, 2)
    assert net["classifier.1"].weight_shape == (2, 160)
    # Hand count: stem 32 x 32 x 16 x 27 MACs; 14 depthwise convs.
    assert net["features.0.0"].macs == 32 * 32 * 16 * 27
    assert sum(1 for op in net.ops if op.kind is OpKind.CONV2D and op.attrs.groups > 1) == 14


# --- ProxylessNAS-Mobile (Cai et al., ICLR 2019) -----------------------------------------------

def test_proxylessnas_mobile_params_equal_pytorchcv():
    # pytorchcv's proxylessnas.py test asserts 4,080,512 weights for proxylessnas_mobile, built
    # from the released net config (BN scale and shift counted, as here).
    net = zoo.proxylessnas_mobile()
    assert net.params == published("proxylessnas-mobile", Quantity.PARAMS).value
    # Hand count of the head: 1x1 conv 320 -> 1280 at 7x7, then the classifier.
    assert net["features.21.0"].macs == 7 * 7 * 1280 * 320
    assert net["classifier.1"].macs == 1280 * 1000


def test_proxylessnas_mobile_blocks_and_residuals():
    net = zoo.proxylessnas_mobile()
    convs = [op for op in net if op.kind is OpKind.CONV2D and op.attrs.groups > 1]
    assert [op.attrs.kernel[0] for op in convs] == [
        3, 5, 3, 7, 3, 5, 5, 7, 5, 5, 5, 5, 5, 5, 5, 7, 7, 7, 7, 7]
    # Residual adds: every block after the first of its width and stride-1 (13 of 20).
    assert sum(op.kind is OpKind.ADD for op in net) == 13


def test_proxylessnas_width_rounds_up_to_eight():
    net = zoo.proxylessnas_mobile(width=0.3, resolution=176)
    assert net["features.0.0"].output_shape[1] == 16  # 32 * 0.3 = 9.6 -> 16
    assert net["features.16.conv.2"].output_shape[1] == 64  # 192 * 0.3 = 57.6 -> 64
    assert net["features.21.0"].output_shape[1] == 384  # 1280 * 0.3
    with pytest.raises(SpecError, match=r"'width' must be a finite number > 0"):
        zoo.proxylessnas_mobile(width=0)


def test_new_builders_scale_with_batch():
    for builder in (zoo.mcunet_in1, zoo.mcunet_vww2, zoo.proxyless_w03, zoo.mbv2_w035):
        one, two = builder(), builder(batch=2)
        assert isinstance(two, Network)
        assert two.macs == 2 * one.macs and two.params == one.params


# --- EfficientNet-B0 (Tan & Le, ICML 2019) -----------------------------------------------------

def test_efficientnet_b0_matches_torchvision_and_paper():
    # torchvision efficientnet_b0 (IMAGENET1K_V1) docs: num_params 5,288,548, 0.39 GFLOPS
    # (their "GFLOPS" count conv/linear MACs; two decimals, +-0.005 G). Paper Table 1 / 2:
    # 0.39B FLOPs, 5.3M parameters.
    net = zoo.efficientnet_b0()
    assert net.params == published("efficientnet-b0", Quantity.PARAMS).value
    macs = published("efficientnet-b0", Quantity.MACS)
    assert abs(net.macs / 1e9 - macs.value) <= macs.half_unit
    assert round(net.params / 1e6, 1) == 5.3


def test_efficientnet_b0_squeeze_excitation_hand_count():
    # features.2.0: 16 -> 24 channels, expand 6 (96), 3x3 s2 depthwise 112 -> 56 px; the SE
    # squeezes to 16 // 4 = 4 channels and rescales the 96-channel map.
    net = zoo.efficientnet_b0()
    assert net["features.2.0.block.2.fc1"].weight_shape == (4, 96, 1, 1)
    assert net["features.2.0.block.2.fc1"].params == 4 * 96 + 4
    assert net["features.2.0.block.2.fc2"].params == 96 * 4 + 96
    scale = net["features.2.0.block.2.scale"]
    assert scale.kind is OpKind.MUL
    assert scale.input_shapes == ((1, 96, 56, 56), (1, 96, 1, 1))
    assert net["features.2.0.block.3.0"].macs == 56 * 56 * 24 * 96
    # Residual only where stride 1 and width kept: 16 blocks, 7 stage heads, so 9 adds.
    assert sum(op.kind is OpKind.ADD for op in net) == 9


def test_efficientnet_b0_fuses_without_cycles():
    net = zoo.efficientnet_b0()
    fused = net.fused()  # the SE multiply reads two producers, so it is never folded
    assert fused.macs == net.macs and fused.params == net.params
    assert any(op.name == "features.2.0.block.2.scale" for op in fused)


# --- YOLOv4 (Bochkovskiy et al. 2020) and YOLObile (Cai et al., AAAI 2021) ---------------------

# AlexeyAB/darknet README, yolov4.cfg: BFLOPs by input size (workloads.zoo.published). Darknet
# counts 2 FLOPs per conv MAC and adds its shortcut layers' element adds (about 0.03 BFLOPs at
# 608), so 2 * MACs is held to the published figure within 0.2 %.


@pytest.mark.parametrize("resolution, count", list(zip(DARKNET_YOLOV4_INPUTS_PX, DARKNET_YOLOV4_FLOPS)))
def test_yolov4_flops_match_darknet(resolution, count):
    net = zoo.yolov4(resolution=resolution)
    assert count.band_pct == 0.2
    assert abs(2 * net.macs / 1e9 - count.value) <= 0.002 * count.value
    assert count.holds(count.build())


def test_yolov4_params_equal_pytorch_ports():
    # PyTorch ports of yolov4.cfg (80 classes) print 64,363,101 parameters (BN included).
    params = published("yolov4", Quantity.PARAMS).value
    assert zoo.yolov4().params == params
    assert zoo.yolov4(resolution=416).params == params


def test_yolov4_layers_follow_the_cfg():
    net = zoo.yolov4(resolution=416)
    assert net["L0.conv"].macs == 416 * 416 * 32 * 27  # 3x3, 3 -> 32, stride 1
    assert net["L0.mish"].attrs.function.value == "mish"
    assert net["L54.conv"].output_shape == (1, 256, 52, 52)  # stride-8 backbone output
    assert net["L85.conv"].output_shape == (1, 512, 26, 26)
    assert net["L104.conv"].output_shape == (1, 1024, 13, 13)
    assert net["L113.route"].output_shape == (1, 2048, 13, 13)  # SPP: 3 pools + identity
    assert net["L112.maxpool"].attrs.kernel == (13, 13)
    assert net["L105.leaky_relu"].attrs.function.value == "leaky_relu"
    heads = [net[o] for o in net.outputs]
    assert [h.output_shape for h in heads] == [(1, 255, 52, 52), (1, 255, 26, 26),
                                               (1, 255, 13, 13)]
    assert [h.name for h in heads] == ["L138.conv", "L149.conv", "L160.conv"]
    assert all(h.attrs.bias for h in heads)
    # 23 shortcuts in CSPDarknet53 (1 + 2 + 8 + 8 + 4 residual blocks).
    assert sum(op.kind is OpKind.ADD for op in net) == 23


def test_yolov4_classes_change_only_the_heads():
    coco, voc = zoo.yolov4(resolution=320), zoo.yolov4(resolution=320, num_classes=20)
    # Each head has 3 * (classes + 5) filters of C_in weights and a bias; C_in = 256, 512, 1024.
    assert coco.params - voc.params == 3 * (85 - 25) * ((256 + 1) + (512 + 1) + (1024 + 1))


def _conv_weights(op):
    return op.weight_shape[0] * op.weight_shape[1] * op.weight_shape[2] * op.weight_shape[3]


def test_yolobile_released_ratios_give_the_papers_14x():
    # Abstract of arXiv 2009.05697: "14x compression rate of YOLOv4"; the released
    # check_compression.py divides all conv weights by the kept ones. Ratios rounded to 0.01
    # and 1/16 in the released file, so 14 holds to 0.1 %.
    net = zoo.yolobile()
    assert net.inputs[0].shape == (1, 3, 320, 320)
    convs = [op for op in net if op.kind is OpKind.CONV2D]
    assert len(convs) == 106  # [convolutional] sections of csdarknet53s-panet-spp.cfg
    kept = sum(_conv_weights(op) * op.compression.density for op in convs)
    assert sum(map(_conv_weights, convs)) / kept == pytest.approx(14.0, rel=1e-3)
    dense = [op.name for op in convs if op.compression.sparsity.value == "dense"]
    assert dense == ["L0.conv", "L132.conv", "L143.conv", "L154.conv"]
    pruned = [op for op in convs if op.name not in dense]
    assert {op.compression.block_shape for op in pruned} == {(8, 4)}
    assert {op.compression.sparsity.value for op in pruned} == {"block"}
    assert net["L1.conv"].compression.sparsity_ratio == 0.6
    assert net["L153.conv"].compression.sparsity_ratio == 0.92


def test_yolobile_base_is_yolov4_with_a_plain_first_stage_and_leaky_relu():
    base, v4 = zoo.yolobile(resolution=416), zoo.yolov4(resolution=416)
    # yolov4.cfg layers 1-10 (CSP stage): 3x3 s2 32->64, 1x1 64->64 (split), 1x1 64->64,
    # 1x1 64->32, 3x3 32->64, 1x1 64->64, 1x1 128->64 (merge), each with BN (2 per channel).
    csp_stage = (9 * 32 * 64 + 64 * 64 + 64 * 64 + 64 * 32 + 9 * 32 * 64 + 64 * 64 + 128 * 64
                 + 2 * (64 * 6 + 32))
    # csdarknet53s layers 1-4 (Darknet-53 stage): 3x3 s2 32->64, 1x1 64->32, 3x3 32->64.
    plain_stage = 9 * 32 * 64 + 64 * 32 + 9 * 32 * 64 + 2 * (64 + 32 + 64)
    assert v4.params - base.params == csp_stage - plain_stage == 20_992
    assert base["L48.conv"].output_shape == v4["L54.conv"].output_shape  # 6 layers fewer
    assert {op.attrs.function.value for op in base if op.kind is OpKind.ACTIVATION} == {
        "leaky_relu"}
    assert [base[o].output_shape for o in base.outputs] == [v4[o].output_shape for o in v4.outputs]


@pytest.mark.parametrize("call, match", [
    (lambda: zoo.yolov4(resolution=600), r"yolov4: 'resolution' must be a multiple of 32"),
    (lambda: zoo.yolov4(resolution=16), r"yolov4: 'resolution' must be an int from 32"),
    (lambda: zoo.yolov4(num_classes=0), r"'num_classes' must be an int >= 1"),
    (lambda: zoo.yolobile(resolution=330), r"yolobile: 'resolution' must be a multiple of 32"),
])
def test_yolo_invalid_arguments(call, match):
    with pytest.raises(SpecError, match=match):
        call()


# --- PointPillars (Lang et al., CVPR 2019) -----------------------------------------------------

def _pointpillars_counts(pillars=12000, points=100, h=496, w=432, c=64, classes=1, rot=2):
    """MACs and parameters of the paper's network, counted from Sections 2.1-2.3 by hand."""
    h2, w2 = h // 2, w // 2
    macs = pillars * points * 9 * c  # PFN linear
    params = 9 * c + 2 * c
    for k, (layers, f) in enumerate(((4, c), (6, 2 * c), (6, 4 * c))):
        cells = (h2 >> k) * (w2 >> k)
        cin = c if k == 0 else f // 2
        macs += cells * 9 * f * (cin + (layers - 1) * f)
        params += 9 * f * (cin + (layers - 1) * f) + 2 * f * layers
        stride = 1 << k  # Up: kernel = stride, back to H/2 x W/2, 2C filters
        macs += cells * f * 2 * c * stride * stride
        params += f * 2 * c * stride * stride + 2 * 2 * c
    anchors = classes * rot
    head = anchors * classes + anchors * 7 + anchors * 2
    macs += h2 * w2 * 6 * c * head
    params += 6 * c * head + head
    return macs, params


@pytest.mark.parametrize("kwargs", [
    {}, {"num_classes": 3, "n_points": 32, "n_pillars": 16000},
    {"n_cells_y": 64, "n_cells_x": 48, "channels": 16, "n_pillars": 500}])
def test_pointpillars_counts_equal_hand_count(kwargs):
    hand = dict(pillars=kwargs.get("n_pillars", 12000), points=kwargs.get("n_points", 100),
                h=kwargs.get("n_cells_y", 496), w=kwargs.get("n_cells_x", 432),
                c=kwargs.get("channels", 64), classes=kwargs.get("num_classes", 1))
    net = zoo.pointpillars(**kwargs)
    assert (net.macs, net.params) == _pointpillars_counts(**hand)


def test_pointpillars_size_matches_released_checkpoints():
    # Released float32 KITTI PointPillars files are listed at "19M": mmdetection3d's car model
    # exported to ONNX (wjzhou2023/model-zoo, pointpillars_kitti-3d-car.onnx) and OpenPCDet's
    # 3-class checkpoint (OpenPCDet issue #242). "19M" read as 18.5e6 B to 19.5 MiB.
    for net in (zoo.pointpillars(), zoo.pointpillars(num_classes=3)):
        assert 18.5e6 <= net.weight_bytes <= 19.5 * 2**20
    assert abs(zoo.pointpillars().params / 1e6 - 4.81) < 0.005


def test_pointpillars_end_to_end_shapes():
    net = zoo.pointpillars()
    assert {s.name: s.shape for s in net.inputs} == {"pillars": (1, 9, 12000, 100),
                                                     "pillar_cells": (12000,)}
    assert net["pfn.max"].output_shape == (1, 64, 12000, 1)
    assert net["scatter"].kind is OpKind.SCATTER
    assert net["scatter"].output_shape == (496 * 432, 64)
    assert net["pseudo_image"].output_shape == (1, 64, 496, 432)
    assert net["backbone.block3.0.conv"].output_shape == (1, 256, 62, 54)
    assert net["backbone.up3.depth_to_space"].output_shape == (1, 128, 248, 216)
    assert net["backbone.concat"].output_shape == (1, 384, 248, 216)
    assert [net[o].output_shape for o in net.outputs] == [
        (1, 2, 248, 216), (1, 14, 248, 216), (1, 4, 248, 216)]
    assert net.fused().macs == net.macs


@pytest.mark.parametrize("kwargs, match", [
    ({"n_cells_y": 500}, r"'n_cells_y' must be a multiple of 8 cells"),
    ({"n_pillars": 100, "n_cells_y": 8, "n_cells_x": 8}, r"'n_pillars' 100 exceeds the 64 cells"),
    ({"channels": 0}, r"pointpillars: 'channels' must be an int >= 1"),
])
def test_pointpillars_invalid_arguments(kwargs, match):
    with pytest.raises(SpecError, match=match):
        zoo.pointpillars(**kwargs)
