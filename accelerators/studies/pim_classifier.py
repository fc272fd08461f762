"""A small quantized classifier run through the crossbar model: the functional, whole-network world
of the PIM studies (`pim_noise`, `pim_bound`), with its data set (scikit-learn's digits).

A numpy MLP (linear - batch norm - ReLU blocks and a linear head) is trained with conventional
quantization-aware training (fake-quantized weights and activations, straight-through gradients)
and then deployed: every linear layer's integer product goes through `accelerators.pim.crossbar`,
so its column sums meet the ADC. The remedies of PIM-QAT (Jin et al., arXiv 2209.08617) are
implemented as this module reads them (the paper's full text was not available to check details):

- BN calibration (`calibrate_bn`): re-estimate every batch-norm layer's mean and variance from the
  PIM pipeline's own outputs on calibration data, layer by layer, so the shifts the ADC introduces
  (quantisation bias, gain and offset error, non-linearity) are normalised away;
- rescaling (`rescale_ranges`): set each layer's ADC full scale to a quantile of the column sums
  it actually sees on calibration data instead of the worst case, spending the ADC's codes where
  the signal is (sums beyond clip); the digital side multiplies codes by the matching LSB;
- PIM-aware training at adjusted precision (`finetune_pim`): fine-tune with the PIM pipeline in the
  forward pass (straight-through gradients), at an ADC precision adjusted to the hardware's
  effective resolution under thermal noise, ENOB = b - log2(sqrt(1 + 12 sigma^2)) (sigma in LSB;
  quantisation noise is LSB^2 / 12), so the network learns the resolution it will really get.

Randomness (weight init, batches, cell variation, thermal noise) comes only from the Generators
passed in. Inputs are non-negative (pixels, ReLU outputs), quantized unsigned; weights symmetric
integers, or on float-weight crossbars the real weights themselves as conductances.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Annotated

import numpy as np
from pydantic import Field

from accelerators.pim.adc import BuiltInPythonSpec
from accelerators.pim.crossbar import CrossbarSpec, ProgrammedCrossbar, column_sum_quantile, program, run
from sim.spec import PositiveFloat
from workloads import SpecError

BN_EPS = 1e-5


class QuantSpec(BuiltInPythonSpec):
    """Bit-widths and clipping ranges of the quantized classifier."""

    weight_bits: Annotated[int, Field(ge=2, le=16)] = 4
    """Signed symmetric weight bits, per-layer scale max|w| / (2**(b-1) - 1)."""
    act_bits: Annotated[int, Field(ge=1, le=16)] = 4
    """Unsigned activation (crossbar input) bits."""
    input_clip: PositiveFloat = 1.0
    """Clipping range of the network input (pixels scaled to [0, 1])."""
    act_clip: PositiveFloat = 4.0
    """Clipping range of hidden activations (after BN and ReLU)."""


@dataclass(frozen=True, eq=False)
class Layer:
    """One linear layer, followed by batch norm and ReLU unless it is the head (bn_gamma None)."""

    w: np.ndarray
    """(K, N) float weights."""
    b: np.ndarray
    """(N,) bias."""
    bn_gamma: np.ndarray | None = None
    bn_beta: np.ndarray | None = None
    bn_mean: np.ndarray | None = None
    bn_var: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class Mlp:
    """A quantized MLP classifier."""

    layers: tuple[Layer, ...]
    quant: QuantSpec

    def act_scale(self, index: int) -> float:
        """Input quantisation step of layer `index`."""
        clip = self.quant.input_clip if index == 0 else self.quant.act_clip
        return clip / (2**self.quant.act_bits - 1)

    def weight_int(self, index: int) -> tuple[np.ndarray, float]:
        """(integer weights, scale) of layer `index`."""
        w = self.layers[index].w
        top = 2 ** (self.quant.weight_bits - 1) - 1
        scale = max(float(np.abs(w).max()), 1e-8) / top
        return np.clip(np.rint(w / scale), -top, top).astype(np.int64), scale

    def input_int(self, index: int, a: np.ndarray) -> np.ndarray:
        top = 2**self.quant.act_bits - 1
        return np.clip(np.rint(a / self.act_scale(index)), 0, top).astype(np.int64)


def init_mlp(sizes: tuple[int, ...], quant: QuantSpec, rng: np.random.Generator) -> Mlp:
    """He-initialised MLP with the given layer widths (input, hidden..., classes)."""
    layers = []
    for i, (k, n) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = rng.standard_normal((k, n)) * math.sqrt(2.0 / k)
        hidden = i < len(sizes) - 2
        layers.append(Layer(
            w=w, b=np.zeros(n),
            bn_gamma=np.ones(n) if hidden else None, bn_beta=np.zeros(n) if hidden else None,
            bn_mean=np.zeros(n) if hidden else None, bn_var=np.ones(n) if hidden else None,
        ))
    return Mlp(layers=tuple(layers), quant=quant)


# --- backends: how a layer's integer product is computed ------------------------------------------


@dataclass(frozen=True, eq=False)
class Deployment:
    """An MLP with its weights programmed into crossbars (None: exact digital products)."""

    model: Mlp
    crossbars: tuple[ProgrammedCrossbar, ...] | None = None
    full_scales: tuple[float | None, ...] | None = None
    """Per-layer ADC full scale override (unit-cell units); None: the spec's default."""


