"""Depthwise conv layers of MobileNetV1/V2 and EfficientNet: fastconv vs NumPy, torch and
onnxruntime, batch 1, float32 NCHW; threads from FASTCONV_BENCH_THREADS (default 1).

    PYTHONPATH=. python -m pytest bench/bench_depthwise.py --benchmark-only -q --benchmark-columns=mean
    FASTCONV_BENCH_THREADS=2 PYTHONPATH=. python -m pytest bench/bench_depthwise.py --benchmark-only ...

Each layer is one group; flops = 2 * multiply-adds, nbytes = input + output bytes (the
compulsory traffic of a memory-bound op).
"""
import numpy as np
import pytest

import fastconv
from common import THREADS, optional, ort_session, random_array, record
from shapes import DEPTHWISE_LAYERS

IMPLS = ["fastconv", "numpy", "torch", "onnxruntime"]


def layer_id(layer):
    net, c, size, k, s = layer
    return f"{net} dw{k}x{k}s{s} {c}@{size}"


class Layer:
    def __init__(self, layer):
        self.net, self.channels, self.size, self.kernel, self.stride = layer
        self.pad = self.kernel // 2
        self.x = random_array((1, self.channels, self.size, self.size))
        self.weight = random_array((self.channels, 1, self.kernel, self.kernel), seed=1)
        self.bias = random_array((self.channels,), seed=2)
        self.out_size = (self.size + 2 * self.pad - self.kernel) // self.stride + 1
        self.out_shape = (1, self.channels, self.out_size, self.out_size)
        self.flops = 2 * self.channels * self.out_size ** 2 * self.kernel ** 2
        self.nbytes = 4 * (self.x.size + int(np.prod(self.out_shape)))


def numpy_dwconv(x, weight, bias, stride, pad):
    """as_strided windows + einsum: the vectorized-NumPy way (cs231n style)."""
    n, c, h, w = x.shape
    k = weight.shape[-1]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (h + 2 * pad - k) // stride + 1
    ow = (w + 2 * pad - k) // stride + 1
    sn, sc, sh, sw = xp.strides
    windows = np.lib.stride_tricks.as_strided(xp, (n, c, oh, ow, k, k), (sn, sc, sh * stride, sw * stride, sh, sw))
    return np.einsum("nchwij,cij->nchw", windows, weight[:, 0], optimize=True) + bias[None, :, None, None]


def onnx_dwconv_model(layer):
    onnx = optional("onnx")
    from onnx import TensorProto, helper, numpy_helper

    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], group=layer.channels,
                            kernel_shape=[layer.kernel] * 2, strides=[layer.stride] * 2, pads=[layer.pad] * 4)
    graph = helper.make_graph(
        [node], "dwconv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(layer.x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(layer.out_shape))],
        [numpy_helper.from_array(layer.weight, "w"), numpy_helper.from_array(layer.bias, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString()


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("layer", DEPTHWISE_LAYERS, ids=layer_id)
def test_depthwise(benchmark, layer, impl):
    L = Layer(layer)
    group = f"dwconv {layer_id(layer)} t{THREADS}"
    if impl == "fastconv":
        out = np.empty(L.out_shape, np.float32)
        fn = lambda: fastconv.conv2d(L.x, L.weight, L.bias, L.stride, L.pad, groups=L.channels, out=out)
    elif impl == "numpy":
        fn = lambda: numpy_dwconv(L.x, L.weight, L.bias, L.stride, L.pad)
    elif impl == "torch":
        torch = optional("torch")
        torch.set_num_threads(THREADS)
        xt, wt, bt = (torch.from_numpy(a) for a in (L.x, L.weight, L.bias))

        def fn():
            with torch.no_grad():
                return torch.nn.functional.conv2d(xt, wt, bt, L.stride, L.pad, 1, L.channels).numpy()
    else:
        session = ort_session(onnx_dwconv_model(L))
        fn = lambda: session.run(None, {"x": L.x})[0]
    result = record(benchmark, fn, impl=impl, group=group, flops=L.flops, nbytes=L.nbytes)
    expected = fastconv.reference.conv2d(L.x, L.weight, L.bias, L.stride, L.pad, groups=L.channels)
    np.testing.assert_allclose(result, expected, rtol=1e-3, atol=1e-3 * np.abs(expected).max())
