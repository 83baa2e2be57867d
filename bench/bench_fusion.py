"""Fused conv + BatchNorm + activation (+ residual) against the same steps unfused, PyTorch
eager and ONNX Runtime's fused Conv->BatchNormalization->Relu graph; plans against the
functional call; and the cost of denormal numbers.

    python bench/compare.py bench/bench_fusion.py            # tables per family
    PYTHONPATH=. python -m pytest bench/bench_fusion.py --benchmark-only -q

Families: ``fusion`` (conv+BN+ReLU; ``fastconv`` is the fused call, ``fastconv-bare`` the
convolution alone, so ``fastconv / fastconv-bare`` is what fusing costs), ``fusion-residual``
(relu(bn(conv(x)) + identity)), ``denormal`` (``fastconv`` with normal operands against
denormal weights and inputs: the ratio is the slowdown).
"""
import numpy as np
import pytest

import common
import fastconv
from baselines import onnx_conv_model, padding_per_side
from shapes import MOBILENETV2_POINTWISE, RESNET18

FUSION_SHAPES = RESNET18 + MOBILENETV2_POINTWISE[:4]
RESIDUAL_SHAPES = tuple(s for s in RESNET18 if s.stride == 1 and s.kernel == (3, 3))
DENORMAL_SHAPES = (RESNET18[1], RESNET18[7], MOBILENETV2_POINTWISE[2])
BN_EPS = 1e-5


