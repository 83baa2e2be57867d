"""Pooling layers of real networks, fastconv against NumPy, the reference, torch and
onnxruntime; one group per layer, GB/s from the bytes read + written.

    PYTHONPATH=. python -m pytest bench/bench_pool.py --benchmark-only -q --benchmark-columns=median,mean
    FASTCONV_BENCH_THREADS=2 PYTHONPATH=. python -m pytest bench/bench_pool.py --benchmark-only -k fastconv

On a 2-core machine, compare 2-thread results of implementations run in separate processes
(``-k fastconv``, ``-k onnxruntime``, ...): after its call each runtime's worker threads spin
for a while, and a 2-thread team of the next runtime that shares the cores with them waits
whole scheduler slices at its barriers. Medians are steadier than means on a shared machine.
"""
from dataclasses import dataclass, field

import numpy as np
import pytest

import fastconv
from fastconv import reference
from common import THREADS, optional, ort_session, random_array, record

# The reference is only timed on inputs this small: it is meant to be read, not run.
REFERENCE_MAX_ELEMENTS = 300_000


@dataclass(frozen=True)
class PoolLayer:
    name: str
    op: str  # max_pool2d, avg_pool2d or global_avg_pool2d
    x_shape: tuple
    window: dict = field(default_factory=dict)  # kernel_size, stride, padding

    @property
    def group(self):
        return f"{self.name} b{self.x_shape[0]} {self.x_shape[1]}@{self.x_shape[2]}"


LAYERS = [
    PoolLayer("maxpool resnet 3x3s2p1", "max_pool2d", (1, 64, 112, 112), dict(kernel_size=3, stride=2, padding=1)),
    PoolLayer("maxpool vgg 2x2s2", "max_pool2d", (1, 128, 112, 112), dict(kernel_size=2, stride=2, padding=0)),
    PoolLayer("maxpool inception 3x3s2", "max_pool2d", (1, 288, 35, 35), dict(kernel_size=3, stride=2, padding=0)),
    PoolLayer("maxpool inception 3x3s2", "max_pool2d", (32, 64, 147, 147), dict(kernel_size=3, stride=2, padding=0)),
    PoolLayer("avgpool inception 3x3s1p1", "avg_pool2d", (1, 192, 35, 35), dict(kernel_size=3, stride=1, padding=1)),
    PoolLayer("avgpool inception 3x3s1p1", "avg_pool2d", (32, 192, 35, 35), dict(kernel_size=3, stride=1, padding=1)),
    PoolLayer("avgpool densenet 2x2s2", "avg_pool2d", (1, 128, 56, 56), dict(kernel_size=2, stride=2, padding=0)),
    PoolLayer("avgpool densenet 2x2s2", "avg_pool2d", (32, 128, 56, 56), dict(kernel_size=2, stride=2, padding=0)),
    PoolLayer("global avgpool mobilenetv2", "global_avg_pool2d", (1, 1280, 7, 7)),
    PoolLayer("global avgpool resnet", "global_avg_pool2d", (32, 512, 7, 7)),
    PoolLayer("global avgpool densenet", "global_avg_pool2d", (1, 1024, 7, 7)),
]
IMPLS = ["fastconv", "numpy", "reference", "torch", "onnxruntime"]


def _pad_spec(layer):
    p = layer.window.get("padding", 0)
    return p if isinstance(p, tuple) else (p, p)


def numpy_pool(layer, x):
    """Sliding windows as an as_strided view of the padded input, reduced by NumPy."""
    if layer.op == "global_avg_pool2d":
        return x.mean(axis=(2, 3), keepdims=True)
    kh = kw = layer.window["kernel_size"]
    sh = sw = layer.window["stride"]
    ph, pw = _pad_spec(layer)
    fill = -np.inf if layer.op == "max_pool2d" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill) if ph or pw else x
    n, c, h, w = xp.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    s = xp.strides
    windows = np.lib.stride_tricks.as_strided(xp, (n, c, oh, ow, kh, kw), (s[0], s[1], s[2] * sh, s[3] * sw, s[2], s[3]))
    if layer.op == "max_pool2d":
        return windows.max(axis=(4, 5))
    return windows.mean(axis=(4, 5))  # count_include_pad=True: every window has kh * kw taps


def torch_fn(layer, x):
    torch = optional("torch")
    F = torch.nn.functional
    t = torch.from_numpy(x)
    if layer.op == "global_avg_pool2d":
        return lambda: F.adaptive_avg_pool2d(t, 1)
    op = getattr(F, layer.op)
    return lambda: op(t, **layer.window)


def onnx_model(layer):
    onnx = optional("onnx")
    from onnx import TensorProto, helper

    if layer.op == "global_avg_pool2d":
        node = helper.make_node("GlobalAveragePool", ["x"], ["y"])
        out_shape = layer.x_shape[:2] + (1, 1)
    else:
        k, s = layer.window["kernel_size"], layer.window["stride"]
        ph, pw = _pad_spec(layer)
        attrs = dict(kernel_shape=[k, k], strides=[s, s], pads=[ph, pw, ph, pw])
        if layer.op == "avg_pool2d":
            attrs["count_include_pad"] = 1
        node = helper.make_node("MaxPool" if layer.op == "max_pool2d" else "AveragePool", ["x"], ["y"], **attrs)
        out_shape = fastconv.max_pool2d(np.zeros((1,) + layer.x_shape[1:], np.float32), **layer.window).shape
        out_shape = layer.x_shape[:1] + out_shape[1:]
    graph = helper.make_graph([node], "pool", [helper.make_tensor_value_info("x", TensorProto.FLOAT, layer.x_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = min(model.ir_version, 9)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def make_fn(layer, impl, x):
    if impl == "fastconv":
        op = getattr(fastconv, layer.op)
        return lambda: op(x, **layer.window)
    if impl == "numpy":
        return lambda: numpy_pool(layer, x)
    if impl == "reference":
        if x.size > REFERENCE_MAX_ELEMENTS:
            pytest.skip("the reference is only timed on small inputs")
        op = getattr(reference, layer.op)
        return lambda: op(x, **layer.window)
    if impl == "torch":
        return torch_fn(layer, x)
    if impl == "onnxruntime":
        session = ort_session(onnx_model(layer), THREADS)
        return lambda: session.run(None, {"x": x})[0]
    raise ValueError(impl)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: layer.group.replace(" ", "-"))
def test_pool(benchmark, layer, impl):
    x = random_array(layer.x_shape)
    fn = make_fn(layer, impl, x)
    expected = fastconv.reference.__dict__[layer.op](x, **layer.window) if x.size <= REFERENCE_MAX_ELEMENTS else None
    result = np.asarray(fn())
    if expected is not None:  # every peer computes the same thing
        np.testing.assert_allclose(result, expected, rtol=1e-4, atol=1e-5)
    nbytes = (x.size + result.size) * x.itemsize
    record(benchmark, fn, impl=impl, group=layer.group, nbytes=nbytes)
