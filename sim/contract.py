"""The physics contract every `sim.Device` must meet, shipped so a plug-in author can run it.

`check_device(device)` prices representative ops of every `OpKind` (dense and under every
compression scheme, and fused) on each target and returns the violations it finds, one line
each; an empty list means the device passes. `edgesim check-device NAME|FILE` prints them. A
plug-in's own test suite calls it directly::

    from sim.contract import check_device
    from my_plugin import make_device

    def test_my_device_meets_the_edgesim_contract():
        assert check_device(make_device()) == []

What is checked (a `DoesNotFitError` with a message is an allowed answer for any op):

- form: name, description, engines (`EngineSpec`, unique names), targets, and
  `supported_kinds(target)` a non-empty frozenset of `OpKind`; every cost a `Cost` on declared
  engines; every op kind the network uses refused up front when unsupported;
- positive work costs something: an op with MACs, or with vector operations (elementwise,
  norms, pooling), takes more than 0 s and more than 0 J (a norm folded into a conv is a
  member of a fused op, priced with it);
- monotone: the same op with more work (MACs, vector ops or bytes) and no less of any (the
  network built twice as wide, op by op) never takes less time or less dynamic energy;
- vocabulary: every cost speaks the typed vocabulary of `sim.device` (`bound_by` a `BoundBy`,
  `bytes_moved` keyed by `MemoryLevel`, `energy_j` by `EnergyComponent`, phase labels
  `PhaseLabel`), an op bound by FREE occupies no engine and takes no energy, every engine's kind
  is an `EngineKind`, and a `check` the device defines is callable;
- deterministic: pricing an op twice, or an equal copy of it, gives the same cost, and two
  simulations of the same network give the same report;
- energy adds up: a simulation's energy components are non-negative and sum to its total,
  which equals the per-op energies plus static energy;
- hand-offs: a `transfer(n_bytes, source, dest)` the device defines gives, between any two of
  its targets, a deterministic `Cost` on declared engines with `PhaseLabel` labels whose time
  and energy never fall as the bytes grow.

Each op is priced by the device bound to the network it belongs to (`sim.device.bind_network`,
as the engine binds every stream's device), so a device that plans per network (`for_network`,
e.g. the systolic family's `memory_policy: on_chip`) is checked as it runs; a device without
the hook is priced as it is.

Failures of the device's own code (any exception other than `DoesNotFitError`) are reported as
violations naming the op, not raised, so one call lists every problem at once.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass

from sim.device import (BoundBy, Cost, Device, EngineKind, EngineSpec, MemoryLevel, PhaseLabel,
                        bind_network, transfer_cost)
from sim.energy import EnergyComponent
from sim.engine import Stream, simulate
from workloads import (Compression, DoesNotFitError, EdgesimError, Network, NetworkBuilder, Op,
                       OpKind)
from workloads.ops import NeighbourAttrs, ScatterAttrs, SparseConv3dAttrs

REL_TOL = 1e-9
"""Relative slack for float comparisons (monotonicity, energy sums)."""

_UNBOUND = object()
"""Marks a device not yet bound to a network (`check_device`)."""


def every_kind_network(scale: int = 1) -> Network:
    """Three independent branches (CNN, transformer, point cloud) using every `OpKind` but FUSED.

    `scale` multiplies channel, hidden and point counts, so `every_kind_network(2)` has the same
    ops (same names) each with at least as many MACs and bytes. Its `fused()` form keeps at least
    one standalone op of every fusible kind (they read tensors with two readers, which
    `Network.fused` never folds), so it has every kind.
    """
    s = scale
    b = NetworkBuilder("every-kind" if s == 1 else f"every-kind-x{s}")
    # CNN: c0 and c1 are channel-prunable (they reach only convs through bn, relu, depthwise).
    c = 16 * s
    x = b.input("image", (1, 8, 16, 16))
    x = b.conv2d(x, c, 3, padding=1, name="c0")
    x = b.act(b.norm(x, "batch", name="bn0"), "relu", name="relu0")
    x = b.conv2d(x, c, 3, padding=1, name="c1")
    x = b.act(x, "relu6", name="relu1")
    x = b.conv2d(x, c, 3, padding=1, groups=c, name="dw")
    pw = b.conv2d(x, c, 1, stride=1, bias=True, name="pw")  # two readers: ends its group
    skip = b.act(pw, "hard_swish", name="hswish")  # reads a two-reader tensor: stays unfused
    x = b.add(pw, b.conv2d(skip, c, 1, name="c2"), name="residual")  # likewise
    x = b.pool(x, "max", 2, name="maxpool")
    x = b.pixel_shuffle(b.upsample(x, 2, mode="bilinear", name="up"), 2, name="shuffle")
    x = b.concat([x, b.upsample(b.pool(x, "avg", 2, name="avgpool"), 2, name="up2")], name="cat")
    x = b.global_pool(x, name="gap")
    cnn_out = b.linear(b.reshape(x, (1, c // 2), name="flatten"), 10, name="head")
    # Transformer block; embed, pos, scale and square each have two readers.
    h = 32 * s
    ids = b.input("ids", (1, 8))
    e = b.embedding(ids, 100, h, name="embed")
    pos = b.add(e, weight_shape=(1, 8, h), name="pos")
    t = b.norm(pos, "layer", name="ln")
    q, k, v = (b.linear(t, h, name=n) for n in ("q", "k", "v"))
    attn = b.softmax(b.matmul(q, b.transpose(k, (0, 2, 1), name="kT"), name="qk"), name="attn")
    scaled = b.mul(b.matmul(attn, v, name="av"), weight_shape=(h,), name="scale")
    square = b.mul(scaled, scaled, name="square")
    t = b.concat([b.act(square, "gelu", name="gelu"), square, scaled, e, pos], axis=2, name="cat2")
    t = b.reshape(t, (1, 40 * h), copy=True, name="pack")
    seq_out = b.linear(t, 4, name="cls")
    # An embedding whose only reader is an add: `fused()` makes it 'embed2+tok'.
    tok = b.add(b.embedding(ids, 100, h, name="embed2"), weight_shape=(1, 8, h), name="tok")
    # Point cloud: sample, group, sparse conv, scatter.
    n = 64 * s
    pts = b.input("points", (n, 3))
    feats = b.input("features", (n, 8))
    seg = b.input("segment", (n,))
    centres = b.op(OpKind.FPS, [pts], output_shape=(n // 4, 3), name="fps")
    knn = b.op(OpKind.KNN, [centres, pts], NeighbourAttrs(k=4), output_shape=(n // 4, 4), name="knn")
    ball = b.op(OpKind.BALL_QUERY, [centres, pts], NeighbourAttrs(k=4, radius=0.2, n_found=40 * s),
                output_shape=(n // 4, 4), name="ball")
    grouped = b.op(OpKind.GATHER, [feats, knn], name="group")
    grouped_ball = b.op(OpKind.GATHER, [feats, ball], name="group_ball")
    spconv = b.op(OpKind.SPARSE_CONV3D, [feats],
                  SparseConv3dAttrs(kernel_volume=27, n_pairs=300 * s),
                  weight_shape=(27, 8, 16), output_shape=(n, 16), name="spconv")
    pooled = b.op(OpKind.SCATTER, [spconv, seg], ScatterAttrs(reduce="max"),
                  output_shape=(n // 4, 16), name="scatter")
    return b.build(outputs=[cnn_out, seq_out, tok, grouped, grouped_ball, pooled])


def variants(net: Network) -> dict[str, Network]:
    """The network dense and under each compression scheme, and fused."""
    return {
        "fp32": net,
        "block": net.pruned("block", 0.5, block_shape=(4, 4)),
        "unstructured": net.pruned("unstructured", 0.7),
        "pattern": net.pruned("pattern", 0.5),
        "channel": net.pruned("channel", 0.5),
        "int8": net.quantized("fixed", weight_bits=8),
        "int4": net.quantized("fixed", weight_bits=4),
        "fp16": net.quantized("float16"),
        "pot": net.quantized("power_of_two", weight_bits=4, activation_bits=8),
        "mixed": net.quantized("mixed", weight_bits=4, activation_bits=8, pot_ratio=0.5),
        "multi_precision": net.quantized(
            "multi_precision", weight_bits=4, activation_bits=8, high_bits=8, high_ratio=0.25
        ),
        "n_m": _n_m(net),
        "fused": net.fused(),
        "block-int8-fused": net.pruned("block", 0.75).quantized("fixed", weight_bits=8).fused(),
    }


def _n_m(net: Network) -> Network:
    """2:4 sparsity on every conv and linear (N:M is read from ONNX weights; no pruned() knob)."""
    comp = Compression(sparsity="n_m", sparsity_ratio=0.5, n_m=(2, 4))
    weighted = (OpKind.CONV2D, OpKind.LINEAR)
    return dataclasses.replace(net, ops=tuple(
        op.replace(compression=comp) if op.kind in weighted else op for op in net.ops))


@dataclass(frozen=True)
class Violation:
    """One broken rule: which target and op (or '' for the device itself), and what."""

    rule: str
    """'form', 'vocabulary', 'positive', 'monotone', 'deterministic', 'energy' or 'raised'."""
    target: str
    op: str
    detail: str

    def __str__(self) -> str:
        where = "/".join(x for x in (self.target, self.op) if x)
        return f"[{self.rule}] {where + ': ' if where else ''}{self.detail}"


def _price(device: Device, op: Op, target: str) -> Cost | None | Violation:
    """The op's cost, None for a DoesNotFitError with a message, or the violation it caused."""
    try:
        cost = device.cost(op, target)
    except DoesNotFitError as err:
        if str(err):
            return None
        return Violation("form", target, op.name, "DoesNotFitError without a message")
    # The contract reports any failure of the device's code as a finding, typed or not.
    except Exception as err:  # noqa: BLE001 - a plug-in under test may raise anything
        return Violation("raised", target, op.name, f"cost() raised {type(err).__name__}: {err}")
    if not isinstance(cost, Cost):
        return Violation("form", target, op.name, f"cost() returned {type(cost).__name__}, not sim.Cost")
    return cost