def crossbar_for(model: Mlp, base: CrossbarSpec) -> CrossbarSpec:
    """`base` at the model's bit-widths (a multi-bit-DAC scheme keeps dac_bits = input bits)."""
    q = model.quant
    full_dac = base.dac_bits >= base.input_bits
    return base.replace(
        input_bits=q.act_bits, weight_bits=q.weight_bits,
        dac_bits=q.act_bits if full_dac else min(base.dac_bits, q.act_bits),
    )


def deploy(model: Mlp, base: CrossbarSpec | None, rng: np.random.Generator | None = None,
           full_scales: tuple[float | None, ...] | None = None) -> Deployment:
    """Program every layer into crossbars of `base` (None: digital); draws cell variation.

    Integer crossbars hold each layer's quantized weights; float-weight crossbars
    (`base.weight_format` 'float') hold the real weights as conductances, unquantized.
    """
    if base is None:
        return Deployment(model=model)
    spec = crossbar_for(model, base)
    weights = ((layer.w for layer in model.layers) if spec.float_weights
               else (model.weight_int(i)[0] for i in range(len(model.layers))))
    progs = tuple(program(w, spec, rng) for w in weights)
    return Deployment(model=model, crossbars=progs, full_scales=full_scales)


def _weight_scale(dep: Deployment, i: int) -> float:
    """Digital scale of layer i's product: 1 for float-weight crossbars (they return x @ w in
    weight units), else the quantized weights' step."""
    if dep.crossbars is not None and dep.crossbars[i].spec.float_weights:
        return 1.0
    return dep.model.weight_int(i)[1]


def _int_product(dep: Deployment, i: int, xq: np.ndarray, rng) -> np.ndarray:
    if dep.crossbars is None:  # exact in float64 (|sums| << 2**53), and BLAS-fast unlike int64
        return xq.astype(np.float64) @ dep.model.weight_int(i)[0].astype(np.float64)
    fs = None if dep.full_scales is None else dep.full_scales[i]
    return run(dep.crossbars[i], xq, rng, full_scale=fs)


def _pre_bn(dep: Deployment, i: int, a: np.ndarray, rng) -> np.ndarray:
    model = dep.model
    s_w = _weight_scale(dep, i)
    return model.act_scale(i) * s_w * _int_product(dep, i, model.input_int(i, a), rng) + model.layers[i].b


