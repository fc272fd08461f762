"""The model zoo: builders of well-known networks, each returning a `workloads.Network`.

Every builder takes keyword-only arguments with defaults and is registered under the
``edgesim.workloads`` entry-point group; the first line of its docstring is what
``edgesim list`` shows. Layer structure, parameter counts and MACs follow the reference
implementations (torchvision, timm, Hugging Face); tests/workloads/test_zoo.py checks them
against the published figures.
"""

from workloads.zoo.mcunet import mcunet
from workloads.zoo.mobilenet import IRBlock, inverted_residual_net, mobilenetv2
from workloads.zoo.resnet import resnet18, resnet50
from workloads.zoo.transformer import bert, bert_base, deit_base, deit_small, deit_tiny, vit
from workloads.zoo.vgg import vgg16

__all__ = [
    "IRBlock",
    "bert",
    "bert_base",
    "deit_base",
    "deit_small",
    "deit_tiny",
    "inverted_residual_net",
    "mcunet",
    "mobilenetv2",
    "resnet18",
    "resnet50",
    "vgg16",
    "vit",
]