def operands(shape, seed=0):
    """x, weight and BatchNorm parameters of a layer."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((shape.batch, shape.in_channels, shape.size, shape.size)).astype(np.float32)
    weight = rng.standard_normal((shape.out_channels, shape.in_channels // shape.groups, *shape.kernel))
    weight = (weight / np.sqrt(weight[0].size)).astype(np.float32)
    c = shape.out_channels
    bn = tuple(a.astype(np.float32) for a in (rng.uniform(0.5, 1.5, c), rng.standard_normal(c),
                                              rng.standard_normal(c) * 0.1, rng.uniform(0.5, 2.0, c)))
    return x, weight, bn


def prepare(impl, shape, x, weight, bn, residual=None):
    kwargs = shape.conv_kwargs
    if impl == "fastconv-bare":
        return lambda: fastconv.conv2d(x, weight, **kwargs)
    gamma, beta, mean, var = bn
    if impl == "fastconv":
        return lambda: fastconv.conv_bn_act(x, weight, gamma, beta, mean, var, eps=BN_EPS, activation="relu",
                                            residual=residual, **kwargs)
    if impl == "fastconv-plan":
        plan = fastconv.Conv2d(weight, activation="relu", bn=(gamma, beta, mean, var, BN_EPS), **kwargs)
        return lambda: plan(x, residual=residual)
    if impl == "fastconv-unfused":
        scale = (gamma / np.sqrt(var + BN_EPS)).reshape(1, -1, 1, 1)
        shift = beta.reshape(1, -1, 1, 1) - mean.reshape(1, -1, 1, 1) * scale

        def unfused():
            y = fastconv.conv2d(x, weight, **kwargs)
            y *= scale
            y += shift
            if residual is not None:
                y += residual
            return fastconv.relu(y, out=y)
        return unfused
    if impl == "torch":
        return prepare_torch(shape, x, weight, bn, residual)
    if impl == "onnxruntime":
        return prepare_onnxruntime(shape, x, weight, bn, residual)
    raise ValueError(impl)


def prepare_torch(shape, x, weight, bn, residual):
    torch = common.optional("torch")
    tensors = [torch.from_numpy(a) for a in (x, weight) + bn]
    x_t, w_t, gamma, beta, mean, var = tensors
    top, bottom, left, right = padding_per_side(shape.padding)
    identity = None if residual is None else torch.from_numpy(residual)

    def run():
        with torch.no_grad():
            y = torch.nn.functional.conv2d(x_t, w_t, None, shape.stride, (top, left), shape.dilation, shape.groups)
            y = torch.nn.functional.batch_norm(y, mean, var, gamma, beta, training=False, eps=BN_EPS)
            if identity is not None:
                y = y + identity
            return torch.relu(y).numpy()
    return run


def prepare_onnxruntime(shape, x, weight, bn, residual):
    """Conv -> BatchNormalization (-> Add) -> Relu: ORT fuses it into one node."""
    common.optional("onnxruntime")
    onnx = common.optional("onnx")
    from onnx import helper, numpy_helper

    conv = onnx.load_model_from_string(onnx_conv_model(x.shape, weight, None, **shape.conv_kwargs))
    graph = conv.graph
    names = ("scale", "bias", "mean", "var")
    graph.initializer.extend(numpy_helper.from_array(a, n) for a, n in zip(bn, names))
    graph.node.append(helper.make_node("BatchNormalization", ["Y"] + list(names), ["Z"], epsilon=BN_EPS))
    last = "Z"
    if residual is not None:
        graph.input.append(helper.make_tensor_value_info("R", onnx.TensorProto.FLOAT, list(residual.shape)))
        graph.node.append(helper.make_node("Add", ["Z", "R"], ["S"]))
        last = "S"
    graph.node.append(helper.make_node("Relu", [last], ["OUT"]))
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info("OUT", onnx.TensorProto.FLOAT, None))
    session = common.ort_session(conv.SerializeToString())
    feeds = {"X": x} if residual is None else {"X": x, "R": residual}
    return lambda: session.run(["OUT"], feeds)[0]


def expected(shape, x, weight, bn, residual=None):
    gamma, beta, mean, var = bn
    return fastconv.conv_bn_act(x, weight, gamma, beta, mean, var, eps=BN_EPS, residual=residual, **shape.conv_kwargs)


FUSION_IMPLS = ("fastconv", "fastconv-plan", "fastconv-bare", "fastconv-unfused", "torch", "onnxruntime")


@pytest.mark.parametrize("shape, impl", [pytest.param(s, i, id=f"{s.name}-{i}") for s in FUSION_SHAPES
                                         for i in FUSION_IMPLS])
def test_conv_bn_relu(benchmark, shape, impl):
    x, weight, bn = operands(shape)
    run = prepare(impl, shape, x, weight, bn)
    if impl != "fastconv-bare":
        common.assert_close(run(), expected(shape, x, weight, bn), np.float32)
    common.record(benchmark, run, impl=impl, group=f"fusion {shape.description}", flops=shape.flops)


@pytest.mark.parametrize("shape, impl", [pytest.param(s, i, id=f"{s.name}-residual-{i}") for s in RESIDUAL_SHAPES
                                         for i in FUSION_IMPLS])
def test_conv_bn_add_relu(benchmark, shape, impl):
    x, weight, bn = operands(shape)
    residual = np.random.default_rng(1).standard_normal((shape.batch, shape.out_channels, *shape.out_size)).astype(np.float32)
    run = prepare(impl, shape, x, weight, bn, None if impl == "fastconv-bare" else residual)
    if impl != "fastconv-bare":
        common.assert_close(run(), expected(shape, x, weight, bn, residual), np.float32)
    common.record(benchmark, run, impl=impl, group=f"fusion-residual {shape.description}", flops=shape.flops)


DENORMAL = np.float32(1e-39)  # below float32's smallest normal number, 1.2e-38


@pytest.mark.parametrize("shape, impl", [pytest.param(s, i, id=f"{s.name}-{i}") for s in DENORMAL_SHAPES
                                         for i in ("fastconv", "denormal-weights", "denormal-input")])
def test_denormals(benchmark, shape, impl):
    """Half the weights (as BN folding of tiny gammas makes) or half the inputs denormal."""
    x, weight, _ = operands(shape)
    if impl == "denormal-weights":
        weight = weight.copy()
        weight.reshape(-1)[::2] = DENORMAL
    if impl == "denormal-input":
        x = x.copy()
        x.reshape(-1)[::2] = DENORMAL
    run = prepare("fastconv-bare", shape, x, weight, None)
    common.record(benchmark, run, impl=impl, group=f"denormal {shape.description}", flops=shape.flops)