def _bind(device: Device, network: Network, target: str) -> Device | None | Violation:
    """`bind_network(device, network)`, None for a DoesNotFitError with a message (the network
    does not fit: its ops are not priced), or the violation binding caused."""
    try:
        return bind_network(device, network)
    except DoesNotFitError as err:
        if str(err):
            return None
        return Violation("form", target, "", f"for_network({network.name!r}) raised "
                         "DoesNotFitError without a message")
    except Exception as err:  # noqa: BLE001 - a plug-in under test may raise anything
        return Violation("raised", target, "", f"for_network({network.name!r}) raised "
                         f"{type(err).__name__}: {err}")


def _form(device: Device) -> list[Violation]:
    out = []

    def bad(detail: str) -> None:
        out.append(Violation("form", "", "", detail))

    if not isinstance(device, Device):
        bad(f"{type(device).__name__} lacks the sim.Device attributes "
            "(name, description, engines, targets, supported_kinds, cost)")
        return out
    if not (isinstance(device.name, str) and device.name):
        bad(f"name must be a non-empty str (got {device.name!r})")
    if not (isinstance(device.description, str) and device.description):
        bad("description must be a non-empty str")
    if not (isinstance(device.targets, tuple) and device.targets
            and all(isinstance(t, str) and t for t in device.targets)):
        bad(f"targets must be a non-empty tuple of names (got {device.targets!r})")
    if not (isinstance(device.engines, tuple) and device.engines
            and all(isinstance(e, EngineSpec) for e in device.engines)):
        bad("engines must be a non-empty tuple of sim.EngineSpec")
    else:
        names = [e.name for e in device.engines]
        if len(set(names)) != len(names):
            bad(f"engine names repeat: {names}")
        for e in device.engines:
            if not isinstance(e.kind, EngineKind):
                out.append(Violation("vocabulary", "", "", f"engine {e.name!r} has kind "
                                     f"{e.kind!r}, not a sim.EngineKind"))
    if not callable(getattr(device, "check", _no_check)):
        bad("check must be a method check(network, target) -> None (see sim.device.NetworkCheck)")
    return out


