"""The model zoo: builders of well-known networks, each returning a `workloads.Network`.

Every builder takes keyword-only arguments with defaults and is registered under the
``edgesim.workloads`` entry-point group; the first line of its docstring is what
``edgesim list`` shows. Layer structure, parameter counts and MACs follow the reference
implementations (torchvision, timm, Hugging Face); tests/workloads/test_zoo.py checks them
against the published figures.
"""

from workloads.zoo.efficientnet import efficientnet_b0
from workloads.zoo.mcunet import (
    mbv2_w035,
    mcunet,
    mcunet_in0,
    mcunet_in1,
    mcunet_in2,
    mcunet_in3,
    mcunet_in4,
    mcunet_vww0,
    mcunet_vww1,
    mcunet_vww2,
)
from workloads.zoo.mobilebert import mobilebert
from workloads.zoo.mobilenet import IRBlock, inverted_residual_net, mobilenetv2
from workloads.zoo.mobilenetv1 import mobilenet_v1
from workloads.zoo.pointpillars import pointpillars
from workloads.zoo.proxyless import proxyless_w03, proxylessnas_mobile
from workloads.zoo.resnet import resnet18, resnet18_cifar, resnet50
from workloads.zoo.transformer import bert, bert_base, deit_base, deit_small, deit_tiny, vit
from workloads.zoo.vgg import vgg16
from workloads.zoo.yolo import yolobile, yolov4

__all__ = [
    "IRBlock",
    "bert",
    "bert_base",
    "deit_base",
    "deit_small",
    "deit_tiny",
    "efficientnet_b0",
    "inverted_residual_net",
    "mbv2_w035",
    "mcunet",
    "mcunet_in0",
    "mcunet_in1",
    "mcunet_in2",
    "mcunet_in3",
    "mcunet_in4",
    "mcunet_vww0",
    "mcunet_vww1",
    "mcunet_vww2",
    "mobilebert",
    "mobilenet_v1",
    "mobilenetv2",
    "pointpillars",
    "proxyless_w03",
    "proxylessnas_mobile",
    "resnet18",
    "resnet18_cifar",
    "resnet50",
    "vgg16",
    "vit",
    "yolobile",
    "yolov4",
]