def _bn_relu(layer: Layer, z: np.ndarray, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    return np.maximum(layer.bn_gamma * (z - mean) / np.sqrt(var + BN_EPS) + layer.bn_beta, 0.0)


def logits(dep: Deployment, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """Inference (BN with running statistics) of inputs x (B, K) in [0, input_clip]."""
    a = x
    for i, layer in enumerate(dep.model.layers):
        z = _pre_bn(dep, i, a, rng)
        a = z if layer.bn_gamma is None else _bn_relu(layer, z, layer.bn_mean, layer.bn_var)
    return a


def accuracy(dep: Deployment, x: np.ndarray, y: np.ndarray, rng=None) -> float:
    """Fraction of x classified as y."""
    return float(np.mean(np.argmax(logits(dep, x, rng), axis=1) == y))


def calibrate_bn(dep: Deployment, x_cal: np.ndarray, rng=None) -> Deployment:
    """BN calibration: running statistics re-estimated from the deployment's own outputs.

    Layer by layer, each BN's mean and variance become those of its PIM-computed inputs over
    x_cal, with earlier layers already calibrated. Weights and crossbars are unchanged.
    """
    a = x_cal
    layers = list(dep.model.layers)
    for i, layer in enumerate(layers):
        z = _pre_bn(dataclasses.replace(dep, model=dataclasses.replace(dep.model, layers=tuple(layers))),
                    i, a, rng)
        if layer.bn_gamma is None:
            break
        layer = dataclasses.replace(layer, bn_mean=z.mean(axis=0), bn_var=z.var(axis=0))
        layers[i] = layer
        a = _bn_relu(layer, z, layer.bn_mean, layer.bn_var)
    return dataclasses.replace(dep, model=dataclasses.replace(dep.model, layers=tuple(layers)))


def rescale_ranges(dep: Deployment, x_cal: np.ndarray, quantile: float = 0.999,
                   rng: np.random.Generator | None = None) -> Deployment:
    """Range rescaling: each layer's ADC full scale set to the `quantile` of its |column sums|.

    Layer by layer over x_cal; the activations feeding layer i+1 come from the PIM pipeline
    with layer i already rescaled (noise from `rng` when the ADC is noisy).
    """
    if dep.crossbars is None:
        return dep
    n = len(dep.model.layers)
    scales: list[float | None] = [None] * n
    a = x_cal
    for i, layer in enumerate(dep.model.layers):
        scales[i] = column_sum_quantile(dep.crossbars[i], dep.model.input_int(i, a), quantile)
        if i + 1 < n:
            cur = dataclasses.replace(dep, full_scales=tuple(scales))
            a = _bn_relu(layer, _pre_bn(cur, i, a, rng), layer.bn_mean, layer.bn_var)
    return dataclasses.replace(dep, full_scales=tuple(scales))


def effective_bits(resolution_bits: int, noise_lsb: float) -> int:
    """Adjusted precision: ENOB = b - log2(sqrt(1 + 12 sigma^2)), rounded down, at least 2."""
    enob = resolution_bits - 0.5 * math.log2(1.0 + 12.0 * noise_lsb**2)
    return max(2, math.floor(enob + 1e-9))


# --- training ------------------------------------------------------------------------------------


def _train(model: Mlp, x, y, rng, *, steps, batch, lr, pim: CrossbarSpec | None,
           full_scales=None) -> Mlp:
    """Adam on softmax cross-entropy; fake-quantised forward (PIM products when `pim`)."""
    params = [[l.w.copy(), l.b.copy(), None if l.bn_gamma is None else l.bn_gamma.copy(),
               None if l.bn_beta is None else l.bn_beta.copy()] for l in model.layers]
    means = [None if l.bn_mean is None else l.bn_mean.copy() for l in model.layers]
    vars_ = [None if l.bn_var is None else l.bn_var.copy() for l in model.layers]
    m1 = [[None if p is None else np.zeros_like(p) for p in ps] for ps in params]
    m2 = [[None if p is None else np.zeros_like(p) for p in ps] for ps in params]
    n_cls = model.layers[-1].w.shape[1]
    q = model.quant
    top_a = 2**q.act_bits - 1
    for step in range(1, steps + 1):
        idx = rng.integers(0, len(x), batch)
        a, yb = x[idx], y[idx]
        cur = Mlp(layers=tuple(Layer(w=p[0], b=p[1], bn_gamma=p[2], bn_beta=p[3]) for p in params),
                  quant=q)
        dep = deploy(cur, pim, rng, full_scales)
        cache = []
        for i, p in enumerate(params):
            s_a = cur.act_scale(i)
            pass_mask = (a >= 0) & (a <= s_a * top_a)  # straight-through inside the clip range
            xq = cur.input_int(i, a)
            w_int, s_w = cur.weight_int(i)
            z = s_a * _weight_scale(dep, i) * _int_product(dep, i, xq, rng) + p[1]
            a_q = xq * s_a
            w_q = w_int * s_w
            if p[2] is None:
                cache.append((a_q, w_q, pass_mask, None))
                a = z
                continue
            mu, var = z.mean(0), z.var(0)
            means[i] = 0.9 * means[i] + 0.1 * mu
            vars_[i] = 0.9 * vars_[i] + 0.1 * var
            zhat = (z - mu) / np.sqrt(var + BN_EPS)
            h = p[2] * zhat + p[3]
            cache.append((a_q, w_q, pass_mask, (zhat, var, h)))
            a = np.maximum(h, 0.0)
        prob = np.exp(a - a.max(1, keepdims=True))
        prob /= prob.sum(1, keepdims=True)
        grad = prob - np.eye(n_cls)[yb]
        grad /= batch
        for i in range(len(params) - 1, -1, -1):
            a_q, w_q, pass_mask, bn = cache[i]
            p = params[i]
            grads = [None, None, None, None]
            if bn is not None:
                zhat, var, h = bn
                grad = grad * (h > 0)
                grads[2] = (grad * zhat).sum(0)
                grads[3] = grad.sum(0)
                dz = grad * p[2]
                inv = 1.0 / np.sqrt(var + BN_EPS)
                grad = inv * (dz - dz.mean(0) - zhat * (dz * zhat).mean(0))
            grads[0] = a_q.T @ grad  # straight-through the weight quantiser
            grads[1] = grad.sum(0)
            grad = (grad @ w_q.T) * pass_mask
            for j, g in enumerate(grads):
                if g is None:
                    continue
                m1[i][j] = 0.9 * m1[i][j] + 0.1 * g
                m2[i][j] = 0.999 * m2[i][j] + 0.001 * g * g
                step_size = lr * math.sqrt(1 - 0.999**step) / (1 - 0.9**step)
                p[j] -= step_size * m1[i][j] / (np.sqrt(m2[i][j]) + 1e-8)
    layers = tuple(
        Layer(w=p[0], b=p[1], bn_gamma=p[2], bn_beta=p[3], bn_mean=means[i], bn_var=vars_[i])
        for i, p in enumerate(params)
    )
    return Mlp(layers=layers, quant=q)


def train_qat(x, y, *, sizes: tuple[int, ...], quant: QuantSpec, rng: np.random.Generator,
              steps: int = 300, batch: int = 128, lr: float = 0.01) -> Mlp:
    """Conventional quantization-aware training (digital fake quantisation), from scratch."""
    return _train(init_mlp(sizes, quant, rng), x, y, rng, steps=steps, batch=batch, lr=lr, pim=None)


def finetune_pim(model: Mlp, x, y, crossbar: CrossbarSpec, rng: np.random.Generator, *,
                 steps: int = 150, batch: int = 128, lr: float = 0.002,
                 full_scales: tuple[float | None, ...] | None = None) -> Mlp:
    """PIM-aware fine-tuning: the forward pass computes every product through `crossbar`
    (typically at the adjusted precision, see `effective_bits`), gradients go straight through."""
    return _train(model, x, y, rng, steps=steps, batch=batch, lr=lr, pim=crossbar,
                  full_scales=full_scales)


def load_digits_split(rng: np.random.Generator, test_ratio: float = 0.2):
    """scikit-learn's bundled 8x8 digits (1797 images, no download), scaled to [0, 1] and split.

    Returns (x_train, y_train, x_test, y_test). Needs scikit-learn (the 'test' extra).
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise SpecError("the digits study needs scikit-learn: pip install scikit-learn") from None
    data = load_digits()
    x = data.data / 16.0
    y = data.target.astype(np.int64)
    order = rng.permutation(len(x))
    n_test = int(round(len(x) * test_ratio))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]