def _no_check(network: Network, target: str) -> None:
    """Stands in for a device without `check` (the protocol's no-op default)."""


def _vocabulary(target: str, op: Op, cost: Cost) -> Iterator[Violation]:
    """Violations of the typed cost vocabulary (a Cost built past its own validation)."""
    def bad(detail: str) -> Violation:
        return Violation("vocabulary", target, op.name, detail)

    if not isinstance(cost.bound_by, BoundBy):
        yield bad(f"bound_by {cost.bound_by!r} is not a sim.BoundBy")
    for table, vocabulary in ((cost.bytes_moved, MemoryLevel), (cost.energy_j, EnergyComponent)):
        wrong = [k for k in table if not isinstance(k, vocabulary)]
        if wrong:
            yield bad(f"keys {wrong} are not sim.{vocabulary.__name__} members")
    wrong = [p.label for p in cost.phases if not isinstance(p.label, PhaseLabel)]
    if wrong:
        yield bad(f"phase labels {wrong} are not sim.PhaseLabel members")
    if cost.bound_by is BoundBy.FREE and (cost.phases or cost.dynamic_energy_j > 0):
        yield bad("bound by 'free' yet occupies an engine or takes energy; say what bounds it")


def _kinds(device: Device, target: str) -> frozenset[OpKind] | Violation:
    try:
        kinds = device.supported_kinds(target)
    except Exception as err:  # noqa: BLE001 - a plug-in under test may raise anything
        return Violation("raised", target, "", f"supported_kinds() raised {type(err).__name__}: {err}")
    if not (isinstance(kinds, frozenset) and kinds and all(isinstance(k, OpKind) for k in kinds)):
        return Violation("form", target, "", "supported_kinds() must be a non-empty frozenset of OpKind")
    return kinds


