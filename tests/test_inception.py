"""Zero-copy concatenation: an Inception-v1 module whose four branches write straight into
their channel slices of one preallocated output, checked against the reference."""
import tracemalloc

import numpy as np

import fastconv
from fastconv import reference
from conftest import assert_close, nan_filled

# (name, reduction 1x1 channels or None, kernel, output channels) per branch; the pool
# branch is maxpool 3x3 s1 p1 then a 1x1 projection.
BRANCHES = [("1x1", None, 1, 16), ("3x3", 12, 3, 24), ("5x5", 4, 5, 8), ("pool", None, 1, 8)]
IN_CHANNELS = 32


def make(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32) / np.sqrt(np.prod(shape[1:]))


def module_weights():
    weights = {}
    for i, (name, reduce, k, cout) in enumerate(BRANCHES):
        cin = reduce or IN_CHANNELS
        if reduce:
            weights[name + "-reduce"] = (make((reduce, IN_CHANNELS, 1, 1), 10 * i), make((reduce,), 10 * i + 1))
        weights[name] = (make((cout, cin, k, k), 10 * i + 2), make((cout,), 10 * i + 3))
    return weights


def inception_fastconv(x, weights, out):
    """Each branch's last conv writes into out[:, c0:c1]; returns those results."""
    results, c0 = [], 0
    for name, reduce, k, cout in BRANCHES:
        y = x
        if name == "pool":
            y = fastconv.max_pool2d(x, 3, stride=1, padding=1)
        if reduce:
            y = fastconv.conv2d(y, *weights[name + "-reduce"], activation="relu")
        results.append(fastconv.conv2d(y, *weights[name], padding=k // 2, activation="relu",
                                       out=out[:, c0:c0 + cout]))
        c0 += cout
    return results


def inception_reference(x, weights):
    outputs = []
    for name, reduce, k, _ in BRANCHES:
        y = reference.max_pool2d(x, 3, stride=1, padding=1) if name == "pool" else x
        if reduce:
            y = reference.conv2d(y, *weights[name + "-reduce"], activation="relu")
        outputs.append(reference.conv2d(y, *weights[name], padding=k // 2, activation="relu"))
    return np.concatenate(outputs, axis=1)


def test_inception_module_writes_in_place(isa):
    x = np.random.default_rng(0).standard_normal((2, IN_CHANNELS, 14, 14)).astype(np.float32)
    weights = module_weights()
    total = sum(b[3] for b in BRANCHES)
    out = nan_filled((2, total, 14, 14), np.float32)
    tracemalloc.start()
    try:
        results = inception_fastconv(x, weights, out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    c0 = 0
    for result, (_, _, _, cout) in zip(results, BRANCHES):
        assert result.base is out or result.base is out.base
        assert result.ctypes.data == out[:, c0].ctypes.data  # the slice itself, not a copy
        c0 += cout
    # Nothing the size of the concatenation was allocated, only branch intermediates (the
    # largest: the pooled input of the pool branch, smaller than the concatenated output).
    assert peak < out.nbytes
    assert_close(out, inception_reference(x, weights), np.float32)