def _single_cost(device: Device, op: Op, target: str, cost: Cost) -> Iterator[Violation]:
    yield from _vocabulary(target, op, cost)
    engines = {e.name for e in device.engines}
    for phase in cost.phases:
        if phase.engine not in engines:
            yield Violation("form", target, op.name, f"phase on undeclared engine {phase.engine!r}")
    work = _work(op)
    if work:
        if not cost.latency_s > 0:
            yield Violation("positive", target, op.name, f"{work} take {cost.latency_s!r} s; work takes time")
        if not cost.dynamic_energy_j > 0:
            yield Violation("positive", target, op.name,
                            f"{work} take {cost.dynamic_energy_j!r} J; work takes energy")
    again = _price(device, op, target)
    twin = _price(device, copy.deepcopy(op), target)
    if again != cost or twin != cost:
        yield Violation("deterministic", target, op.name, "pricing the op again, or an equal copy, "
                        "gives a different cost")


def _work(op: Op) -> str:
    """'N MACs' or 'N vector ops' for an op that computes something, '' for a free op (a view)."""
    if op.is_free:
        return ""
    if op.effective_macs > 0:
        return f"{op.effective_macs} MACs"
    return f"{op.vector_ops} vector ops" if op.vector_ops > 0 else ""


def _grows(small: Op, big: Op) -> bool:
    """`big` has no less of any work measure than `small`, and more of at least one."""
    def measures(op: Op) -> tuple[int, ...]:
        return (op.effective_macs, op.vector_ops, op.input_bytes, op.output_bytes, op.weight_bytes)

    b, s = measures(big), measures(small)
    return (big.kind is small.kind and not big.is_free
            and all(x >= y for x, y in zip(b, s)) and b != s)


def _not_less(big: float, small: float) -> bool:
    return big >= small * (1 - REL_TOL) - 1e-30


def _simulation(device: Device, target: str, network: Network) -> Iterator[Violation]:
    try:
        first = simulate(Stream(network=network, target=target), device, seed=0)
        second = simulate(Stream(network=network, target=target), device, seed=0)
    except DoesNotFitError:
        return
    except Exception as err:  # noqa: BLE001 - a plug-in under test may raise anything
        yield Violation("raised", target, "", f"simulating {network.name!r} raised "
                        f"{type(err).__name__}: {err}")
        return
    if first != second:
        yield Violation("deterministic", target, "", f"two simulations of {network.name!r} differ")
    comps = first.energy_by_component_j
    negative = {k: v for k, v in comps.items() if not (math.isfinite(v) and v >= 0)}
    if negative:
        yield Violation("energy", target, "", f"negative or non-finite energy components {negative}")
    total = first.energy_j
    # Static power is booked per engine, in the component the engine names (leakage, host).
    static_j = sum(e.static_power_w for e in device.engines) * first.duration_s
    per_op = sum(r.energy_j for r in first.ops) + static_j
    if not math.isclose(per_op, total, rel_tol=1e-6, abs_tol=1e-18):
        yield Violation("energy", target, "", f"per-op energies plus static ({per_op!r} J) differ "
                        f"from the total ({total!r} J)")


def _transfers(device: Device, targets: tuple[str, ...]) -> Iterator[Violation]:
    """The hand-off between every ordered pair of `targets`, at 1 kB and at 1 MB."""
    if getattr(device, "transfer", None) is None:
        return
    engines = {e.name for e in device.engines}
    for source in targets:
        for dest in targets:
            if source == dest:
                continue
            where = f"transfer {source}->{dest}"
            try:
                small, big = (transfer_cost(device, n, source, dest) for n in (1_000, 1_000_000))
                again = transfer_cost(device, 1_000, source, dest)
            except Exception as err:  # noqa: BLE001 - a plug-in under test may raise anything
                yield Violation("raised", dest, where, f"raised {type(err).__name__}: {err}")
                continue
            if not (isinstance(small, Cost) and isinstance(big, Cost)):
                yield Violation("form", dest, where, "transfer() did not return a sim.Cost")
                continue
            if small != again:
                yield Violation("deterministic", dest, where, "two calls gave different costs")
            for phase in small.phases + big.phases:
                if phase.engine not in engines:
                    yield Violation("form", dest, where, f"phase on undeclared engine {phase.engine!r}")
                if not isinstance(phase.label, PhaseLabel):
                    yield Violation("vocabulary", dest, where, f"label {phase.label!r} is no PhaseLabel")
            if not (_not_less(big.latency_s, small.latency_s)
                    and _not_less(big.dynamic_energy_j, small.dynamic_energy_j)):
                yield Violation("monotone", dest, where, "1 MB takes less time or energy than 1 kB")


def check_device(device: Device, *, targets: tuple[str, ...] | None = None) -> list[Violation]:
    """Every contract violation of `device` on `targets` (default: all of its targets)."""
    found = _form(device)
    if found:
        return found
    found += _transfers(device, tuple(device.targets))  # a hand-off needs two targets
    small_nets, big_nets = variants(every_kind_network(1)), variants(every_kind_network(2))
    for target in targets or device.targets:
        kinds = _kinds(device, target)
        if isinstance(kinds, Violation):
            found.append(kinds)
            continue
        n_priced = 0
        for label, small_net in small_nets.items():
            big_net = big_nets[label]
            big_ops = {op.name: op for op in big_net.ops}
            small_dev = _bind(device, small_net, target)
            if not isinstance(small_dev, Device):
                found += [small_dev] if small_dev is not None else []
                continue
            big_dev: object = _UNBOUND  # bound to the wider network when first needed
            for op in small_net.ops:
                if not all(m.kind in kinds for m in op.members or (op,)) or op.kind not in kinds:
                    continue
                cost = _price(small_dev, op, target)
                if isinstance(cost, Violation):
                    found.append(cost)
                    continue
                if cost is None:
                    continue
                n_priced += 1
                found += _single_cost(small_dev, op, target, cost)
                big = big_ops.get(op.name)
                if big is None or not _grows(op, big):
                    continue
                if big_dev is _UNBOUND:
                    big_dev = _bind(device, big_net, target)
                    if isinstance(big_dev, Violation):
                        found.append(big_dev)
                if not isinstance(big_dev, Device):
                    continue
                big_cost = _price(big_dev, big, target)
                if isinstance(big_cost, Violation):
                    found.append(big_cost)
                elif big_cost is not None:
                    grown = (f"grown from {op.effective_macs} to {big.effective_macs} MACs and "
                             f"{op.input_bytes + op.output_bytes} to "
                             f"{big.input_bytes + big.output_bytes} activation bytes")
                    if not _not_less(big_cost.latency_s, cost.latency_s):
                        found.append(Violation(
                            "monotone", target, f"{label}:{op.name}",
                            f"{grown}, it takes {big_cost.latency_s:.6g} s, less than "
                            f"{cost.latency_s:.6g} s"))
                    if not _not_less(big_cost.dynamic_energy_j, cost.dynamic_energy_j):
                        found.append(Violation(
                            "monotone", target, f"{label}:{op.name}",
                            f"{grown}, it takes {big_cost.dynamic_energy_j:.6g} J, less than "
                            f"{cost.dynamic_energy_j:.6g} J"))
        if not n_priced:
            if not any(v.target == target for v in found):
                found.append(Violation("form", target, "", "the device fits none of the "
                                       "representative ops"))
            continue
        runnable = _runnable(kinds)
        if runnable is not None:
            found += _simulation(device, target, runnable)
    return found


def _runnable(kinds: frozenset[OpKind]) -> Network | None:
    """A small network the target can run: three linear layers, else the first op of the
    every-kind network that reads only network inputs, alone; None if there is none."""
    b = NetworkBuilder("contract-chain")
    if OpKind.LINEAR in kinds:
        x = b.input("x", (1, 64))
        for i in range(3):
            x = b.linear(x, 64, name=f"l{i}")
        return b.build()
    net = every_kind_network(1)
    names = {i.name for i in net.inputs}
    for op in net.ops:
        if op.kind in kinds and set(op.inputs) <= names:
            return Network(name="contract-one-op",
                           inputs=tuple(i for i in net.inputs if i.name in op.inputs),
                           ops=(op,), outputs=(op.name,))
    return None


def check_or_raise(device: Device) -> None:
    """Raise ContractError listing every violation (for a plug-in's own tests or scripts)."""
    found = check_device(device)
    if found:
        raise ContractError(f"device {getattr(device, 'name', '?')!r} breaks the contract: "
                            + "; ".join(map(str, found[:20]))
                            + (f"; and {len(found) - 20} more" if len(found) > 20 else ""))


class ContractError(EdgesimError, AssertionError):
    """A device breaks the `sim.contract` rules (listed in the message)."""
